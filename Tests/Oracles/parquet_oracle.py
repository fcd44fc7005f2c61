#!/usr/bin/env python3
"""Parquet oracle: files written by pyarrow, plus every value as pyarrow reads it back, for MMedKit's Parquet reader.

Needs pyarrow 26.0.1 (see requirements.txt) and numpy (a pyarrow dependency). Deterministic: fixed seeds, no clock.

Usage:
    parquet_oracle.py generate OUTDIR   write NAME.parquet, NAME.golden.jsonl per case, and manifest.json
    parquet_oracle.py census OUTDIR     print what each column chunk got (codec, encodings, pages) from manifest.json

Golden file NAME.golden.jsonl (UTF-8, one JSON value per line, compact separators, non-ASCII written raw except
U+007F-U+009F, U+2028 and U+2029, which are written as JSON escapes so that no record holds a line-break character):
    line 1: {"file": "NAME.parquet", "num_rows": N, "columns": [top-level flat column names, schema order]}
    then one JSON array per row, in file order, one canonical value per column:
      null -> null; BOOLEAN -> true/false; integer types -> the logical integer (uint64 stays positive);
      anything stored as INT32/INT64 (dates, times, timestamps, decimals stored as integers) -> the stored integer;
      INT96 timestamps -> nanoseconds since the Unix epoch;
      float32 -> {"f32": 8 hex digits of the IEEE bits}; float64 -> {"f64": 16 hex digits} (NaN payloads exact);
      UTF-8 strings -> JSON string;
      binary, fixed_size_binary, decimals stored as FIXED_LEN_BYTE_ARRAY -> {"hex": lower-case hex of the stored
      bytes} (decimals: big-endian two's complement of the column's type length).
Values come from pyarrow.parquet.read_table on the written file, not from the table that was written.

manifest.json: {"pyarrow", "files": [{"name", "golden", "num_rows", "num_row_groups", "expect_error", "notes",
"data_page_version", "format_version", "created_by", "write_options", "leaf_columns", "row_groups": [{"num_rows",
"columns": [per column chunk: pyarrow's metadata figures, plus what this script reads from the Thrift footer and
page headers itself: "codec_thrift", "page_counts", "data_page_encodings", "dictionary_page_encoding",
"v2_uncompressed_pages", "pages_with_crc"]}]}]}.
"""
import json
import os
import random
import struct
import sys
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

PYARROW_VERSION = "26.0.1"
SEED = 20250611

I32_MIN, I32_MAX = -2**31, 2**31 - 1
I64_MIN, I64_MAX = -2**63, 2**63 - 1

# Small data pages and several row groups, so readers cross many page and chunk boundaries.
PAGED = dict(row_group_size=1000, data_page_size=1024, write_batch_size=64, max_rows_per_page=400)


def rng_for(name):
    """An independent, reproducible generator per column (str seeds are hashed with SHA-512, not hash())."""
    return random.Random(f"{SEED}:{name}")


# ---------------------------------------------------------------- text

WORDS = {
    "en": "the patient was treated with antibiotics for three days and recovered fully after fever subsided".split(),
    "fr": "le patient a été traité avec des antibiotiques pendant trois jours et s’est rétabli complètement".split(),
    "de": "der Patient wurde drei Tage lang mit Antibiotika behandelt und erholte sich vollständig".split(),
    "es": "el paciente fue tratado con antibióticos durante tres días y se recuperó por completo".split(),
    "ru": "пациент получал антибиотики в течение трёх дней и полностью выздоровел после лихорадки".split(),
    "ar": "تلقى المريض المضادات الحيوية لمدة ثلاثة أيام وتعافى تماما بعد انخفاض الحمى".split(),
    "hi": "रोगी को तीन दिनों तक एंटीबायोटिक दवाएं दी गईं और वह पूरी तरह ठीक हो गया".split(),
    "ko": "환자는 사흘 동안 항생제 치료를 받았고 열이 내린 후 완전히 회복되었다".split(),
    "zh": ["患者", "接受", "了", "三天", "的", "抗生素", "治疗", "发烧", "消退", "后", "完全", "康复"],
    "ja": ["患者は", "三日間", "抗生物質", "による", "治療を", "受け", "熱が", "下がった", "後", "完全に", "回復した"],
}
LANGS = sorted(WORDS)
NO_SPACE = {"zh", "ja"}
FULL_STOP = {"ar": "؟", "hi": "।", "zh": "。", "ja": "。"}

# Edge-case strings: empty, combining marks, conjuncts, RTL, emoji ZWJ/flag sequences, NUL, controls,
# zero-width and BOM characters, astral letters, line/paragraph separators.
ODD_STRINGS = [
    "", "a", "naïve café", "e\u0301\u0301", "क्षत्रिय", "日本語テキスト", "مرحبا بالعالم", "שָׁלוֹם",
    "👩‍⚕️ 🇫🇷 😀", "A\x00B", "tab\tand\nnewline\r\n", "\u200b\u200d", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "Ωμέγα", "ｆｕｌｌ",
    "\ufeffBOM", "line\u2028para\u2029", "\x7f\x01\x85", " ", "🏳️‍🌈",
]


def sentence(rng, lang=None):
    lang = lang or rng.choice(LANGS)
    words = [rng.choice(WORDS[lang]) for _ in range(rng.randint(3, 12))]
    return ("" if lang in NO_SPACE else " ").join(words) + FULL_STOP.get(lang, ".")


def long_text(rng, min_bytes):
    """Multilingual text of at least min_bytes UTF-8 bytes."""
    parts, size = [], 0
    while size < min_bytes:
        s = sentence(rng) + rng.choice([" ", " ", "\n"])
        parts.append(s)
        size += len(s.encode())
    return "".join(parts)


