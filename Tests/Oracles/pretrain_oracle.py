#!/usr/bin/env python3
"""Independent reference for `mmed pretrain prepare` (HF `tokenizers` and numpy; see requirements.txt).

Subcommands, each writing one JSON object to --out (or stdout):

  windows       Re-implements MMedLM's pretrain/prepare_tokenized_dataset.py over the given inputs with HF tokenizers:
                ids = Tokenizer.from_file(tokenizer.json).encode(text).ids + [eos]; windows of W tokens every W - O, the
                last being ids[-W:]; a document shorter than W padded with the pad id to W (--mode document: ids as
                they are). Output: {"eos_id", "pad_id", "documents": [{"input", "line", "tokens", "windows": [ids...],
                "padding": [n...], "loss_mask": [[0/1...]...]}]} in input order. With --tiktoken tokenizer.model instead
                of --tokenizer, ids = [BOS] + tiktoken's encode(text) + [EOS] with Llama 3's split pattern and special ids
                (BOS and EOS right after the ranks: 128000, 128001), as Meta's llama3 tokenizer.py encodes. (The shared
                Llama 3 tokenizer.json has ignore_merges false, so it splits some words tiktoken keeps whole.)
  read-megatron Reads Megatron indexed datasets (PREFIX.idx / PREFIX.bin), written from the layout of Megatron-Core's
                megatron/core/datasets/indexed_dataset.py with numpy memmaps. Output: {PREFIX: {"dtype", "dtype_code",
                "sequence_count", "document_count", "document_indices", "sequences": [[...]...]}}.
  read-npy      Loads .npy files with numpy. Output: {FILE: {"dtype", "shape", "fortran_order", "values",
                "same_bytes_as_np_save"}}.
  documents     The documents of the inputs as the rules below read them: {"documents": [{"input", "line", "row",
                "text"}]} (for tests that tokenize them with a tokenizer of their own).

Documents: a .txt file (or .txt.gz) is one document (its whole text); a .jsonl/.json/.ndjson file (or .gz) holds one per
line: lines that are empty or only spaces, tabs and carriage returns are skipped, other lines are parsed with json.loads
and the string value of --text-field is the document; lines that are not JSON objects, or lack a string text field, or
whose text is not valid Unicode (lone surrogates), are skipped, as MMedKit rejects them. A .parquet file (read with
pyarrow) holds one per row: the string column --text-field, rows where it is null skipped.

EOS: --eos-id, else --eos-token, else the "eos_token" of tokenizer_config.json beside tokenizer.json (as transformers'
AutoTokenizer reads it). Pad: --pad-id, else the config's "pad_token", else the EOS (MMedKit's default; the original
has no default and fails).
"""

import argparse
import gzip
import io
import json
import os
import struct
import sys

import numpy as np

MEGATRON_MAGIC = b"MMIDIDX\x00\x00"
# megatron/core/datasets/indexed_dataset.py, class DType
MEGATRON_DTYPES = {1: np.uint8, 2: np.int8, 3: np.int16, 4: np.int32, 5: np.int64, 6: np.float64, 7: np.float32, 8: np.uint16}


def read_bytes(path):
    with open(path, "rb") as handle:
        data = handle.read()
    return gzip.decompress(data) if path.endswith(".gz") else data


