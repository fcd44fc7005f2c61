#!/usr/bin/env python3
"""Golden token ids for MMedKit's tokenizers, from independent implementations.

Purpose: MMedTokenizers reads Hugging Face `tokenizer.json`, Meta's tiktoken-format Llama 3 `tokenizer.model`
and SentencePiece `tokenizer.model`. This script never looks at the Swift code: it gathers test texts from the
real third-party data in `../shared/data` plus adversarial inputs of its own, and encodes them with the
reference libraries, pinned in `Tests/Oracles/requirements.txt`:

    tokenizers==0.23.3   (kind `hf`: any tokenizer.json)
    tiktoken==0.14.0     (kind `tiktoken-llama3`: built exactly as Meta's llama-models `models/llama3/tokenizer.py`)
    sentencepiece==0.2.3 (kind `sentencepiece`)

Usage (from the repository root):

    python3 Tests/Oracles/tokenizer_oracle.py corpus --shared ../shared/data --output /tmp/texts.jsonl
    python3 Tests/Oracles/tokenizer_oracle.py encode --kind hf \\
        --tokenizer ../shared/data/tokenizers/llama3/hf/tokenizer.json --input /tmp/texts.jsonl --output /tmp/l3-hf.jsonl
    python3 Tests/Oracles/tokenizer_oracle.py encode --kind tiktoken-llama3 \\
        --tokenizer ../shared/data/tokenizers/llama3/tiktoken/tokenizer.model --input /tmp/texts.jsonl --output /tmp/l3-tt.jsonl
    python3 Tests/Oracles/tokenizer_oracle.py encode --kind sentencepiece \\
        --tokenizer ../shared/data/tokenizers/llama2/tokenizer.model --input /tmp/texts.jsonl --output /tmp/l2-sp.jsonl
    python3 Tests/Oracles/tokenizer_oracle.py vectors --shared ../shared/data   # llama.cpp's test vectors vs the oracles

`encode --no-special` leaves out BOS (and, for hf, whatever the post-processor adds, e.g. BERT's [CLS]/[SEP]).
Files: texts.jsonl has one `{"source", "text"}` per line; the golden file one `{"source", "ids", "decode",
"decode_skip"}` per input line, same order (plus `"oracle": "hf"` on a tiktoken line that was encoded by the
fallback, see --fallback-chars). Both are UTF-8; U+007F-U+009F, U+2028 and U+2029 are written as \\uXXXX escapes,
so records split on `\\n` alone. Everything is deterministic: two runs give byte-identical files.
"""
import argparse
import csv
import glob
import gzip
import json
import math
import os
import random
import sys
import time

# ---------------------------------------------------------------------------------------------------------------
# JSON lines
# ---------------------------------------------------------------------------------------------------------------
_ESCAPES = {c: "\\u%04x" % c for c in list(range(0x7F, 0xA0)) + [0x2028, 0x2029]}


