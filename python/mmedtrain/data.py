"""Megatron indexed datasets (PREFIX.bin / PREFIX.idx) read with numpy memmaps, and the token + loss-mask pairs.

Layout (all little-endian), as `Sources/MMedPretrain/MegatronIndex.swift` writes it: magic "MMIDIDX\\0\\0", <Q version 1,
<B dtype code, <Q sequence count S, <Q document-index count D, int32[S] lengths, int64[S] byte pointers into .bin,
int64[D] document indices (0 ... S).
"""

from __future__ import annotations

import os
import struct

import numpy as np

MAGIC = b"MMIDIDX\x00\x00"
DTYPES = {1: np.uint8, 2: np.int8, 3: np.int16, 4: np.int32, 5: np.int64, 6: np.float64, 7: np.float32, 8: np.uint16}
HEADER = 9 + 8 + 1 + 8 + 8


class DataError(ValueError):
    pass


class IndexedDataset:
    """One PREFIX.bin/.idx pair; `self[i]` is sequence i as a read-only numpy view of the memmap."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        idx, bin_path = prefix + ".idx", prefix + ".bin"
        try:
            size = os.path.getsize(idx)
            with open(idx, "rb") as handle:
                header = handle.read(HEADER)
        except OSError as error:
            raise DataError(f"{idx}: cannot read ({error.strerror})") from None
        if len(header) < HEADER or header[:9] != MAGIC:
            raise DataError(f"{idx}: not a Megatron index (bad magic or truncated header)")
        version, code, count, doc_count = struct.unpack("<QBQQ", header[9:])
        if version != 1:
            raise DataError(f"{idx}: index version {version}, expected 1")
        if code not in DTYPES:
            raise DataError(f"{idx}: unknown dtype code {code}")
        expected = HEADER + count * 12 + doc_count * 8
        if size != expected:
            raise DataError(f"{idx}: is {size} bytes; {count} sequences and {doc_count} document indices need {expected}")
        self.dtype = np.dtype(DTYPES[code])
        index = np.memmap(idx, dtype=np.uint8, mode="r")
        self.lengths = np.frombuffer(index, dtype="<i4", count=count, offset=HEADER)
        self.pointers = np.frombuffer(index, dtype="<i8", count=count, offset=HEADER + 4 * count)
        self.document_indices = np.frombuffer(index, dtype="<i8", count=doc_count, offset=HEADER + 12 * count)
        if doc_count == 0 or self.document_indices[0] != 0 or self.document_indices[-1] != count:
            raise DataError(f"{idx}: document indices must run from 0 to the sequence count {count}")
        if (self.lengths < 0).any():
            raise DataError(f"{idx}: negative sequence length")
        ends = np.cumsum(self.lengths.astype(np.int64)) * self.dtype.itemsize
        starts = np.concatenate([[0], ends[:-1]]) if count else ends
        if count and not np.array_equal(starts, self.pointers):
            raise DataError(f"{idx}: sequence pointers are not those of back-to-back sequences")
        data_bytes = int(ends[-1]) if count else 0
        try:
            bin_size = os.path.getsize(bin_path)
        except OSError as error:
            raise DataError(f"{bin_path}: cannot read ({error.strerror})") from None
        if bin_size != data_bytes:
            raise DataError(f"{bin_path}: is {bin_size} bytes, {idx} needs {data_bytes}")
        self._data = np.memmap(bin_path, dtype=self.dtype.newbyteorder("<"), mode="r") if bin_size else np.zeros(0, self.dtype)
        self._starts = starts // self.dtype.itemsize if count else starts

    def __len__(self) -> int:
        return len(self.lengths)

    def __getitem__(self, i: int) -> np.ndarray:
        if not 0 <= i < len(self):
            raise IndexError(f"{self.prefix}: sequence {i} out of range 0..<{len(self)}")
        start = int(self._starts[i])
        return self._data[start:start + int(self.lengths[i])]


class TokenMaskDataset:
    """Shards of int32 tokens and parallel uint8 loss masks; sequence i (over all shards, in order) → (tokens, mask)."""

    def __init__(self, root: str, token_prefixes: list[str], mask_prefixes: list[str]):
        if len(token_prefixes) != len(mask_prefixes):
            raise DataError(f"data.loss_mask: {len(mask_prefixes)} datasets, data.tokens has {len(token_prefixes)}")
        self.tokens, self.masks = [], []
        for tp, mp in zip(token_prefixes, mask_prefixes):
            t = IndexedDataset(os.path.join(root, tp))
            m = IndexedDataset(os.path.join(root, mp))
            if t.dtype != np.int32:
                raise DataError(f"{t.prefix}.idx: token dtype {t.dtype.name}, expected int32")
            if m.dtype != np.uint8:
                raise DataError(f"{m.prefix}.idx: loss-mask dtype {m.dtype.name}, expected uint8")
            if len(t) != len(m):
                raise DataError(f"{m.prefix}.idx: {len(m)} sequences, {t.prefix}.idx has {len(t)}")
            if not np.array_equal(t.lengths, m.lengths):
                bad = int(np.nonzero(t.lengths != m.lengths)[0][0])
                raise DataError(f"{m.prefix}.idx: sequence {bad} has {m.lengths[bad]} mask values, {t.prefix}.idx has {t.lengths[bad]} tokens")
            self.tokens.append(t)
            self.masks.append(m)
        self.offsets = np.cumsum([0] + [len(t) for t in self.tokens])

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def max_length(self) -> int:
        return max((int(t.lengths.max()) for t in self.tokens if len(t)), default=0)

    def __getitem__(self, i: int):
        if not 0 <= i < len(self):
            raise IndexError(f"sequence {i} out of range 0..<{len(self)}")
        shard = int(np.searchsorted(self.offsets, i, side="right") - 1)
        j = i - int(self.offsets[shard])
        return self.tokens[shard][j], self.masks[shard][j]


def open_config_data(data_config) -> TokenMaskDataset:
    """The dataset of `config.data`, checked against the config's sequence count, length and vocabulary."""
    ds = TokenMaskDataset(data_config.path, data_config.tokens, data_config.loss_mask)
    if len(ds) != data_config.sequences:
        raise DataError(f"config.json: data.sequences is {data_config.sequences}, the datasets in {data_config.path} hold {len(ds)}")
    if ds.max_length() > data_config.sequence_length:
        raise DataError(f"config.json: data.sequence_length is {data_config.sequence_length}, a sequence in {data_config.path} has {ds.max_length()}")
    return ds