# ---------------------------------------------------------------- value generators

def with_runs(rng, n, fresh, nullable, seq=None):
    """n values in segments: runs of nulls, runs of one repeated value (RLE runs), optional arithmetic
    progressions (seq(k) -> k values), and mixed stretches of fresh() values with scattered nulls."""
    out = []
    while len(out) < n:
        k = rng.randint(1, 80)
        r = rng.random()
        if nullable and r < 0.12:
            out.extend([None] * k)
        elif r < 0.35:
            out.extend([fresh()] * k)
        elif seq is not None and r < 0.5:
            out.extend(seq(k))
        else:
            out.extend(None if nullable and rng.random() < 0.1 else fresh() for _ in range(k))
    return out[:n]


def bits32(v):
    return struct.unpack("<I", struct.pack("<f", v))[0]


def bits64(v):
    return struct.unpack("<Q", struct.pack("<d", v))[0]


# NaNs (quiet, negative, with payload, signalling), infinities, signed zeros, subnormals, extremes, 1.0.
F32_SPECIAL = [0x7FC00000, 0xFFC00000, 0x7FC00001, 0x7F800001, 0x7F800000, 0xFF800000, 0x80000000, 0x00000000,
               0x00000001, 0x807FFFFF, 0x7F7FFFFF, 0xFF7FFFFF, 0x00800000, 0x3F800000]
F64_SPECIAL = [0x7FF8000000000000, 0xFFF8000000000000, 0x7FF8000000000123, 0x7FF0000000000001,
               0x7FF0000000000000, 0xFFF0000000000000, 0x8000000000000000, 0x0000000000000000,
               0x0000000000000001, 0x800FFFFFFFFFFFFF, 0x7FEFFFFFFFFFFFFF, 0xFFEFFFFFFFFFFFFF,
               0x0010000000000000, 0x3FF0000000000000]


def float_array(bits, width):
    """Arrow float array from IEEE bit patterns (None = null), so NaN payloads are exact."""
    utype, ftype, atype = (np.uint32, np.float32, pa.float32()) if width == 32 else \
        (np.uint64, np.float64, pa.float64())
    mask = np.array([b is None for b in bits], dtype=bool)
    raw = np.array([0 if b is None else b for b in bits], dtype=utype).view(ftype)
    return pa.array(raw, type=atype, mask=mask)


def fresh_int(r, lo, hi, specials):
    x = r.random()
    if x < 0.1:
        return r.choice(specials)
    if x < 0.5:
        return r.randint(max(lo, -100), min(hi, 100))
    if x < 0.7:
        return r.randint(max(lo, -70000), min(hi, 70000))
    return r.randint(lo, hi)


def text_pool(name, size):
    r = rng_for(name)
    return [sentence(r) for _ in range(size)]


def fresh_string(r, pool):
    x = r.random()
    if x < 0.3:
        return r.choice(ODD_STRINGS)
    if x < 0.7:
        return r.choice(pool)
    return sentence(r)


MATRIX_SCHEMA = pa.schema([
    pa.field("bool", pa.bool_()),
    pa.field("int32", pa.int32()),
    pa.field("int64", pa.int64(), nullable=False),
    pa.field("uint32", pa.uint32()),
    pa.field("float32", pa.float32()),
    pa.field("float64", pa.float64()),
    pa.field("string", pa.string()),
    pa.field("string2", pa.string(), nullable=False),
    pa.field("binary", pa.binary()),
    pa.field("fsb8", pa.binary(8)),
    pa.field("date32", pa.date32()),
    pa.field("ts_ms", pa.timestamp("ms")),
])


def matrix_table(n):
    cols = {}
    r = rng_for("bool")
    cols["bool"] = pa.array(with_runs(r, n, lambda: r.random() < 0.5, True), pa.bool_())
    r = rng_for("int32")
    cols["int32"] = pa.array(with_runs(r, n, lambda: fresh_int(r, I32_MIN, I32_MAX, [I32_MIN, I32_MAX, 0, -1, 1]),
                                       True), pa.int32())
    r = rng_for("int64")

    def progression(k):
        start, step = r.randint(-2**62, 2**62), r.randint(-10**6, 10**6)
        return [start + i * step for i in range(k)]
    # REQUIRED, with min/max next to each other so DELTA_BINARY_PACKED deltas wrap around.
    cols["int64"] = pa.array(with_runs(r, n, lambda: fresh_int(r, I64_MIN, I64_MAX, [I64_MIN, I64_MAX, 0, -1]),
                                       False, progression), pa.int64())
    r = rng_for("uint32")
    cols["uint32"] = pa.array(with_runs(r, n, lambda: r.choice([0, 1, 2**31, 2**32 - 1]) if r.random() < 0.1
                                        else r.randint(2**31, 2**32 - 1), True), pa.uint32())
    r = rng_for("float32")
    cols["float32"] = float_array(with_runs(r, n, lambda: r.choice(F32_SPECIAL) if r.random() < 0.1 else
                                            bits32(r.choice([0.5, -2.25, 100.0]) if r.random() < 0.2
                                                   else r.gauss(0, 1000)), True), 32)
    r = rng_for("float64")
    cols["float64"] = float_array(with_runs(r, n, lambda: r.choice(F64_SPECIAL) if r.random() < 0.1 else
                                            bits64(r.choice([0.5, -2.25, 1e300]) if r.random() < 0.2
                                                   else r.gauss(0, 1e6)), True), 64)
    r = rng_for("string")
    pool = text_pool("string-pool", 40)
    cols["string"] = pa.array(with_runs(r, n, lambda: fresh_string(r, pool), True), pa.string())
    r = rng_for("string2")

    def url():
        if r.random() < 0.05:
            return r.choice(ODD_STRINGS)
        return (f"https://{r.choice(['example.org', 'example.com', 'med.example.net'])}/{r.choice(LANGS)}/"
                f"article/{r.randint(0, 99999):05d}" + (f"?q={r.choice(WORDS[r.choice(LANGS)])}"
                                                         if r.random() < 0.3 else ""))
    cols["string2"] = pa.array(with_runs(r, n, url, False), pa.string())
    r = rng_for("binary")
    cols["binary"] = pa.array(with_runs(r, n, lambda: b"\x00" * r.randint(0, 5) if r.random() < 0.2 else
                                        r.randbytes(r.randint(0, 16)), True), pa.binary())
    r = rng_for("fsb8")
    cols["fsb8"] = pa.array(with_runs(r, n, lambda: r.choice([b"\x00" * 8, b"\xff" * 8]) if r.random() < 0.1 else
                                      r.randbytes(8), True), pa.binary(8))
    r = rng_for("date32")
    cols["date32"] = pa.array(with_runs(r, n, lambda: fresh_int(r, -40000, 40000, [0, -1, -719162, 2932896]),
                                        True), pa.date32())
    r = rng_for("ts_ms")
    cols["ts_ms"] = pa.array(with_runs(r, n, lambda: fresh_int(r, -2**41, 2**41, [0, -1, 1, -62135596800000,
                                                                                   253402300799999]),
                                       True), pa.timestamp("ms"))
    return pa.Table.from_arrays([cols[f.name] for f in MATRIX_SCHEMA], schema=MATRIX_SCHEMA)