def dumps(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).translate(_ESCAPES)


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def log(*parts):
    print(*parts, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------------------
# corpus: the test texts
# ---------------------------------------------------------------------------------------------------------------
def file_lines(path):
    """The file's bytes split on \\n (a final empty piece dropped), each decoded as UTF-8 (invalid bytes replaced)."""
    with open(path, "rb") as f:
        data = f.read()
    pieces = data.split(b"\n")
    if pieces and pieces[-1] == b"":
        pieces.pop()
    return [p.decode("utf-8", errors="replace") for p in pieces]


def open_maybe_gz(path):
    with open(path, "rb") as f:
        data = f.read()
    return gzip.decompress(data) if path.endswith(".gz") else data


def jsonl_field(path, field):
    out = []
    for piece in open_maybe_gz(path).split(b"\n"):
        if piece.strip():
            value = json.loads(piece).get(field)
            if isinstance(value, str):
                out.append(value)
    return out


def warc_bodies(path):
    """HTTP bodies of the WARC `response` records whose Content-Type is textual (HTML, JSON, JS, CSS, XML, text)."""
    data = open_maybe_gz(path)
    pos, out = 0, []
    while True:
        start = data.find(b"WARC/1.", pos)
        if start < 0:
            break
        head_end = data.find(b"\r\n\r\n", start)
        if head_end < 0:
            break
        headers = {}
        for line in data[start:head_end].split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            headers[k.strip().lower()] = v.strip()
        length = int(headers.get(b"content-length", b"0"))
        block = data[head_end + 4:head_end + 4 + length]
        pos = head_end + 4 + length
        if headers.get(b"warc-type") != b"response":
            continue
        http_head, sep, body = block.partition(b"\r\n\r\n")
        if not sep or not body:
            continue
        ctype = b""
        for line in http_head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-type":
                ctype = v.strip().lower()
        if ctype.startswith(b"text/") or any(t in ctype for t in (b"json", b"javascript", b"xml")):
            out.append(body.decode("utf-8", errors="replace"))
    return out


def rudrec_sentences(path):
    """RuDReC.csv (token per row): rows grouped by consecutive identical Sentence#, words joined by a space."""
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    out, key, words = [], None, []
    for row in rows[1:]:
        if len(row) < 2:
            continue
        if row[0] != key and words:
            out.append(" ".join(words))
            words = []
        key = row[0]
        words.append(row[1])
    if words:
        out.append(" ".join(words))
    return out


def text_sources(shared, wmt_lines):
    """(source, [texts]) for every file under shared/text, in a fixed order (of each WMT file its first wmt_lines)."""
    T = os.path.join(shared, "text")
    for p in sorted(glob.glob(os.path.join(T, "flores200-devtest", "*.devtest"))):
        yield "text/flores200-devtest/" + os.path.basename(p), file_lines(p)
    for p in sorted(glob.glob(os.path.join(T, "wmt-news", "newstest*"))):
        yield "text/wmt-news/" + os.path.basename(p), file_lines(p)[:wmt_lines]
    for p in sorted(glob.glob(os.path.join(T, "dolma-cc-en", "*.jsonl")) +
                    glob.glob(os.path.join(T, "dolma-cc-en", "*.json.gz"))):
        yield "text/dolma-cc-en/" + os.path.basename(p), jsonl_field(p, "text")
    for p in sorted(glob.glob(os.path.join(T, "dolma-cc-en", "*.warc.gz"))):
        yield "text/dolma-cc-en/" + os.path.basename(p), warc_bodies(p)
    p = os.path.join(T, "rudrec-ru", "RuDReC.csv")
    if os.path.exists(p):
        yield "text/rudrec-ru", rudrec_sentences(p)
    known = {"flores200-devtest", "wmt-news", "dolma-cc-en", "rudrec-ru"}
    for d in sorted(os.listdir(T)):
        if os.path.isdir(os.path.join(T, d)) and d not in known:
            log("corpus: note: text/%s is not read (unknown format)" % d)


def qa_sources(shared):
    """(source, [texts]) for every QA item under shared/qa: question, each option, explanation-like fields."""
    Q = os.path.join(shared, "qa")

    def exam_jsonl(p):   # {"problem_text", "choices"} (MedQA, MedMCQA, MMLU, IgakuQA) or the IgakuQA translations
        out = []
        for d in read_jsonl(p):
            for k in ("problem_text", "problem_text_en"):
                if isinstance(d.get(k), str):
                    out.append(d[k])
            for k in ("choices", "choices_en"):
                out += [c for c in d.get(k) or [] if isinstance(c, str)]
        return out

    for sub in ("medqa-usmle-en", "medqa-mcmle-zh", "english"):
        for p in sorted(glob.glob(os.path.join(Q, sub, "*.jsonl"))):
            yield "qa/%s/%s" % (sub, os.path.basename(p)), exam_jsonl(p)
    p = os.path.join(Q, "english", "ori_pqal.json")
    if os.path.exists(p):
        out = []
        with open(p, encoding="utf-8") as f:
            items = json.load(f)
        for key in sorted(items, key=lambda k: (len(k), k)):
            v = items[key]
            out.append(v["QUESTION"])
            out += v["CONTEXTS"]
            out.append(v["LONG_ANSWER"])
        yield "qa/english/ori_pqal.json", out
    for p in sorted(glob.glob(os.path.join(Q, "igakuqa-ja", "data", "*", "*.jsonl"))):
        name = "qa/igakuqa-ja/" + os.path.relpath(p, os.path.join(Q, "igakuqa-ja"))
        if p.endswith("_metadata.jsonl"):
            yield name, [d["reason"] for d in read_jsonl(p) if isinstance(d.get("reason"), str)]
        else:
            yield name, exam_jsonl(p)
    for year in sorted(glob.glob(os.path.join(Q, "igakuqa-ja", "baseline_results", "*"))):
        out = []   # model and student predictions with their explanations (mostly one letter; deduplicated later)
        for p in sorted(glob.glob(os.path.join(year, "*.jsonl"))):
            for d in read_jsonl(p):
                out += [d[k] for k in ("prediction", "explanation") if isinstance(d.get(k), str)]
        yield "qa/igakuqa-ja/baseline_results/" + os.path.basename(year), out
    for p in sorted(glob.glob(os.path.join(Q, "frenchmedmcqa-fr", "*.json"))):
        out = []
        with open(p, encoding="utf-8") as f:
            for d in json.load(f):
                out.append(d["question"])
                out += [d["answers"][k] for k in sorted(d["answers"])]
        yield "qa/frenchmedmcqa-fr/" + os.path.basename(p), out
    for p in sorted(glob.glob(os.path.join(Q, "rumeddanet-ru", "*.jsonl"))):
        out = []
        for d in read_jsonl(p):
            out += [d[k] for k in ("context", "question", "answer") if isinstance(d.get(k), str)]
        yield "qa/rumeddanet-ru/" + os.path.basename(p), out
    for p in sorted(glob.glob(os.path.join(Q, "headqa", "*", "*.json"))):
        out = []
        with open(p, encoding="utf-8") as f:
            exams = json.load(f)["exams"]
        for name in sorted(exams):
            for q in exams[name]["data"]:
                out.append(q["qtext"])
                out += [a["atext"] for a in sorted(q["answers"], key=lambda a: a["aid"])]
        yield "qa/headqa/" + os.path.relpath(p, os.path.join(Q, "headqa")), out


VECTOR_SEPARATOR = "\n__ggml_vocab_test__\n"


def vector_pairs(shared):
    """[(name, inp path, out path)] of llama.cpp's test vectors under shared/tokenizers/*/test-vectors."""
    out = []
    for inp in sorted(glob.glob(os.path.join(shared, "tokenizers", "*", "test-vectors", "*.inp"))):
        name = os.path.relpath(inp, os.path.join(shared, "tokenizers"))
        out.append((name, inp, inp[:-4] + ".out"))
    return out


def vector_inputs(path):
    """llama.cpp's convert_hf_to_gguf_update.py writes each text followed by "\\n__ggml_vocab_test__\\n"."""
    with open(path, "rb") as f:
        text = f.read().decode("utf-8")
    pieces = text.split(VECTOR_SEPARATOR)
    if pieces and pieces[-1] == "":
        pieces.pop()
    return pieces


def vector_outputs(path):
    """One line per text: the ids, each preceded by a space (an empty line for an empty encoding)."""
    with open(path, encoding="utf-8") as f:
        return [[int(x) for x in line.split()] for line in f.read().split("\n")[:-1]]


# Adversarial inputs --------------------------------------------------------------------------------------------
LATIN = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
ACCENTED = ("àáâãäåæçèéêëìíîïðñòóôõöøùúûüýþÿÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖØÙÚÛÜÝÞßāăąćčďđēėęěğīįıłńňōőœřśşšťūůűųźżž"
            "ǅǈǋǲαβγδεζηθικλμνξοπρστυφχψωΑΒΓΔΩабвгдежзийклмнопрстуфхцчшщъыьэюяЖЩЯёЁ")
PUNCT = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~“”‘’«»—–…·、。，！？：；（）【】《》¿¡§¶†‡•°±×÷€£¥©®™"
DIGITS = "0123456789"


def no_whitespace_text(seed, n):
    """n characters, none of them whitespace: runs of one class (mixed letters, Latin, CJK, digits, punctuation,
    contractions) whose lengths are log-uniform up to 30,000 (letters) or 2,000 (others), so that pre-tokenizer
    pieces of every length up to tens of thousands of characters occur."""
    rng = random.Random(seed)
    out, total = [], 0
    classes = [("mixed", 0.35, 30000), ("latin", 0.15, 30000), ("cjk", 0.15, 30000), ("digits", 0.12, 2000),
               ("punct", 0.15, 2000), ("contraction", 0.08, 200)]
    while total < n:
        r, acc = rng.random(), 0.0
        for name, weight, longest in classes:
            acc += weight
            if r < acc:
                break
        k = max(1, int(math.exp(rng.random() * math.log(longest))))
        if name == "mixed":
            chars = []
            for _ in range(k):
                x = rng.random()
                if x < 0.5:
                    chars.append(LATIN[rng.randrange(len(LATIN))])
                elif x < 0.75:
                    chars.append(ACCENTED[rng.randrange(len(ACCENTED))])
                else:
                    chars.append(chr(rng.randrange(0x4E00, 0x9FF0)))
            s = "".join(chars)
        elif name == "latin":
            s = "".join(LATIN[rng.randrange(len(LATIN))] for _ in range(k))
        elif name == "cjk":
            s = "".join(chr(rng.randrange(0x4E00, 0x9FF0)) for _ in range(k))
        elif name == "digits":
            s = "".join(DIGITS[rng.randrange(10)] for _ in range(k))
        elif name == "punct":
            s = "".join(PUNCT[rng.randrange(len(PUNCT))] for _ in range(k))
        else:
            s = "".join(rng.choice(("'s", "'S", "'t", "'re", "'VE", "'m", "'ll", "'d", "n't", "'")) +
                        LATIN[rng.randrange(len(LATIN))] for _ in range(k))
        out.append(s)
        total += len(s)
    text = "".join(out)[:n]
    assert not any(c.isspace() for c in text)
    return text


INVALID_UTF8 = [b"\x80", b"\xbf", b"\xc0\xaf", b"\xc1\xbf", b"\xc3\x28", b"\xa0\xa1", b"\xe2\x28\xa1", b"\xe2\x82\x28",
                b"\xe0\x80\xaf", b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xf0\x28\x8c\xbc", b"\xf0\x90\x28\xbc",
                b"\xf0\x80\x80\xaf", b"\xf4\x90\x80\x80", b"\xf5\x80\x80\x80", b"\xf8\xa1\xa1\xa1\xa1",
                b"\xfc\xa1\xa1\xa1\xa1\xa1", b"\xfe", b"\xff", b"\xe4\xb8", b"\xf0\x9f\x98", b"\xc3"]

SPECIAL_TEXTS = [
    "<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>", "<|eom_id|>", "<|python_tag|>", "<|image|>",
    "<|start_header_id|>", "<|end_header_id|>", "<|finetune_right_pad_id|>", "<|step_id|>",
    "<|reserved_special_token_0|>", "<|reserved_special_token_5|>", "<|reserved_special_token_247|>",
    "<|reserved_special_token_248|>", "<|fim_prefix|>", "<|endoftext|>", "<|begin_of_text|",
    "<|begin_of_text|>Hello", "Hello<|end_of_text|>", "a<|begin_of_text|>b", " <|eot_id|> ",
    "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nWhat is sepsis?<|eot_id|>"
    "<|start_header_id|>assistant<|end_header_id|>\n\n",
    "<|begin_of_text|><|begin_of_text|>", "<<|eot_id|>>", "<|EOT_ID|>",
    "<s>", "</s>", "<unk>", "<s>Hello</s>", " <s> ", "<s> </s>", "<S>", "<s", "s>", "<<s>>",
    "[CLS]", "[SEP]", "[MASK]", "[PAD]", "[UNK]", "[CLS] the patient [SEP] was [MASK] [SEP]", "[cls]", "[ CLS ]",
    "|||EMAIL_ADDRESS|||", "Mail |||EMAIL_ADDRESS||| or call |||PHONE_NUMBER|||", "|||IP_ADDRESS|||x",
]

WHITESPACE_TEXTS = [
    "", " ", "  ", "   ", "\t", "\n", "\n\n", "\r", "\r\n", "\r\n\r\n", "\r\r\n", " \r", "\n ", " \n",
    "  \n\n \t  x", "x  ", "x   \n", "hello   ", "   hello", "hello \n", "hello\n ", "\n\nhello", "hello\n\n\n",
    "a  b   c    d     e", "a\tb\t\tc", "line one\r\nline two\r\n", "x\r\ny\r\n\r\nz", "x\u000by\u000cz",
    "\u00a0", "x\u00a0y", " \u00a0 x", "\u3000x\u3000", "\u2003x\u2002y\u2009z", "\u200bx\u200by", "\ufeffhello",
    "\u0085", "x\u0085y", "\u2028", "x\u2029y", "\u1680x", " \t\n\u00a0\u3000x", "x\n\n\n   \n y", "  x  y  ",
    "\n\t\n\t", " !", "  !", "\n!", " 1", "  12", " \u4e2d", "  \u4e2d\u6587", "x\n\ny", "x \n \ny",
]

MISC_TEXTS = [
    "'s", "'S", "'t", "'re", "'ve", "'m", "'ll", "'d", "'LL", "'D", "n't", "'", "''", "'''",
    "don't DON'T It's IT'S we'll WE'LL you're they've I'm he'd", "the patient's", "the patients'", "’s",
    "the patient’s", "rock'n'roll", "'s's's", "x's", " 's", "1's",
    "pneumonoultramicroscopicsilicovolcanoconiosis", "a" * 99, "a" * 100, "a" * 101, "b" * 200, "ab" * 150,
    "0", "00", "000", "0000", "12345", "1234567", "3.14159265358979", "1,000,000", "-42", "1e-5", "0x1F",
    "١٢٣٤٥", "一二三", "①②③", "½¼¾", "²³", "Ⅻ", "１２３４",
    "IL-6", "COVID-19", "SARS-CoV-2", "5 mg/kg q.i.d.", "HbA1c 7.5%", "β-blocker", "α1-antitrypsin",
    "Na+/K+-ATPase", "37.5°C", "≥ 140/90 mmHg", "CD4+ T cells < 200/μL", "t½ = 6 h", "x² + y² = z²",
    "e\u0301", "é", "Ä\u0308", "ﬁnance ﬂuid", "ＡＢＣ１２３ｱｲｳ", "İstanbul ıi", "Straße STRASSE ß ẞ", "ΣΑΣ σας ς",
    "ǅemal ǈ ǋ", "Ωmega Ω Ω", "Å Å", "한국어 텍스트", "ภาษาไทย", "हिन्दी भाषा", "اللغة العربية", "עִבְרִית",
    "\u202ertl\u202c", "\u200dx\u200c", "\ue000\uf8ff", "\U000f0000", "\U0010fffd", "\ufffd", "\ufffd\ufffd",
    "\uffff", "\ufffe", "\U0001d518\U0001d52b\U0001d526\U0001d520\U0001d52c\U0001d521\U0001d522",
    "😀", "👍🏽", "👨\u200d👩\u200d👧\u200d👦", "🏳️\u200d🌈", "🇫🇷🇯🇵", "#️⃣", "©®™",
    "日本語のテキストです。", "中文文本，标点符号！", "ｶﾀｶﾅ", "𠀀𪚥", "中a文b字c", "a中b",
    "https://example.org/path?query=1&x=%20#frag", "user@example.com", "C:\\Users\\x\\file.txt",
    "def f(x):\n    return x ** 2  # square\n", "int main() { return 0; }", "<html><body>&amp;&lt;</body></html>",
    "```python\nprint('hi')\n```", "{\"key\": [1, 2, 3]}", "$$\\frac{a}{b}$$", "--", "...", "!!!", "?!", "…", "——",
    "\x00", "a\x00b", "\x01\x02\x03", "\x1b[31mred\x1b[0m", "\x7f", "\x80\x9f",
]


def adversarial():
    out = []
    big = no_whitespace_text(20260901, 1_000_000)
    out.append(("adversarial/no-whitespace-1m", big))
    out.append(("adversarial/no-whitespace-100k", big[:100_000]))
    for s, name in (("a", "a"), ("中", "zh"), (" ", "space"), ("\n", "newline"), ("'s", "apostrophe-s"), ("!", "bang")):
        out.append(("adversarial/repeat-10000-" + name, s * 10000))
    rng = random.Random(7)
    digits = "".join(DIGITS[rng.randrange(10)] for _ in range(100_000))
    out.append(("adversarial/digits-100000", digits))
    out.append(("adversarial/digits-100000-spaced", " " + digits[:50_000] + " " + digits[50_000:] + "."))
    for b in range(256):
        out.append(("adversarial/byte", bytes([b]).decode("utf-8", errors="replace")))
    for b in range(256):
        out.append(("adversarial/latin1-char", "x" + chr(b) + "y"))
    out.append(("adversarial/all-bytes", bytes(range(256)).decode("utf-8", errors="replace")))
    out.append(("adversarial/all-bytes-reversed", bytes(range(255, -1, -1)).decode("utf-8", errors="replace")))
    for seq in INVALID_UTF8:
        out.append(("adversarial/invalid-utf8", seq.decode("utf-8", errors="replace")))
        out.append(("adversarial/invalid-utf8", (b"abc" + seq + b"def").decode("utf-8", errors="replace")))
        out.append(("adversarial/invalid-utf8", (b"\xe4\xb8\xad " + seq + b" \xe6\x96\x87").decode("utf-8", errors="replace")))
    rb = random.Random(11)
    for _ in range(64):   # random byte strings
        n = rb.randrange(1, 200)
        out.append(("adversarial/random-bytes", bytes(rb.randrange(256) for _ in range(n)).decode("utf-8", errors="replace")))
    out += [("adversarial/whitespace", s) for s in WHITESPACE_TEXTS]
    out += [("adversarial/special-token-text", s) for s in SPECIAL_TEXTS]
    out += [("adversarial/misc", s) for s in MISC_TEXTS]
    ws = random.Random(13)   # random whitespace/punctuation/letter soups exercising \s+(?!\S) and friends
    for _ in range(200):
        out.append(("adversarial/soup", "".join(ws.choice([" ", "  ", "\n", "\r\n", "\t", "\u00a0", "\u3000", "a", "B",
                                                            "é", "中", "1", "12", "!", "'s", "'", ".", "\u200b"])
                                                 for _ in range(ws.randrange(1, 40)))))
    return out


def cmd_corpus(args):
    started = time.time()
    shared = args.shared
    if not os.path.isdir(os.path.join(shared, "text")):
        sys.exit("corpus: no %s/text (pass --shared <repo>/../shared/data)" % shared)
    groups = [("vectors/" + name, vector_inputs(inp)) for name, inp, _ in vector_pairs(shared)]
    groups += [(src, [t]) for src, t in adversarial()]
    groups += list(text_sources(shared, args.wmt_lines))
    groups += list(qa_sources(shared))
    budget = int(args.max_mb * 1e6)
    seen, records, counts, size = set(), [], {}, 0
    dropped_dup = dropped_surrogate = dropped_budget = 0
    for src, texts in groups:
        for t in texts:
            try:
                t.encode("utf-8")
            except UnicodeEncodeError:   # a lone surrogate from a JSON \uD8xx escape: no tokenizer takes it
                dropped_surrogate += 1
                continue
            if t in seen:
                dropped_dup += 1
                continue
            line = dumps({"source": src, "text": t}) + "\n"
            n = len(line.encode("utf-8"))
            if size + n > budget and not src.startswith(("adversarial/", "vectors/")):
                dropped_budget += 1
                continue
            seen.add(t)
            records.append(line)
            size += n
            c = counts.setdefault(src, [0, 0])
            c[0] += 1
            c[1] += len(t.encode("utf-8"))
    tmp = args.output + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.writelines(records)
    os.replace(tmp, args.output)
    width = max(len(s) for s in counts)
    for src, (n, b) in counts.items():
        log("%-*s %7d texts %11d bytes" % (width, src, n, b))
    if dropped_budget:
        log("corpus: WARNING: over --max-mb; the last sources lost %d texts" % dropped_budget)
    log("corpus: %d texts, %d bytes of JSONL (limit %d), %d duplicates and %d texts with lone surrogates dropped, "
        "%d dropped over the size limit; %.1f s" % (len(records), size, budget, dropped_dup, dropped_surrogate,
                                                    dropped_budget, time.time() - started))


# ---------------------------------------------------------------------------------------------------------------
# encode: the oracles
# ---------------------------------------------------------------------------------------------------------------
LLAMA3_PAT_STR = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                  r"|\s*[\r\n]+|\s+(?!\S)|\s+")
LLAMA3_NUM_RESERVED_SPECIAL_TOKENS = 256


