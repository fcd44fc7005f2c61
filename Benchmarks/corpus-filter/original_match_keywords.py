#!/usr/bin/env python3
"""A straight port of the original MMedLM keyword filter (MedicalTextFilter.match_keywords, en_like
path) for benchmarking, written from docs/keyword-filter-semantics.md. Python standard library only.

What it keeps from the original, on purpose:
  - keyword preparation as published: de-duplicate (set), then lower-case; split into long keywords
    (len > 10, or len > 5 with more than one word) and short ones;
  - per text: lower(); for each long keyword `k in lower` then `lower.count(k)`; the early exit once
    MKC and DENS already pass on the long keywords; otherwise `lower.split()` and, for each short
    keyword, `k in tokens` then `tokens.count(k)` (list scans, as in the original);
  - the en_like path for every language (the original never calls its zh/ja branch).
One deliberate difference: an empty text scores DENS = 0 (the original divides by zero).

Input: JSONL on stdin, field "text" (lines that are not JSON objects with a string "text" are counted
as skipped). Output: one line "kept K of N texts (skipped S lines), ..." on stdout.

Usage: original_match_keywords.py --keywords FILE [--lang en] [--mkc N] [--dens X]
FILE: one keyword per line, surrounding whitespace stripped, blank lines and '#' lines ignored.
Thresholds: the paper's for en zh ja ru es fr; for other languages a leading comment
`# threshold: mkc=N dens=X` in FILE if there is one, else en's; --mkc / --dens override.
"""

import argparse
import json
import re
import sys
import time

# The paper's thresholds (MKC, DENS); ja accepts the original's code "jp".
THRESHOLDS = {"en": (5, 0.04), "zh": (5, 0.05), "ja": (5, 0.05), "jp": (5, 0.05),
              "ru": (4, 0.02), "es": (4, 0.04), "fr": (4, 0.04)}


def threshold_comment(path):
    """(mkc, dens) from a leading comment line `# threshold: mkc=N dens=X`, else None."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                return None
            m = re.match(r"#\s*threshold:\s*mkc=(\d+)\s+dens=([0-9.]+)\s*$", line)
            if m:
                return int(m.group(1)), float(m.group(2))
    return None


def load_keywords(path):
    words = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            w = line.strip()
            if w and not w.startswith("#"):
                words.append(w)
    words = list(set(words))          # as published: de-duplicate first ...
    words = [w.lower() for w in words]  # ... then lower-case
    long_kw, short_kw = [], []
    for w in words:
        if len(w) > 10 or (len(w) > 5 and len(w.split()) > 1):
            long_kw.append(w)
        else:
            short_kw.append(w)
    return long_kw, short_kw


def match_keywords(text, long_kw, short_kw, t_mkc, t_dens):
    unique_hit_cnt, hit_cnt = 0, 0
    n = len(text)
    lower_text = text.lower()
    for k in long_kw:
        if k in lower_text:
            unique_hit_cnt += 1
            hit_cnt += lower_text.count(k) * len(k)
    if n and unique_hit_cnt >= t_mkc and hit_cnt / n >= t_dens:
        return True
    split_text = lower_text.split()
    for k in short_kw:
        if k in split_text:
            unique_hit_cnt += 1
            hit_cnt += split_text.count(k) * len(k)
    return unique_hit_cnt >= t_mkc and (hit_cnt / n if n else 0.0) >= t_dens


def main():
    ap = argparse.ArgumentParser(description="Port of MMedLM match_keywords (en_like) for benchmarks")
    ap.add_argument("--keywords", required=True, help="keyword list file (one per line, # comments)")
    ap.add_argument("--lang", default="en",
                    help="use this language's paper thresholds (default en); for others, the list's "
                         "'# threshold: mkc=N dens=X' comment, else en's")
    ap.add_argument("--mkc", type=int, help="override the MKC threshold")
    ap.add_argument("--dens", type=float, help="override the DENS threshold")
    args = ap.parse_args()
    t_mkc, t_dens = THRESHOLDS.get(args.lang) or threshold_comment(args.keywords) or THRESHOLDS["en"]
    if args.mkc is not None:
        t_mkc = args.mkc
    if args.dens is not None:
        t_dens = args.dens
    long_kw, short_kw = load_keywords(args.keywords)

    start = time.perf_counter()
    kept = total = skipped = 0
    nbytes = 0
    stdin = sys.stdin.buffer
    for raw in stdin:
        nbytes += len(raw)
        try:
            rec = json.loads(raw)
            text = rec["text"]
        except (ValueError, KeyError, TypeError):
            skipped += 1
            continue
        if not isinstance(text, str):
            skipped += 1
            continue
        total += 1
        if match_keywords(text, long_kw, short_kw, t_mkc, t_dens):
            kept += 1
    secs = time.perf_counter() - start
    print("kept %d of %d texts (skipped %d lines), %d bytes in %.2f s, %d long + %d short keywords"
          % (kept, total, skipped, nbytes, secs, len(long_kw), len(short_kw)))


if __name__ == "__main__":
    main()