# The "delta" matrix variant: every non-default encoding pyarrow can write for these physical types.
DELTA_ENCODINGS = {
    "bool": "RLE",                          # BOOLEAN RLE also in v1 pages (default there is PLAIN)
    "int32": "DELTA_BINARY_PACKED",
    "int64": "DELTA_BINARY_PACKED",
    "uint32": "DELTA_BINARY_PACKED",
    "float32": "BYTE_STREAM_SPLIT",
    "float64": "BYTE_STREAM_SPLIT",
    "string": "DELTA_LENGTH_BYTE_ARRAY",
    "string2": "DELTA_BYTE_ARRAY",
    "binary": "DELTA_BYTE_ARRAY",
    "fsb8": "BYTE_STREAM_SPLIT",            # FIXED_LEN_BYTE_ARRAY
    "date32": "BYTE_STREAM_SPLIT",          # INT32
    "ts_ms": "BYTE_STREAM_SPLIT",           # INT64
}

CULTURAX_SCHEMA = pa.schema([("text", pa.string()), ("timestamp", pa.string()), ("url", pa.string()),
                             ("source", pa.string())])


def culturax_table(n):
    r = rng_for("culturax")
    text, stamp, url, source = [], [], [], []
    for i in range(n):
        lang = r.choice(LANGS)
        sep = "" if lang in NO_SPACE else " "
        paras = [sep.join(sentence(r, lang) for _ in range(r.randint(1, 4))) for _ in range(r.randint(1, 3))]
        text.append("\n".join(paras))
        stamp.append(f"{r.randint(2013, 2023):04d}/{r.randint(1, 12):02d}/{r.randint(1, 28):02d} "
                     f"{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}")
        url.append(f"https://www.{lang}-health{r.randint(1, 40)}.example/{r.choice(WORDS[lang])}/{i}")
        source.append(r.choice(["mC4", "mC4", "mC4", "OSCAR-2019", "OSCAR-2109", "OSCAR-2201", "OSCAR-2301"]))
    return pa.Table.from_arrays([pa.array(c, pa.string()) for c in (text, stamp, url, source)],
                                schema=CULTURAX_SCHEMA)


def int96_table(n):
    r = rng_for("int96")
    specials = [0, -1, 1, -2208988800 * 10**9, -8520336000 * 10**9 + 123456789, 8835984000 * 10**9 - 1,
                -86400 * 10**9, 86400 * 10**9 - 1]     # epoch, 1900-01-01, 1700-01-01, 2250-01-01, +-1 day

    def fresh():
        return r.choice(specials) if r.random() < 0.15 else r.randint(-8 * 10**18, 8 * 10**18)
    return pa.table({"ts_dict": pa.array(with_runs(r, n, fresh, True), pa.timestamp("ns")),
                     "ts_plain": pa.array(with_runs(r, n, fresh, True), pa.timestamp("ns"))})


def empty_strings_table(n):
    r = rng_for("empty")

    def col():
        return pa.array([None if x < 0.1 else "" if x < 0.95 else r.choice(ODD_STRINGS + ["x", "日本"])
                         for x in (r.random() for _ in range(n))], pa.string())
    return pa.table({"s_dict": col(), "s_plain": col(), "s_delta_length": col(), "s_delta": col()})


def huge_strings_table():
    r = rng_for("huge")
    big1, big2 = long_text(r, 1536 * 1024), long_text(r, 3 * 1024 * 1024)
    text = ["short", big1, None, "", big2, "日本語", "end"]
    return pa.table({"id": pa.array(range(len(text)), pa.int32()), "text": pa.array(text, pa.string())})


def dict_fallback_table(n):
    r = rng_for("fallback")
    words = [w for lang in LANGS for w in WORDS[lang]]
    text = [f"{r.choice(words)} {i:05d} {r.choice(words)}" for i in range(n)]
    return pa.table({"text": pa.array(text, pa.string()),
                     "n": pa.array([r.randint(I64_MIN, I64_MAX) for _ in range(n)], pa.int64()),
                     "small": pa.array([r.choice(["mC4", "OSCAR-2109", "", None]) for _ in range(n)], pa.string())})


def all_null_table(n):
    return pa.table({"s": pa.nulls(n, pa.string()), "i": pa.nulls(n, pa.int32()), "d": pa.nulls(n, pa.float64())})