def llama3_special_tokens():
    """The 256 special tokens of meta-llama/llama-models `models/llama3/tokenizer.py` (Llama 3.1 and later; 3.0 named
    ids 128002-128005 and 128011 reserved, which only changes what they decode to), in id order from len(ranks)."""
    named = ["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>", "<|reserved_special_token_1|>",
             "<|finetune_right_pad_id|>", "<|step_id|>", "<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>",
             "<|eot_id|>", "<|python_tag|>", "<|image|>"]
    reserved = ["<|reserved_special_token_%d|>" % (2 + i) for i in range(LLAMA3_NUM_RESERVED_SPECIAL_TOKENS - len(named))]
    return named + reserved


class HFOracle:
    name = "hf"

    def __init__(self, path, special, ignore_merges=None, keep_truncation=False):
        from tokenizers import Tokenizer
        if ignore_merges is None:
            self.tok = Tokenizer.from_file(path)
        else:   # the same file with model.ignore_merges overridden
            with open(path, encoding="utf-8") as f:
                spec = json.load(f)
            spec["model"]["ignore_merges"] = ignore_merges
            self.tok = Tokenizer.from_str(json.dumps(spec))
        self.special = special
        self.dropped = []
        if not keep_truncation:
            # The golden ids are the whole encoding: a file's truncation/padding (all-MiniLM-L6-v2's tokenizer.json
            # truncates and pads to 128) is a batching setting, switched off here.
            if self.tok.truncation is not None:
                self.dropped.append("truncation %s" % json.dumps(self.tok.truncation, sort_keys=True))
                self.tok.no_truncation()
            if self.tok.padding is not None:
                self.dropped.append("padding %s" % json.dumps(self.tok.padding, sort_keys=True))
                self.tok.no_padding()

    def encode(self, texts):
        return [e.ids for e in self.tok.encode_batch_fast(texts, add_special_tokens=self.special)]

    def decode(self, ids, skip):
        return self.tok.decode_batch(ids, skip_special_tokens=skip)


