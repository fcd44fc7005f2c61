#!/usr/bin/env python3
"""Reference implementation (oracle) of docs/keyword-filter-semantics.md.

Standard library only. Written to be obviously right, not fast: it uses str.lower,
str.count and str.split exactly as the original MMedLM filter does.

    score     score JSONL documents from stdin, one result line per document
    generate  write the golden files listed in keyword_parity_specs.json
"""
import argparse
import csv
import gzip
import io
import json
import os
import re
import sys
import unicodedata

PAPER_THRESHOLDS = {"en": (5, 0.04), "zh": (5, 0.05), "ja": (5, 0.05), "ru": (4, 0.02), "es": (4, 0.04), "fr": (4, 0.04)}
LANGS = ("en", "zh", "ja", "ru", "es", "fr", "de", "ar")
MODES = ("paper", "published")

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
MMEDKIT_DIR = os.path.join(REPO, "Sources", "MMedCorpus", "Resources", "keywords")
SPECS = os.path.join(HERE, "keyword_parity_specs.json")


# ---------------------------------------------------------------- semantics

def normalize_lang(code):
    code = "ja" if code == "jp" else code
    if code not in LANGS:
        raise ValueError("unknown language code: %r" % (code,))
    return code


def load_keyword_list(path):
    with open(path, encoding="utf-8") as f:
        lines = [line.strip() for line in f.read().split("\n")]
    return [line for line in lines if line and not line.startswith("#")]


def load_threshold_comment(path):
    """(mkc, dens) from a line `# threshold: mkc=N dens=X` among the leading comment lines, else None."""
    with open(path, encoding="utf-8") as f:
        for line in f.read().split("\n"):
            line = line.strip()
            if line and not line.startswith("#"):
                return None
            m = re.match(r"#\s*threshold:\s*mkc=(\d+)\s+dens=([0-9.]+)\s*$", line)
            if m:
                return int(m.group(1)), float(m.group(2))
    return None


def load_mmedlm(json_path, lang):
    lang = normalize_lang(lang)
    key = "jp" if lang == "ja" else lang
    with open(json_path, encoding="utf-8") as f:
        data = json.load(f)
    if key not in data["keywords"]:
        raise ValueError("the MMedLM lists have no language %r" % (lang,))
    lists = data["keywords"][key]
    raw = lists["medical_biology_words"] + lists["medical_words"]
    t = data["thresholds"][key]
    return raw, (t["mkc"], t["dens"])


def is_long(k):
    return len(k) > 10 or (len(k) > 5 and len(k.split()) > 1)


def prepare_keywords(raw, mode):
    if mode == "paper":
        keywords = list(dict.fromkeys(k.lower() for k in raw))   # lower-case, then de-duplicate
    elif mode == "published":
        keywords = [k.lower() for k in dict.fromkeys(raw)]       # de-duplicate (set), then lower-case
    else:
        raise ValueError("unknown mode: %r" % (mode,))
    long = [k for k in keywords if is_long(k)]
    short = [k for k in keywords if not is_long(k)]
    return long, short


def score(text, prepared, lang, mode):
    long, short = prepared
    lower = text.lower()
    if mode == "paper" and normalize_lang(lang) in ("zh", "ja"):
        counts = [(k, lower.count(k)) for k in long + short]
    else:
        tokens = lower.split()
        counts = [(k, lower.count(k)) for k in long] + [(k, tokens.count(k)) for k in short]
    mkc = sum(1 for k, c in counts if c > 0)
    keyword_chars = sum(c * len(k) for k, c in counts)
    return mkc, keyword_chars, len(text)


def decide(mkc, chars, length, t_mkc, t_dens):
    dens = chars / length if length else 0.0
    return mkc >= t_mkc and dens >= t_dens


# ---------------------------------------------------------------- document rules (golden files)

def read_lines(path):
    data = open(path, "rb").read()
    pieces = data.split(b"\n")
    if data.endswith(b"\n"):
        pieces.pop()
    return [p.decode("utf-8") for p in pieces]