def nested_table(n):
    r = rng_for("nested")
    lists = [None if r.random() < 0.1 else [r.randint(-1000, 1000) if r.random() < 0.9 else None
                                             for _ in range(r.randint(0, 5))] for _ in range(n)]
    structs = [None if r.random() < 0.1 else {"a": r.randint(-1000, 1000) if r.random() < 0.9 else None,
                                              "b": r.choice(ODD_STRINGS + [None])} for _ in range(n)]
    return pa.table({"id": pa.array(range(n), pa.int64()),
                     "lst": pa.array(lists, pa.list_(pa.int32())),
                     "st": pa.array(structs, pa.struct([("a", pa.int32()), ("b", pa.string())]))})


def decimal_array(r, n, precision, scale, big=False):
    top = 10**precision - 1
    vals = with_runs(r, n, lambda: r.choice([top, -top, 0, 1, -1]) if r.random() < 0.2 else r.randint(-top, top),
                     True)
    return pa.array([None if v is None else Decimal(f"{v}E-{scale}") for v in vals],
                    (pa.decimal256 if big else pa.decimal128)(precision, scale))


def extra_types_table(n):
    r = rng_for("extra")
    pool = text_pool("extra-pool", 20)

    def ints(lo, hi, t):
        return pa.array(with_runs(r, n, lambda: fresh_int(r, lo, hi, [lo, hi, 0]), True), t)
    table = pa.table({
        "int8": ints(-128, 127, pa.int8()),
        "int16": ints(-2**15, 2**15 - 1, pa.int16()),
        "uint8": ints(0, 255, pa.uint8()),
        "uint16": ints(0, 2**16 - 1, pa.uint16()),
        "uint64": pa.array(with_runs(r, n, lambda: r.choice([0, 2**63, 2**64 - 1]) if r.random() < 0.2
                                     else r.randint(2**63, 2**64 - 1), True), pa.uint64()),
        "time32_ms": ints(0, 86399999, pa.time32("ms")),
        "time64_us": ints(0, 86399999999, pa.time64("us")),
        "time64_ns": ints(0, 86399999999999, pa.time64("ns")),
        "ts_us": ints(-2**50, 2**50, pa.timestamp("us")),
        "ts_ns_utc": ints(-2**62, 2**62, pa.timestamp("ns", tz="UTC")),
        "ts_ms_tz": ints(-2**41, 2**41, pa.timestamp("ms", tz="Asia/Kolkata")),
        "large_string": pa.array(with_runs(r, n, lambda: fresh_string(r, pool), True), pa.large_string()),
        "string_view": pa.array(with_runs(r, n, lambda: fresh_string(r, pool), True), pa.string_view()),
        "large_binary": pa.array(with_runs(r, n, lambda: r.randbytes(r.randint(0, 20)), True), pa.large_binary()),
        "dict_string": pa.array(with_runs(r, n, lambda: r.choice(pool[:8]), True),
                                pa.string()).dictionary_encode(),
        "dec9_2": decimal_array(r, n, 9, 2),
        "dec18_4": decimal_array(r, n, 18, 4),
        "dec38_10": decimal_array(r, n, 38, 10),
        "dec60_5": decimal_array(r, n, 60, 5, big=True),
        "bool_required": pa.array(with_runs(r, n, lambda: r.random() < 0.5, False), pa.bool_()),
    })
    return required(table, {"bool_required"})


def required(table, names):
    """table with the named fields marked non-nullable (REQUIRED in Parquet)."""
    return table.cast(pa.schema([f.with_nullable(f.name not in names) for f in table.schema]))


def decimal_int_table(n):
    r = rng_for("decimal-int")
    return pa.table({"dec4_1": decimal_array(r, n, 4, 1), "dec9_2": decimal_array(r, n, 9, 2),
                     "dec18_4": decimal_array(r, n, 18, 4), "dec30_5": decimal_array(r, n, 30, 5)})


def constant_table(n):
    """One distinct value per column: dictionary indices of bit width 0."""
    r = rng_for("constant")
    return required(pa.table({
        "c_int": pa.array([7] * n, pa.int32()),
        "c_str": pa.array(["same"] * n, pa.string()),
        "c_str_nulls": pa.array([None if r.random() < 0.3 else "x" for _ in range(n)], pa.string()),
        "c_bool_true": pa.array([True] * n, pa.bool_()),
        "c_double": float_array([0x7FF8000000000000] * n, 64),
    }), {"c_int", "c_str", "c_bool_true"})


def bool_table(n):
    r = rng_for("bools")
    return pa.table({"b_plain": pa.array(with_runs(r, n, lambda: r.random() < 0.5, True), pa.bool_()),
                     "b_rle": pa.array(with_runs(r, n, lambda: r.random() < 0.5, True), pa.bool_())})


# ---------------------------------------------------------------- cases