class TiktokenLlama3Oracle:
    name = "tiktoken"

    def __init__(self, path, special):
        import tiktoken
        from tiktoken.load import load_tiktoken_bpe
        ranks = load_tiktoken_bpe(path)
        self.n_base = len(ranks)
        specials = {t: self.n_base + i for i, t in enumerate(llama3_special_tokens())}
        self.enc = tiktoken.Encoding(name=os.path.basename(path), pat_str=LLAMA3_PAT_STR, mergeable_ranks=ranks,
                                     special_tokens=specials)
        self.bos = specials["<|begin_of_text|>"]
        self.special = special

    def encode(self, texts):
        # Meta's Tokenizer.encode(s, bos=..., eos=False) with its defaults allowed_special=set(), disallowed_special=():
        # special-token text is ordinary text. Meta's 400,000-char / 25,000-char-run splitting is not applied.
        out = self.enc.encode_batch(texts, num_threads=2, allowed_special=set(), disallowed_special=())
        return [[self.bos] + ids for ids in out] if self.special else out

    def decode(self, ids, skip):
        if skip:
            ids = [[i for i in x if i < self.n_base] for x in ids]
        return [self.enc.decode(x) for x in ids]   # errors="replace"


class SentencePieceOracle:
    name = "sentencepiece"

    def __init__(self, path, special):
        import sentencepiece
        self.sp = sentencepiece.SentencePieceProcessor(model_file=path)
        self.special = special

    def encode(self, texts):
        return self.sp.encode(texts, add_bos=self.special, num_threads=2)

    def decode(self, ids, skip):
        # sp.decode drops control pieces (<s>, </s>) itself; skip additionally drops the BOS id first, which gives
        # the same text.
        if skip:
            ids = [[i for i in x if not self.sp.is_control(i)] for x in ids]
        return self.sp.decode(ids)