def documents(shared, corpus, rule):
    path = os.path.join(shared, corpus)
    if rule == "lines":
        return read_lines(path)
    if rule.startswith("blocks:"):
        b = int(rule.split(":", 1)[1])
        lines = read_lines(path)
        return ["\n".join(lines[i:i + b]) for i in range(0, len(lines), b)]
    if rule == "flores-articles":
        lines = read_lines(path)
        meta = read_lines(os.path.join(shared, "text/flores200-devtest/metadata_devtest.tsv"))[1:]
        urls = [row.split("\t")[0] for row in meta]
        assert len(urls) == len(lines), (len(urls), len(lines))
        docs, last = [], None
        for url, line in zip(urls, lines):
            if url == last:
                docs[-1].append(line)
            else:
                docs.append([line])
            last = url
        return [" ".join(d) for d in docs]
    if rule.startswith("jsonl:"):
        field = rule.split(":", 1)[1]
        data = open(path, "rb").read()
        if path.endswith(".gz"):
            data = gzip.decompress(data)
        docs = []
        for piece in data.split(b"\n"):
            if piece.strip():
                value = json.loads(piece.decode("utf-8"))[field]
                assert isinstance(value, str), (corpus, field)
                docs.append(value)
        return docs
    if rule == "rudrec-sentences":
        with open(path, encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
        docs, last = [], None
        for row in rows:
            if row["Sentence#"] == last:
                docs[-1].append(row["Word"])
            else:
                docs.append([row["Word"]])
            last = row["Sentence#"]
        return [" ".join(d) for d in docs]
    raise ValueError("unknown document rule: %r" % (rule,))


def dumps(obj):
    """One JSON line; invisible, format, line-separator and combining characters are written as \\u escapes."""
    s = json.dumps(obj, ensure_ascii=False)
    return "".join(json.dumps(c)[1:-1] if not c.isprintable() or unicodedata.category(c).startswith("M") else c
                   for c in s)


def resolve_keywords(spec, shared):
    """(raw keywords, (t_mkc, t_dens)) for a spec, or None when the list is not available (with a reason)."""
    lang, source = normalize_lang(spec["lang"]), spec["keywords"]
    if source == "mmedlm":
        return load_mmedlm(os.path.join(shared, "reference/mmedlm-keywords.json"), lang), None
    if source == "mmedkit":
        path = os.path.join(MMEDKIT_DIR, lang + ".txt")
        if not os.path.exists(path):
            return None, "missing " + os.path.relpath(path, REPO)
        thresholds = load_threshold_comment(path) or PAPER_THRESHOLDS.get(lang)
        if thresholds is None:
            return None, "no '# threshold: mkc=N dens=X' line in " + os.path.relpath(path, REPO)
        return (load_keyword_list(path), thresholds), None
    return (source["inline"], (spec["thresholds"]["mkc"], spec["thresholds"]["dens"])), None


def generate(shared, out, only=None):
    with open(SPECS, encoding="utf-8") as f:
        specs = json.load(f)
    os.makedirs(out, exist_ok=True)
    for spec in specs:
        if only and spec["name"] not in only:
            continue
        resolved, why = resolve_keywords(spec, shared)
        if resolved is None:
            print("skip %s: %s" % (spec["name"], why), file=sys.stderr)
            continue
        (raw, (t_mkc, t_dens)), lang, mode = resolved, spec["lang"], spec["mode"]
        prepared = prepare_keywords(raw, mode)
        inline = spec["documents"] == "inline"
        docs = spec["texts"] if inline else documents(shared, spec["corpus"], spec["documents"])
        header = {"name": spec["name"], "corpus": spec["corpus"], "documents": spec["documents"], "lang": lang,
                  "keywords": spec["keywords"], "mode": mode, "thresholds": {"mkc": t_mkc, "dens": t_dens},
                  "count": len(docs)}
        kept = 0
        with open(os.path.join(out, spec["name"] + ".jsonl"), "w", encoding="utf-8", newline="\n") as f:
            f.write(dumps(header) + "\n")
            for i, text in enumerate(docs):
                mkc, chars, length = score(text, prepared, lang, mode)
                keep = decide(mkc, chars, length, t_mkc, t_dens)
                kept += keep
                row = {"doc": i, "mkc": mkc, "chars": chars, "length": length, "keep": keep}
                if inline:
                    row["text"] = text
                f.write(dumps(row) + "\n")
        print("%-50s docs=%5d kept=%5d" % (spec["name"], len(docs), kept))


# ---------------------------------------------------------------- CLI

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("score", help="score JSONL documents from stdin")
    s.add_argument("--lang", required=True)
    s.add_argument("--keywords", help="plain-text list (default: MMedKit's list for --lang)")
    s.add_argument("--mmedlm", help="mmedlm-keywords.json (lists and thresholds)")
    s.add_argument("--mode", choices=MODES, default="paper")
    s.add_argument("--text-field", default="text")
    s.add_argument("--mkc", type=int, help="override the MKC threshold")
    s.add_argument("--dens", type=float, help="override the DENS threshold")
    g = sub.add_parser("generate", help="write the golden files")
    g.add_argument("--shared", required=True, help="the shared data folder (…/shared/data)")
    g.add_argument("--out", required=True)
    g.add_argument("--only", nargs="*", help="names of specs to generate (default: all)")
    a = p.parse_args(argv)

    if a.command == "generate":
        generate(a.shared, a.out, a.only)
        return 0

    lang = normalize_lang(a.lang)
    if a.mmedlm:
        raw, thresholds = load_mmedlm(a.mmedlm, lang)
    else:
        path = a.keywords or os.path.join(MMEDKIT_DIR, lang + ".txt")
        raw, thresholds = load_keyword_list(path), load_threshold_comment(path) or PAPER_THRESHOLDS.get(lang)
    t_mkc = a.mkc if a.mkc is not None else (thresholds or (None, None))[0]
    t_dens = a.dens if a.dens is not None else (thresholds or (None, None))[1]
    if t_mkc is None or t_dens is None:
        p.error("no thresholds for %s: pass --mkc and --dens" % lang)
    prepared = prepare_keywords(raw, a.mode)
    stdin = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", newline="\n")
    for n, line in enumerate(stdin, 1):
        if not line.strip():
            continue
        text = json.loads(line)[a.text_field]
        mkc, chars, length = score(text, prepared, lang, a.mode)
        result = {"line": n, "mkc": mkc, "chars": chars, "length": length,
                  "keep": decide(mkc, chars, length, t_mkc, t_dens)}
        sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