def cases():
    """Yield dicts: name, table, options (pq.write_table keywords), notes; optional expect_error, golden_columns,
    check (called with the manifest entry; raises if pyarrow did not write what the case is about)."""
    matrix = matrix_table(2500)
    for codec in ["none", "snappy", "gzip", "zstd", "lz4", "brotli"]:
        for dpv in ["1.0", "2.0"]:
            for variant in ["dict", "plain", "delta"]:
                opts = dict(PAGED, compression=codec, data_page_version=dpv)
                if variant != "dict":
                    opts["use_dictionary"] = False
                if variant == "delta":
                    opts["column_encoding"] = DELTA_ENCODINGS
                notes = (f"12 flat columns (bool, int32 with min/max, REQUIRED int64, uint32 > 2^31, float32/64 "
                         f"with NaN payloads, infinities, -0.0, subnormals, multilingual string, REQUIRED string2, "
                         f"binary, fixed_size_binary(8), date32, timestamp[ms]); codec {codec}, data page "
                         f"v{dpv[0]}, {variant} encodings; 3 row groups, pages of at most 400 rows / ~1 KiB, null "
                         f"runs and equal-value runs.")
                if codec == "lz4":
                    notes += " pyarrow's metadata says LZ4; the footer holds LZ4_RAW (codec 7), see codec_thrift."
                if dpv == "2.0":
                    notes += (" Some v2 pages have is_compressed = false (v2_uncompressed_pages): all of them "
                              "when uncompressed, and with a codec wherever pyarrow decided not to compress.")
                yield dict(name=f"matrix_{codec}_v{dpv[0]}_{variant}", table=matrix, options=opts, notes=notes,
                           check=assert_lz4_raw if codec == "lz4" else None)
    yield dict(name="format1_plain_dictionary", table=matrix,
               options=dict(PAGED, version="1.0", compression="snappy"),
               notes="format version 1.0: dictionary pages and chunks say PLAIN_DICTIONARY; uint32 is stored as "
                     "INT64 (no UINT_32 in 1.0).",
               check=lambda e: assert_encoding(e, "int32", "PLAIN_DICTIONARY"))
    yield dict(name="int96", table=int96_table(1500),
               options=dict(row_group_size=1000, data_page_size=4096, use_deprecated_int96_timestamps=True,
                            use_dictionary=["ts_dict"]),
               notes="INT96 timestamps (nanoseconds, some before 1970 and 1900, 1700-01-01, 2250, +-1 ns, nulls); "
                     "ts_dict dictionary-encoded, ts_plain PLAIN.",
               check=lambda e: assert_physical(e, "ts_plain", "INT96"))
    yield dict(name="empty_strings", table=empty_strings_table(3000),
               options=dict(PAGED, use_dictionary=["s_dict"],
                            column_encoding={"s_plain": "PLAIN", "s_delta_length": "DELTA_LENGTH_BYTE_ARRAY",
                                             "s_delta": "DELTA_BYTE_ARRAY"}),
               notes="string columns ~85% empty, 10% null, a few others; dictionary, PLAIN, DELTA_LENGTH_BYTE_ARRAY, "
                     "DELTA_BYTE_ARRAY.")
    huge = huge_strings_table()
    yield dict(name="huge_strings_plain", table=huge,
               options=dict(compression="none", use_dictionary=False),
               notes="strings of 1.5 MiB and 3 MiB (multilingual), uncompressed PLAIN, data page v1: pages far "
                     "over 1 MiB.")
    yield dict(name="huge_strings_dict_zstd", table=huge,
               options=dict(compression="zstd", data_page_version="2.0", write_batch_size=1),
               notes="strings of 1.5 MiB and 3 MiB, ZSTD, data page v2, dictionary encoding: after the 1.5 MiB "
                     "value the dictionary passes the 1 MiB limit, so the chunk has a ~1.5 MiB dictionary page and "
                     "falls back to PLAIN (one value per write batch).",
               check=lambda e: assert_fallback(e, "text"))
    fallback = dict_fallback_table(12000)
    for dpv, codec in [("1.0", "snappy"), ("2.0", "gzip")]:
        yield dict(name="dict_fallback" + ("_v2" if dpv == "2.0" else ""), table=fallback,
                   options=dict(compression=codec, data_page_version=dpv, row_group_size=8000,
                                data_page_size=16384, dictionary_pagesize_limit=65536),
                   notes=f"dictionary_pagesize_limit 64 KiB, data page v{dpv[0]}, {codec}: 'text' (all distinct) "
                         f"falls back from RLE_DICTIONARY to PLAIN mid-chunk in both row groups, 'n' (distinct "
                         f"int64) only in the 8000-row group, 'small' never.",
                   check=lambda e: assert_fallback(e, "text"))
    yield dict(name="culturax", table=culturax_table(5000),
               options=dict(compression="snappy", row_group_size=1000),
               notes="CulturaX schema (text, timestamp, url, source: strings), multilingual multi-paragraph texts, "
                     "SNAPPY, pyarrow defaults otherwise (1 MiB pages, dictionary).")
    yield dict(name="zero_rows", table=CULTURAX_SCHEMA.empty_table(), options=dict(compression="snappy"),
               notes="CulturaX schema, 0 rows: pyarrow writes one row group of 0 rows whose chunks hold only an "
                     "empty dictionary page, no data page.")
    yield dict(name="all_null", table=all_null_table(2500), options=dict(PAGED),
               notes="string, int32, double columns entirely null; dictionary encoding (empty dictionaries), v1.")
    yield dict(name="all_null_v2", table=all_null_table(2500),
               options=dict(PAGED, use_dictionary=False, data_page_version="2.0", compression="zstd"),
               notes="string, int32, double columns entirely null; PLAIN, data page v2, ZSTD.")
    yield dict(name="null_type", table=pa.table({"id": pa.array(range(1200), pa.int32()), "nothing": pa.nulls(1200)}),
               options=dict(PAGED),
               notes="Arrow null type: INT32 column with the Null logical type (UNKNOWN), all values null.")
    yield dict(name="nested", table=nested_table(1500), options=dict(PAGED), expect_error="nested",
               golden_columns=["id"],
               notes="flat id int64 plus list<int32> (lst.list.element) and struct<a:int32,b:string> (st.a, st.b); "
                     "a flat-only reader should refuse it; the golden has only 'id'.")
    yield dict(name="page_index_stats", table=matrix,
               options=dict(PAGED, write_page_index=True, write_statistics=True, data_page_version="2.0",
                            compression="zstd"),
               notes="matrix table with column and offset indexes and statistics, data page v2, ZSTD.",
               check=lambda e: assert_page_index(e))
    yield dict(name="page_checksum", table=matrix,
               options=dict(PAGED, write_page_checksum=True, data_page_version="2.0", compression="snappy"),
               notes="matrix table with CRC-32 in every page header, data page v2, SNAPPY.",
               check=lambda e: assert_crc(e))
    yield dict(name="bloom_filter", table=matrix,
               options=dict(PAGED, compression="snappy",
                            bloom_filter_options={"string": {"ndv": 2500, "fpp": 0.01}, "int64": {"ndv": 2500}}),
               notes="matrix table with split-block Bloom filters for 'string' and 'int64' (stored outside the "
                     "column chunks), v1, SNAPPY.")
    extra = extra_types_table(1200)
    yield dict(name="extra_types", table=extra, options=dict(PAGED, row_group_size=500),
               notes="int8/16, uint8/16/64 (> 2^63), time32[ms], time64[us/ns], timestamp[us], timestamp[ns, UTC], "
                     "timestamp[ms, Asia/Kolkata], large_string, string_view, large_binary, dictionary<string>, "
                     "decimal128(9,2)/(18,4)/(38,10) and decimal256(60,5) as FIXED_LEN_BYTE_ARRAY, REQUIRED "
                     "bool; dictionary encoding, v1, SNAPPY.")
    yield dict(name="extra_types_plain_v2", table=extra,
               options=dict(PAGED, row_group_size=500, use_dictionary=False, data_page_version="2.0",
                            compression="none"),
               notes="extra_types table, PLAIN, data page v2, uncompressed.")
    yield dict(name="decimal_int", table=decimal_int_table(1500),
               options=dict(PAGED, store_decimal_as_integer=True, data_page_version="2.0", compression="zstd"),
               notes="store_decimal_as_integer: decimal(4,1), (9,2) as INT32 and (18,4) as INT64 (golden: the stored "
                     "unscaled integer); decimal(30,5) stays FIXED_LEN_BYTE_ARRAY.",
               check=lambda e: assert_physical(e, "dec18_4", "INT64"))
    yield dict(name="constant_columns", table=constant_table(2500), options=dict(PAGED),
               notes="one distinct value per column (dictionary indices of bit width 0), one with nulls, a REQUIRED "
                     "all-true bool, an all-NaN double; v1, SNAPPY.")
    yield dict(name="bool_encodings_v2", table=bool_table(3000),
               options=dict(PAGED, use_dictionary=False, data_page_version="2.0", compression="none",
                            column_encoding={"b_plain": "PLAIN", "b_rle": "RLE"}),
               notes="BOOLEAN with PLAIN (forced) and RLE (pyarrow's v2 default) in v2 pages, uncompressed.",
               check=lambda e: assert_encoding(e, "b_plain", "PLAIN"))