def documents(paths, text_field):
    """(input, line, row, text) of every document, in input order."""
    for path in paths:
        name = os.path.basename(path).lower()
        if name.endswith(".parquet"):
            import pyarrow.parquet as pq

            column = pq.read_table(path, columns=[text_field]).column(text_field).to_pylist()
            for row, text in enumerate(column):
                if text is not None:
                    yield path, None, row, text
            continue
        if name.endswith(".gz"):
            name = name[:-3]
        data = read_bytes(path)
        if name.endswith(".txt"):
            try:
                yield path, None, None, data.decode("utf-8")
            except UnicodeDecodeError:
                pass
            continue
        for number, line in enumerate(data.split(b"\n"), start=1):
            if line.strip(b" \t\r") == b"":
                continue
            try:
                record = json.loads(line.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                continue
            if not isinstance(record, dict) or not isinstance(record.get(text_field), str):
                continue
            text = record[text_field]
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                continue
            yield path, number, None, text


def original_windows(ids, window, overlap, pad_id):
    """The loop of prepare_tokenized_dataset.py, with max_length = window and stride window - overlap."""
    max_length = window
    if len(ids) < max_length:
        return [ids + [pad_id] * (max_length - len(ids))], [max_length - len(ids)]
    windows = []
    for i in range(0, len(ids), window - overlap):
        if i + max_length < len(ids):
            windows.append(ids[i:i + max_length])
        else:
            windows.append(ids[-max_length:])
            break
    return windows, [0] * len(windows)


LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
                r"\s*[\r\n]+|\s+(?!\S)|\s+")


class TiktokenLlama3:
    """Meta's Llama 3 tokenizer: tiktoken ranks, then 256 special tokens, <|begin_of_text|> and <|end_of_text|> first."""

    def __init__(self, path):
        import tiktoken
        from tiktoken.load import load_tiktoken_bpe

        ranks = load_tiktoken_bpe(path)
        self.bos, self.eos = len(ranks), len(ranks) + 1
        self.encoding = tiktoken.Encoding(name=os.path.basename(path), pat_str=LLAMA3_SPLIT, mergeable_ranks=ranks, special_tokens={})

    def encode(self, text):
        return [self.bos] + self.encoding.encode(text, allowed_special=set(), disallowed_special=())


class HuggingFace:
    def __init__(self, path):
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(path)

    def encode(self, text):
        return self.tokenizer.encode(text).ids


def command_windows(args):
    if args.tiktoken:
        tokenizer = TiktokenLlama3(args.tiktoken)
        config = {}
    else:
        tokenizer = HuggingFace(args.tokenizer)
        config_path = os.path.join(os.path.dirname(args.tokenizer), "tokenizer_config.json")
        config = json.load(open(config_path)) if os.path.exists(config_path) else {}

    def token_id(value):
        if value is None:
            return None
        if isinstance(value, dict):
            value = value.get("content")
        if args.tiktoken:
            return {"<|begin_of_text|>": tokenizer.bos, "<|end_of_text|>": tokenizer.eos}.get(value)
        return tokenizer.tokenizer.token_to_id(value)

    if args.tiktoken and args.eos_id is None and args.eos_token is None:
        args.eos_id = tokenizer.eos

    eos = args.eos_id if args.eos_id is not None else token_id(args.eos_token or config.get("eos_token"))
    if eos is None:
        sys.exit("no EOS: give --eos-id or --eos-token (no tokenizer_config.json names one)")
    pad = args.pad_id if args.pad_id is not None else token_id(config.get("pad_token"))
    if pad is None:
        pad = eos
    out = {"eos_id": eos, "pad_id": pad, "documents": []}
    for path, line, row, text in documents(args.inputs, args.text_field):
        ids = tokenizer.encode(text) + [eos]
        if args.mode == "document":
            windows, padding = [ids], [0]
        else:
            windows, padding = original_windows(ids, args.window, args.overlap, pad)
        masks = []
        for window, pad_count in zip(windows, padding):
            if args.loss_mask == "published":
                masks.append([1] * len(window))
            else:
                masks.append([1] * (len(window) - pad_count) + [0] * pad_count)
        out["documents"].append({"input": path, "line": line, "row": row, "tokens": len(ids), "windows": windows,
                                 "padding": padding, "loss_mask": masks})
    return out