def batches(records, max_bytes=1 << 20):
    batch, n = [], 0
    for r in records:
        batch.append(r)
        n += len(r["text"])
        if n >= max_bytes:
            yield batch
            batch, n = [], 0
    if batch:
        yield batch


def cmd_encode(args):
    started = time.time()
    special = not args.no_special
    if args.kind == "hf":
        oracle = HFOracle(args.tokenizer, special, keep_truncation=args.keep_truncation)
        for what in oracle.dropped:
            log("encode: the file's %s is switched off (--keep-truncation keeps it)" % what)
    elif args.kind == "tiktoken-llama3":
        oracle = TiktokenLlama3Oracle(args.tokenizer, special)
        hf_path = args.hf_check or os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(args.tokenizer))),
                                                "hf", "tokenizer.json")
        check = HFOracle(hf_path, False) if os.path.exists(hf_path) and args.hf_check != "" else None
        if check is None:
            log("encode: no %s, so no cross-check against HF tokenizers" % hf_path)
        specials = llama3_special_tokens()
    elif args.kind == "sentencepiece":
        oracle = SentencePieceOracle(args.tokenizer, special)
    else:
        sys.exit("unknown --kind %s" % args.kind)
    loaded = time.time()
    records = list(read_jsonl(args.input))
    n_lines = n_tokens = n_fallback = 0
    fallback = None
    checked = disagree = disagree_special = 0
    disagree_examples = []
    encode_s = 0.0
    tmp = args.output + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as out:
        for batch in batches(records):
            texts = [r["text"] for r in batch]
            t0 = time.time()
            if args.kind == "tiktoken-llama3" and args.fallback_chars:
                slow = [i for i, t in enumerate(texts) if len(t) > args.fallback_chars]
            else:
                slow = []
            slow_set = set(slow)
            fast = [i for i in range(len(texts)) if i not in slow_set]
            ids = [None] * len(texts)
            for i, x in zip(fast, oracle.encode([texts[i] for i in fast])):
                ids[i] = x
            if slow:
                if fallback is None:
                    fallback = HFOracle(hf_path, False, ignore_merges=True)
                for i, x in zip(slow, fallback.encode([texts[i] for i in slow])):
                    ids[i] = [oracle.bos] + x if special else x
                    n_fallback += 1
            encode_s += time.time() - t0
            if args.kind == "tiktoken-llama3" and check is not None:
                theirs = check.encode([texts[i] for i in fast])
                for i, h in zip(fast, theirs):
                    mine = ids[i][1:] if special else ids[i]
                    checked += 1
                    if mine != h:
                        if any(s in texts[i] for s in specials):
                            disagree_special += 1
                        else:
                            disagree += 1
                            if len(disagree_examples) < 20:
                                disagree_examples.append((batch[i]["source"], texts[i], mine, h))
            dec = oracle.decode(ids, False)
            dec_skip = oracle.decode(ids, True)
            for i, r in enumerate(batch):
                row = {"source": r["source"], "ids": ids[i], "decode": dec[i], "decode_skip": dec_skip[i]}
                if i in slow_set:
                    row["oracle"] = "hf"
                out.write(dumps(row) + "\n")
                n_tokens += len(ids[i])
            n_lines += len(batch)
    os.replace(tmp, args.output)
    log("encode %s %s%s: %d texts, %d tokens; load %.2f s, encode %.1f s, total %.1f s"
        % (args.kind, args.tokenizer, " (no special)" if args.no_special else "", n_lines, n_tokens,
           loaded - started, encode_s, time.time() - started))
    if args.kind == "tiktoken-llama3":
        if n_fallback:
            log("  %d texts over %d chars encoded by HF tokenizers (%s, ignore_merges forced true): \"oracle\": \"hf\""
                % (n_fallback, args.fallback_chars, hf_path))
        if check is not None:
            log("  cross-check against HF tokenizers %s (add_special_tokens=False): %d texts, %d disagree "
                "(+%d containing special-token text, which HF matches as added tokens)"
                % (hf_path, checked, disagree, disagree_special))
            if disagree:
                im = HFOracle(hf_path, False, ignore_merges=True)
                fixed = sum(im.encode([t])[0] == m for _, t, m, _ in disagree_examples)
                log("  of the first %d disagreements, %d agree with HF when model.ignore_merges is forced true"
                    % (len(disagree_examples), fixed))
                for src, t, m, h in disagree_examples[:5]:
                    k = next((j for j in range(min(len(m), len(h))) if m[j] != h[j]), min(len(m), len(h)))
                    log("    %s %r: tiktoken %s... HF %s..." % (src, t[:60], m[max(0, k - 2):k + 4], h[max(0, k - 2):k + 4]))