# ---------------------------------------------------------------- checks on what pyarrow wrote

def chunks_of(entry, path):
    return [c for rg in entry["row_groups"] for c in rg["columns"] if c["path"] == path]


def assert_encoding(entry, path, encoding):
    assert all(encoding in c["encodings"] for c in chunks_of(entry, path)), (entry["name"], path, encoding)


def assert_physical(entry, path, physical):
    assert all(c["physical_type"] == physical for c in chunks_of(entry, path)), (entry["name"], path, physical)


def assert_fallback(entry, path):
    for c in chunks_of(entry, path):
        assert {"RLE_DICTIONARY", "PLAIN"} <= set(c["encodings"]), (entry["name"], c)
        assert c["data_page_encodings"][:1] == ["RLE_DICTIONARY"] and "PLAIN" in c["data_page_encodings"], c


def assert_lz4_raw(entry):
    assert all(c["codec_thrift"] == "LZ4_RAW" for rg in entry["row_groups"] for c in rg["columns"]), entry["name"]


def assert_page_index(entry):
    assert all(c["has_column_index"] and c["has_offset_index"] for rg in entry["row_groups"] for c in rg["columns"])


def assert_crc(entry):
    assert all(c["pages_with_crc"] == sum(c["page_counts"].values())
               for rg in entry["row_groups"] for c in rg["columns"]), entry["name"]


# ---------------------------------------------------------------- golden values

def flat_array(chunked):
    """One Arrow array for a column, dictionary-decoded."""
    t, chunks = chunked.type, chunked.chunks
    if pa.types.is_dictionary(t):
        t, chunks = t.value_type, [c.dictionary_decode() for c in chunks]
    return pa.concat_arrays(chunks) if chunks else pa.array([], type=t)


def hex_or_none(values):
    return [None if v is None else {"hex": v.hex()} for v in values]


def canonical(arr, leaf):
    """Canonical JSON values of one flat column (see the module docstring); leaf is its pq ColumnSchema."""
    t, types = arr.type, pa.types
    if types.is_null(t):
        return [None] * len(arr)
    if types.is_boolean(t) or types.is_integer(t):
        return arr.to_pylist()
    if types.is_date32(t) or types.is_time32(t):
        return arr.view(pa.int32()).to_pylist()
    if types.is_time64(t) or types.is_timestamp(t):
        return arr.view(pa.int64()).to_pylist()
    if types.is_float32(t):
        return [None if b is None else {"f32": f"{b:08x}"} for b in arr.view(pa.uint32()).to_pylist()]
    if types.is_float64(t):
        return [None if b is None else {"f64": f"{b:016x}"} for b in arr.view(pa.uint64()).to_pylist()]
    if types.is_string(t) or types.is_large_string(t) or types.is_string_view(t):
        return arr.to_pylist()
    if types.is_binary(t) or types.is_large_binary(t) or types.is_binary_view(t) or types.is_fixed_size_binary(t):
        return hex_or_none(arr.to_pylist())
    if types.is_decimal(t):
        out = []
        for d in arr.to_pylist():
            if d is None:
                out.append(None)
                continue
            sign, digits, exponent = d.as_tuple()     # exact; Decimal arithmetic would round at 28 digits
            shift = exponent + t.scale
            unscaled = int("".join(map(str, digits)) or "0") * 10**shift if shift >= 0 else None
            assert unscaled is not None, d
            unscaled = -unscaled if sign else unscaled
            if leaf.physical_type == "FIXED_LEN_BYTE_ARRAY":
                out.append({"hex": unscaled.to_bytes(leaf.length, "big", signed=True).hex()})
            elif leaf.physical_type in ("INT32", "INT64"):
                out.append(unscaled)
            else:
                raise ValueError(f"decimal stored as {leaf.physical_type}")
        return out
    raise ValueError(f"no canonical form for {t}")


