"""Writes Megatron indexed datasets (PREFIX.bin / PREFIX.idx), from the format description only (not the reader).

.idx: b"MMIDIDX\\0\\0", <Q version 1, <B dtype code (uint8 1, int32 4), <Q sequence count, <Q document-index count,
int32 lengths, int64 byte pointers, int64 document indices 0..S. .bin: the values back to back, little-endian.
"""

import json
import os
import random
import struct
import sys

CODES = {"uint8": (1, "B"), "int32": (4, "i")}


def write_indexed(prefix, sequences, dtype, documents=None):
    code, fmt = CODES[dtype]
    size = struct.calcsize("<" + fmt)
    with open(prefix + ".bin", "wb") as handle:
        for sequence in sequences:
            handle.write(struct.pack("<%d%s" % (len(sequence), fmt), *sequence))
    documents = documents if documents is not None else list(range(len(sequences) + 1))
    pointers, offset = [], 0
    for sequence in sequences:
        pointers.append(offset)
        offset += len(sequence) * size
    with open(prefix + ".idx", "wb") as handle:
        handle.write(b"MMIDIDX\x00\x00")
        handle.write(struct.pack("<Q", 1))
        handle.write(struct.pack("<B", code))
        handle.write(struct.pack("<Q", len(sequences)))
        handle.write(struct.pack("<Q", len(documents)))
        for sequence in sequences:
            handle.write(struct.pack("<i", len(sequence)))
        for pointer in pointers:
            handle.write(struct.pack("<q", pointer))
        for index in documents:
            handle.write(struct.pack("<q", index))


def random_dataset(out, shards, per_shard, length, vocab, seed, pad_id=0, variable=False, mask_rate=0.85):
    """Random token + mask shards; with `variable`, some sequences are shorter than `length`.
    Returns (token prefixes, mask prefixes, sequences, supervised tokens, rows) with rows = [(tokens, mask)] in order."""
    rng = random.Random(seed)
    os.makedirs(out, exist_ok=True)
    tokens_names, mask_names, supervised, rows = [], [], 0, []
    for shard in range(shards):
        token_rows, mask_rows = [], []
        for _ in range(per_shard):
            n = rng.randint(length // 2, length) if variable else length
            row = [rng.randrange(1, vocab) for _ in range(n)]
            mask = [1 if rng.random() < mask_rate else 0 for _ in range(n)]
            # a tail of padding with mask 0, as `mmed pretrain prepare` writes short documents
            pad = rng.randint(0, n // 4) if rng.random() < 0.3 else 0
            for k in range(n - pad, n):
                row[k], mask[k] = pad_id, 0
            token_rows.append(row)
            mask_rows.append(mask)
            supervised += sum(mask)
            rows.append((row, mask))
        t, m = f"tokens_{shard:05d}", f"loss_mask_{shard:05d}"
        write_indexed(os.path.join(out, t), token_rows, "int32")
        write_indexed(os.path.join(out, m), mask_rows, "uint8")
        tokens_names.append(t)
        mask_names.append(m)
    return tokens_names, mask_names, shards * per_shard, supervised, rows


if __name__ == "__main__":
    out, shards, per_shard, length, vocab, seed = sys.argv[1], *map(int, sys.argv[2:7])
    print(json.dumps(random_dataset(out, shards, per_shard, length, vocab, seed)[:4]))