# ---------------------------------------------------------------------------------------------------------------
# vectors: llama.cpp's test vectors against the oracles
# ---------------------------------------------------------------------------------------------------------------
def cmd_vectors(args):
    shared = args.shared
    T = os.path.join(shared, "tokenizers")
    L3, L2, BERT = (os.path.join(T, "llama3"), os.path.join(T, "llama2"),
                    os.path.join(T, "bert-wordpiece", "all-MiniLM-L6-v2", "tokenizer.json"))
    plans = {   # vector folder -> [(label, oracle factory)]
        "llama3": [
            ("tiktoken-llama3 (no BOS)", lambda: TiktokenLlama3Oracle(os.path.join(L3, "tiktoken/tokenizer.model"), False)),
            ("hf llama3/hf/tokenizer.json (no special)", lambda: HFOracle(os.path.join(L3, "hf/tokenizer.json"), False)),
            ("hf llama3 with ignore_merges=true (no special)",
             lambda: HFOracle(os.path.join(L3, "hf/tokenizer.json"), False, ignore_merges=True))],
        "llama2": [
            ("sentencepiece llama2/tokenizer.model (no BOS)",
             lambda: SentencePieceOracle(os.path.join(L2, "tokenizer.model"), False)),
            ("hf llama2/hf/tokenizer.json (no special)", lambda: HFOracle(os.path.join(L2, "hf/tokenizer.json"), False))],
        "bert-wordpiece": [
            ("hf all-MiniLM-L6-v2 (no special)", lambda: HFOracle(BERT, False)),
            ("hf all-MiniLM-L6-v2 ([CLS] ... [SEP])", lambda: HFOracle(BERT, True))],
    }
    bad = 0
    for name, inp, outp in vector_pairs(shared):
        texts, expected = vector_inputs(inp), vector_outputs(outp)
        folder = name.split(os.sep)[0]
        print("%s: %d texts, %d expected lines" % (name, len(texts), len(expected)))
        if len(texts) != len(expected):
            print("  COUNT MISMATCH")
            bad += 1
            continue
        for label, make in plans.get(folder, []):
            got = make().encode(texts)
            wrong = [i for i in range(len(texts)) if got[i] != expected[i]]
            print("  %-48s %2d/%d match" % (label, len(texts) - len(wrong), len(texts)))
            for i in wrong[:args.show]:
                print("    #%d %r\n      expected %s\n      got      %s" % (i, texts[i][:80], expected[i][:24], got[i][:24]))
    return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("corpus", help="gather the test texts")
    c.add_argument("--shared", required=True, help="the shared data folder (<repo>/../shared/data)")
    c.add_argument("--output", required=True)
    c.add_argument("--max-mb", type=float, default=30.0,
                   help="cap on the output size in MB (1e6 bytes); adversarial texts and vectors always go in")
    c.add_argument("--wmt-lines", type=int, default=1000, help="lines taken from the start of each WMT file")
    e = sub.add_parser("encode", help="encode the texts with one oracle")
    e.add_argument("--kind", required=True, choices=["hf", "tiktoken-llama3", "sentencepiece"])
    e.add_argument("--tokenizer", required=True)
    e.add_argument("--input", required=True)
    e.add_argument("--output", required=True)
    e.add_argument("--no-special", action="store_true", help="no BOS / post-processor special tokens")
    e.add_argument("--keep-truncation", action="store_true",
                   help="hf: keep the tokenizer.json's truncation and padding (default: both off)")
    e.add_argument("--hf-check", default=None,
                   help="tiktoken-llama3: the tokenizer.json to cross-check against (default: ../hf/tokenizer.json "
                        "beside the tokenizer.model's folder; '' for none)")
    e.add_argument("--fallback-chars", type=int, default=0,
                   help="tiktoken-llama3: encode texts longer than this with HF tokenizers instead (0: never; "
                        "tiktoken 0.14 is linear, a 1,000,000-char single piece takes < 1 s)")
    v = sub.add_parser("vectors", help="compare llama.cpp's test vectors with the oracles")
    v.add_argument("--shared", required=True)
    v.add_argument("--show", type=int, default=3, help="mismatches shown per vector file and oracle")
    args = ap.parse_args()
    if args.cmd == "corpus":
        cmd_corpus(args)
    elif args.cmd == "encode":
        cmd_encode(args)
    else:
        sys.exit(cmd_vectors(args))


if __name__ == "__main__":
    main()