# Characters some line splitters treat as line breaks (DEL, C1 controls incl. NEL, U+2028, U+2029) are written as
# \uXXXX escapes, so a golden file splits into records on "\n" and on any other notion of a line alike.
LINE_SAFE = {c: f"\\u{c:04x}" for c in [*range(0x7F, 0xA0), 0x2028, 0x2029]}


def dumps(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).translate(LINE_SAFE)


def write_golden(path, golden_path, columns=None):
    table = pq.read_table(path, columns=columns)
    schema = pq.ParquetFile(path).schema
    leaves = {schema.column(i).path: schema.column(i) for i in range(len(schema))}
    values = [canonical(flat_array(table.column(i)), leaves.get(name)) for i, name in enumerate(table.column_names)]
    with open(golden_path, "w", encoding="utf-8", newline="\n") as f:
        f.write(dumps({"file": os.path.basename(path), "num_rows": table.num_rows,
                       "columns": table.column_names}) + "\n")
        for row in zip(*values):
            f.write(dumps(list(row)) + "\n")


# ---------------------------------------------------------------- Thrift footer and page headers

CODECS = ["UNCOMPRESSED", "SNAPPY", "GZIP", "LZO", "BROTLI", "LZ4", "ZSTD", "LZ4_RAW"]
ENCODINGS = {0: "PLAIN", 2: "PLAIN_DICTIONARY", 3: "RLE", 4: "BIT_PACKED", 5: "DELTA_BINARY_PACKED",
             6: "DELTA_LENGTH_BYTE_ARRAY", 7: "DELTA_BYTE_ARRAY", 8: "RLE_DICTIONARY", 9: "BYTE_STREAM_SPLIT"}
PAGE_TYPES = ["DATA_PAGE", "INDEX_PAGE", "DICTIONARY_PAGE", "DATA_PAGE_V2"]


class CompactReader:
    """Just enough of Thrift's compact protocol to read Parquet structs as {field id: value}."""

    def __init__(self, buf, pos):
        self.buf, self.pos = buf, pos

    def byte(self):
        self.pos += 1
        return self.buf[self.pos - 1]

    def varint(self):
        n = shift = 0
        while True:
            b = self.byte()
            n |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                return n

    def zigzag(self):
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def value(self, t):
        if t in (1, 2):                       # bool in a field header
            return t == 1
        if t == 3:
            b = self.byte()
            return b - 256 if b > 127 else b
        if t in (4, 5, 6):
            return self.zigzag()
        if t == 7:
            self.pos += 8
            return struct.unpack_from("<d", self.buf, self.pos - 8)[0]
        if t == 8:
            n = self.varint()
            self.pos += n
            return bytes(self.buf[self.pos - n:self.pos])
        if t in (9, 10):                      # list, set; bools in containers are one byte each
            h = self.byte()
            size, et = h >> 4, h & 15
            if size == 15:
                size = self.varint()
            return [self.byte() == 1 if et in (1, 2) else self.value(et) for _ in range(size)]
        if t == 11:
            size = self.varint()
            kv = self.byte() if size else 0
            return [(self.value(kv >> 4), self.value(kv & 15)) for _ in range(size)]
        if t == 12:
            return self.struct()
        raise ValueError(f"Thrift type {t} at {self.pos}")

    def struct(self):
        fields, fid = {}, 0
        while True:
            h = self.byte()
            if h == 0:
                return fields
            fid = fid + (h >> 4) if h >> 4 else self.zigzag()
            fields[fid] = self.value(h & 15)