def read_megatron(prefix):
    index_path, data_path = prefix + ".idx", prefix + ".bin"
    with open(index_path, "rb") as stream:
        assert stream.read(9) == MEGATRON_MAGIC, f"{index_path}: bad magic"
        (version,) = struct.unpack("<Q", stream.read(8))
        assert version == 1, f"{index_path}: version {version}"
        (code,) = struct.unpack("<B", stream.read(1))
        (sequence_count,) = struct.unpack("<Q", stream.read(8))
        (document_count,) = struct.unpack("<Q", stream.read(8))
        offset = stream.tell()
    dtype = MEGATRON_DTYPES[code]
    index = np.memmap(index_path, mode="r", order="C")
    lengths = np.frombuffer(index, dtype=np.int32, count=sequence_count, offset=offset)
    pointers = np.frombuffer(index, dtype=np.int64, count=sequence_count, offset=offset + lengths.nbytes)
    document_indices = np.frombuffer(index, dtype=np.int64, count=document_count,
                                     offset=offset + lengths.nbytes + pointers.nbytes)
    assert len(index) == offset + lengths.nbytes + pointers.nbytes + document_indices.nbytes, f"{index_path}: trailing bytes"
    # What IndexedDataset asserts on load.
    assert document_indices[-1] == sequence_count, f"{index_path}: last document index {document_indices[-1]} != {sequence_count}"
    itemsize = np.dtype(dtype).itemsize
    size = os.path.getsize(data_path)
    assert size == int(lengths.astype(np.int64).sum()) * itemsize, f"{data_path}: {size} bytes, the index needs more or fewer"
    data = np.memmap(data_path, dtype=np.uint8, mode="r") if size else np.zeros(0, dtype=np.uint8)
    sequences = []
    for pointer, length in zip(pointers, lengths):
        sequences.append(np.frombuffer(data, dtype=dtype, count=int(length), offset=int(pointer)).tolist() if length else [])
    return {"dtype": np.dtype(dtype).name, "dtype_code": code, "sequence_count": sequence_count,
            "document_count": document_count, "document_indices": document_indices.tolist(), "sequences": sequences}


def read_npy(path):
    array = np.load(path, allow_pickle=False)
    buffer = io.BytesIO()
    np.save(buffer, array)
    with open(path, "rb") as handle:
        same = handle.read() == buffer.getvalue()
    return {"dtype": array.dtype.str, "shape": list(array.shape), "fortran_order": bool(np.isfortran(array)) if array.ndim > 1 else False,
            "values": array.tolist(), "same_bytes_as_np_save": same}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    windows = sub.add_parser("windows")
    source = windows.add_mutually_exclusive_group(required=True)
    source.add_argument("--tokenizer", help="a tokenizer.json")
    source.add_argument("--tiktoken", help="a Llama 3 tiktoken tokenizer.model")
    windows.add_argument("--mode", choices=["window", "document"], default="window")
    windows.add_argument("--window", type=int, default=2048)
    windows.add_argument("--overlap", type=int, default=512)
    windows.add_argument("--eos-id", type=int)
    windows.add_argument("--eos-token")
    windows.add_argument("--pad-id", type=int)
    windows.add_argument("--loss-mask", choices=["exclude-padding", "published"], default="exclude-padding")
    windows.add_argument("--text-field", default="text")
    windows.add_argument("inputs", nargs="+")
    megatron = sub.add_parser("read-megatron")
    megatron.add_argument("prefixes", nargs="+")
    npy = sub.add_parser("read-npy")
    npy.add_argument("files", nargs="+")
    listing = sub.add_parser("documents")
    listing.add_argument("--text-field", default="text")
    listing.add_argument("inputs", nargs="+")
    for each in (windows, megatron, npy, listing):
        each.add_argument("--out")
    args = parser.parse_args()

    if args.command == "windows":
        result = command_windows(args)
    elif args.command == "documents":
        result = {"documents": [{"input": path, "line": line, "row": row, "text": text}
                                for path, line, row, text in documents(args.inputs, args.text_field)]}
    elif args.command == "read-megatron":
        result = {prefix: read_megatron(prefix) for prefix in args.prefixes}
    else:
        result = {path: read_npy(path) for path in args.files}
    text = json.dumps(result, separators=(",", ":"))
    if args.out:
        with open(args.out, "w") as handle:
            handle.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