def page_census(path):
    """Per row group, per column chunk: the codec as stored and what its page headers say."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:4] == b"PAR1" and data[-4:] == b"PAR1", path
    (footer_len,) = struct.unpack_from("<I", data, len(data) - 8)
    meta = CompactReader(data, len(data) - 8 - footer_len).struct()
    out = []
    for rg in meta.get(4, []):
        chunks = []
        for cc in rg[1]:
            cm = cc[3]      # ColumnMetaData
            start = cm[11] if cm.get(11) else cm[9]             # dictionary page offset, else data page offset
            end = start + cm[7]                                 # total_compressed_size includes page headers
            r = CompactReader(data, start)
            counts, encodings, dict_encoding, v2_uncompressed, crcs, values = {}, [], None, 0, 0, 0
            while r.pos < end:
                h = r.struct()
                kind = PAGE_TYPES[h[1]]
                counts[kind] = counts.get(kind, 0) + 1
                crcs += 4 in h
                if kind == "DICTIONARY_PAGE":
                    dict_encoding = ENCODINGS[h[7][2]]
                elif kind in ("DATA_PAGE", "DATA_PAGE_V2"):
                    header = h[5] if kind == "DATA_PAGE" else h[8]
                    encoding = ENCODINGS[header[2] if kind == "DATA_PAGE" else header[4]]
                    if encoding not in encodings:
                        encodings.append(encoding)
                    values += header[1]
                    if kind == "DATA_PAGE_V2" and not header.get(7, True):    # is_compressed defaults to true
                        v2_uncompressed += 1
                r.pos += h[3]                                   # compressed_page_size
            assert r.pos == end and values == cm[5], (path, cm[3])
            chunks.append({"path_thrift": ".".join(p.decode() for p in cm[3]), "codec_thrift": CODECS[cm[4]],
                           "page_counts": counts, "data_page_encodings": encodings,
                           "dictionary_page_encoding": dict_encoding, "v2_uncompressed_pages": v2_uncompressed,
                           "pages_with_crc": crcs})
        out.append(chunks)
    return out


# ---------------------------------------------------------------- manifest

def json_options(options):
    return {k: (sorted(v) if isinstance(v, (list, tuple, set)) else v) for k, v in options.items()}


def describe(path, case, golden):
    pf = pq.ParquetFile(path)
    md = pf.metadata
    census = page_census(path)
    leaves = [pf.schema.column(i) for i in range(len(pf.schema))]
    row_groups = []
    for g in range(md.num_row_groups):
        rg = md.row_group(g)
        columns = []
        for i in range(rg.num_columns):
            c = rg.column(i)
            stats = c.statistics if c.is_stats_set else None
            extra = dict(census[g][i])
            assert extra.pop("path_thrift") == c.path_in_schema
            columns.append({
                "path": c.path_in_schema, "physical_type": c.physical_type, "codec": c.compression,
                "encodings": list(c.encodings), "num_values": c.num_values,
                "total_compressed_size": c.total_compressed_size,
                "total_uncompressed_size": c.total_uncompressed_size,
                "has_dictionary_page": c.has_dictionary_page, "dictionary_page_offset": c.dictionary_page_offset,
                "data_page_offset": c.data_page_offset,
                "null_count": stats.null_count if stats is not None and stats.has_null_count else None,
                "has_column_index": c.has_column_index, "has_offset_index": c.has_offset_index, **extra})
        row_groups.append({"num_rows": rg.num_rows, "columns": columns})
    return {
        "name": os.path.basename(path), "golden": golden, "num_rows": md.num_rows,
        "num_row_groups": md.num_row_groups, "expect_error": case.get("expect_error"),
        "data_page_version": case["options"].get("data_page_version", "1.0"), "format_version": md.format_version,
        "created_by": md.created_by, "write_options": json_options(case["options"]),
        "leaf_columns": [{"path": s.path, "physical_type": s.physical_type, "logical_type": str(s.logical_type),
                          "converted_type": s.converted_type, "length": s.length,
                          "max_definition_level": s.max_definition_level,
                          "max_repetition_level": s.max_repetition_level} for s in leaves],
        "row_groups": row_groups, "notes": case["notes"]}


def generate(outdir):
    if pa.__version__ != PYARROW_VERSION:
        print(f"warning: pyarrow {pa.__version__}, goldens were designed for {PYARROW_VERSION}", file=sys.stderr)
    os.makedirs(outdir, exist_ok=True)
    files = []
    for case in cases():
        name = case["name"]
        path = os.path.join(outdir, name + ".parquet")
        pq.write_table(case["table"], path, **case["options"])
        golden = name + ".golden.jsonl"
        write_golden(path, os.path.join(outdir, golden), case.get("golden_columns"))
        entry = describe(path, case, golden)
        if case.get("check"):
            case["check"](entry)
        files.append(entry)
    with open(os.path.join(outdir, "manifest.json"), "w", encoding="utf-8", newline="\n") as f:
        json.dump({"pyarrow": pa.__version__, "files": files}, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {len(files)} Parquet files with goldens and manifest.json to {outdir}", file=sys.stderr)


def census(outdir):
    """One line per column: codec as stored, chunk encodings, data page encodings, pages (summed over row groups)."""
    with open(os.path.join(outdir, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    short = {"DICTIONARY_PAGE": "dict", "DATA_PAGE": "v1", "DATA_PAGE_V2": "v2", "INDEX_PAGE": "index"}
    for entry in manifest["files"]:
        print(f"{entry['name']}  rows={entry['num_rows']} rgs={entry['num_row_groups']} "
              f"format={entry['format_version']} pages=v{entry['data_page_version']}"
              + (f" expect_error={entry['expect_error']}" if entry["expect_error"] else ""))
        paths = [c["path"] for c in entry["row_groups"][0]["columns"]] if entry["row_groups"] else []
        for p in paths:
            chunks = chunks_of(entry, p)
            pages = {}
            for c in chunks:
                for k, v in c["page_counts"].items():
                    pages[short[k]] = pages.get(short[k], 0) + v
            data_encodings = []
            for c in chunks:
                data_encodings += [e for e in c["data_page_encodings"] if e not in data_encodings]
            flags = "".join([" v2-uncompressed=%d" % sum(c["v2_uncompressed_pages"] for c in chunks)
                             if any(c["v2_uncompressed_pages"] for c in chunks) else "",
                             " crc" if all(c["pages_with_crc"] for c in chunks) else "",
                             " page-index" if all(c["has_column_index"] for c in chunks) else ""])
            print(f"  {p:<22} {chunks[0]['physical_type']:<20} {chunks[0]['codec']}/{chunks[0]['codec_thrift']:<13} "
                  f"{','.join(chunks[0]['encodings']):<44} data={','.join(data_encodings):<30} "
                  f"dict={chunks[0]['dictionary_page_encoding']} pages={pages}{flags}")


def main(argv):
    if len(argv) == 3 and argv[1] in ("generate", "census"):
        (generate if argv[1] == "generate" else census)(argv[2])
        return 0
    print(__doc__.split("\n\n")[2], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
