#!/usr/bin/env python3
"""Variant tokenizer.json files and their golden encodings, from HF `tokenizers` (0.23.3) alone.

Purpose: the three real tokenizer.json files in ../shared/data (Llama 3 byte-level BPE, Llama 2 BPE, BERT WordPiece)
use only a few of the components MMedTokenizers implements. This script builds variants of them with the
`tokenizers` Python API, swapping in every normalizer, pre-tokenizer, post-processor, decoder and added-token option
MMedTokenizers reads (and BPE models with a continuing-subword prefix, end-of-word suffix and byte fallback built
from BERT's vocabulary, for the model options the real files lack), and encodes a deterministic sample of the test
texts with each. It never looks at the Swift code. Two runs give byte-identical files.

Usage (from the repository root):

    python3 Tests/Oracles/tokenizer_variants.py generate --shared ../shared/data --output /tmp/variants
    python3 Tests/Oracles/tokenizer_variants.py golden --tokenizers /tmp/variants --texts /tmp/variants/texts.jsonl \\
        --output /tmp/variants

`generate` writes OUTDIR/NAME.json for each variant, OUTDIR/variants.json (the list: name, base, what it covers) and
OUTDIR/texts.jsonl (the sample: every --every-th text of tokenizer_oracle.py's corpus, every adversarial text of
at most 10,000 UTF-8 bytes, and the texts below that place the added tokens, digits, punctuation and whitespace runs).
`golden` writes OUTDIR/NAME.golden.jsonl, one `{"ids", "decode", "decode_skip"}` per text in order:
`encode(text, add_special_tokens=True).ids` with truncation and padding off, `decode(ids, skip_special_tokens=False)`
and `decode(ids, skip_special_tokens=True)`. Where HF panics while decoding (the Strip decoder indexes out of
bounds on a token made only of its character, see `strip-decoder`), the value is null and the panics are counted on
stderr. Files are UTF-8 with U+007F-U+009F, U+2028 and U+2029 written as \\uXXXX escapes, so records split on `\\n`.
"""
import argparse
import json
import os
import sys
import time


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tokenizer_oracle  # noqa: E402  (the corpus of the parity tests; the same JSON line format)

from tokenizers import AddedToken, Regex, Tokenizer  # noqa: E402
from tokenizers import decoders, normalizers, pre_tokenizers, processors  # noqa: E402

dumps = tokenizer_oracle.dumps
read_jsonl = tokenizer_oracle.read_jsonl
log = tokenizer_oracle.log

LLAMA3 = "llama3/hf/tokenizer.json"
LLAMA2 = "llama2/hf/tokenizer.json"
BERT = "bert-wordpiece/all-MiniLM-L6-v2/tokenizer.json"

# A regex none of MMedTokenizers' hand-written scanners implements: it runs on NSRegularExpression there.
WORDS_OR_DIGITS = r"\d+|[A-Za-z]+"
# Qwen2's pre-tokenizer regex (cl100k's with single digits): common in real files, and not one of our scanners.
QWEN2 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+"
         r"|\s+(?!\S)|\s+")

# ---------------------------------------------------------------------------------------------------------------
# Texts of our own: the added tokens of the variants in every position, and runs the components split on.
# ---------------------------------------------------------------------------------------------------------------
ADDED_CONTENTS = ["<med>", "[DOSE]", "patient", "mg/kg", "COVID-19", "q§z§x", "q§z", "z§x", "k§k", "<s>", "</s>",
                  "<|eot_id|>", "[MASK]", "▁dose", "Ġdose", "ab cd"]


def own_texts():
    out = []
    for c in ADDED_CONTENTS:
        for t in (c, "x" + c, c + "x", " " + c, c + " ", "  " + c + "  ", "a " + c + " b", "a" + c + "b",
                  "\u00a0" + c + "\u3000", "\t" + c + "\n", c + c, c + " " + c, "_" + c + "_", c + "\u200d",
                  "\u203f" + c, c + "\u00b2", "\u216b" + c, c + "\u0301", "The " + c + " received 5 mg/kg.",
                  c.upper(), c.lower(), c.title()):
            out.append(t)
    out += [
        "wq§z§x", "q§z§x_", "xq§zx", "q§z§xq§z§x", "q§z q§z§x z§x",
        "Call 555-0123 or 12345678901234567890 now; ٣٤٥ and １２３ and ²³ and ½ and Ⅻ and 一二三.",
        "!!!???...,,,;;;:::---___***", "a!b?c.d,e;f:g-h_i*j", "«quoted» “curly” ‘single’ — dash – en…",
        "a  b   c    d", "  leading", "trailing  ", "   ", " ", "", "\t\ttabs\tand\nnew\nlines\r\nwindows\r\n",
        "\n\n\nmany newlines\n\n", "mixed \t \n whitespace \u00a0 nbsp \u3000 ideographic \u2003 em",
        "Crème brûlée, naïve café, résumé, Ångström, São Paulo, Łódź, İstanbul, ſ", "e\u0301 a\u0300 o\u0308",
        "\u0301leading mark", "ＡＢＣ ｱｲｳ ﬁnance ﬂuid ㎏ ㍻ ℃ ™", "ΣΑΣ σας ς Straße STRASSE ß ẞ", "ǅemal ǈ ǋ",
        "中文文本和日本語のテキスト、한국어 텍스트。", "中a文b字c1２3", "😀 👍🏽 👨\u200d👩\u200d👧 🇫🇷",
        "the thesis then there the", "ee eee eeee e e", "theee the the", "1 22 333 4444 55555",
        "abc123def456", "x1y2z3", "COVID-19 IL-6 SARS-CoV-2 β-blocker 5 mg/kg q.i.d.", "don't won't it's I'm",
        "▁leading metaspace", "a▁b▁▁c", "ĠGdot Ġ", "<0x41> <0xZZ> <0x0A>", "##suffix ##", "</w> x</w>",
        "\x00\x01\x1f\x7f\u200b\ufeff\ufffd", "\u2028line\u2029para\u0085nel\u000bvt\u000cff",
        "tab\tafter", "a\u200cb\u200dc", "word\u00a0\u00a0word", " \u3000 ", "\ue000private\U000f0000",
    ]
    return [("own/added" if any(c in t for c in ADDED_CONTENTS) else "own/misc", t) for t in out]


def sample_texts(shared, every):
    """Of tokenizer_oracle.py's corpus, every adversarial text of at most 10,000 UTF-8 bytes and every `every`-th of
    the other texts; then our own texts; duplicates dropped, first wins."""
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "corpus.jsonl")
        tokenizer_oracle.cmd_corpus(argparse.Namespace(shared=shared, output=path, max_mb=30.0, wmt_lines=1000))
        records = list(read_jsonl(path))
    out, seen, index = [], set(), 0
    for r in records:
        if r["source"].startswith("adversarial/"):
            keep = len(r["text"].encode("utf-8")) <= 10_000
        else:
            keep = index % every == 0
            index += 1
        if keep and r["text"] not in seen:
            seen.add(r["text"])
            out.append((r["source"], r["text"]))
    for source, text in own_texts():
        if text not in seen:
            seen.add(text)
            out.append((source, text))
    return out


# ---------------------------------------------------------------------------------------------------------------
# The variants
# ---------------------------------------------------------------------------------------------------------------
class Bases:
    """The real files, each read once; `get` returns a fresh Tokenizer."""

    def __init__(self, shared):
        self.dir = os.path.join(shared, "tokenizers")
        self.json = {}

    def text(self, rel):
        if rel not in self.json:
            with open(os.path.join(self.dir, rel), encoding="utf-8") as f:
                self.json[rel] = f.read()
        return self.json[rel]

    def get(self, rel):
        tok = Tokenizer.from_str(self.text(rel))
        tok.no_truncation()
        tok.no_padding()
        return tok

    def spec(self, rel):
        return json.loads(self.text(rel))


def from_spec(spec):
    tok = Tokenizer.from_str(json.dumps(spec, ensure_ascii=False))
    tok.no_truncation()
    tok.no_padding()
    return tok


L2_PREPEND = [normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")]


def l2_decoder():
    return decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                              decoders.Strip(" ", 1, 0)])


def l2_normalized(bases, *steps):
    """Llama 2 with `steps` before its own Prepend("▁") + Replace(" ", "▁") normalizer."""
    tok = bases.get(LLAMA2)
    tok.normalizer = normalizers.Sequence(list(steps) + L2_PREPEND)
    return tok


def l2_pretokenized(bases, pre, decoder=None):
    """Llama 2's vocabulary (byte fallback: every text is representable) with no normalizer and pre-tokenizer `pre`."""
    tok = bases.get(LLAMA2)
    tok.normalizer = None
    tok.pre_tokenizer = pre
    tok.decoder = decoder or l2_decoder()
    return tok


def split_variant(bases, behavior, regex, string, punct_behavior):
    return l2_pretokenized(bases, pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(regex), behavior, invert=False),
        pre_tokenizers.Split(string, behavior, invert=True),
        pre_tokenizers.Punctuation(punct_behavior)]))


def metaspace_variant(bases, scheme, split, before=None, normalizer=None, added=False):
    tok = bases.get(LLAMA2)
    tok.normalizer = normalizer
    meta = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme=scheme, split=split)
    tok.pre_tokenizer = pre_tokenizers.Sequence([before, meta]) if before else meta
    tok.decoder = decoders.Sequence([decoders.Metaspace(replacement="▁", prepend_scheme=scheme, split=split),
                                     decoders.ByteFallback(), decoders.Fuse()])
    if added:
        tok.add_tokens([AddedToken("<med>", normalized=False), AddedToken("[DOSE]", special=True, normalized=False)])
    return tok


def l3(bases, pre, post=None, decoder=None, normalizer=None, ignore_merges=None):
    tok = bases.get(LLAMA3)
    tok.normalizer = normalizer
    tok.pre_tokenizer = pre
    if post is not None:
        tok.post_processor = post
    tok.decoder = decoder or decoders.ByteLevel()
    if ignore_merges is not None:
        tok.model.ignore_merges = ignore_merges
    return tok


def wordpiece_prefix(bases):
    """BERT's vocabulary with `##` renamed `@@`, words of at most 12 characters, and no cleanup when decoding."""
    spec = bases.spec(BERT)
    vocab = {("@@" + t[2:] if t.startswith("##") else t): i for t, i in spec["model"]["vocab"].items()}
    spec["model"].update(vocab=vocab, continuing_subword_prefix="@@", max_input_chars_per_word=12)
    tok = from_spec(spec)
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=False, strip_accents=True,
                                                lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(),
                                                 pre_tokenizers.Punctuation("contiguous")])
    tok.post_processor = processors.BertProcessing(("[SEP]", 102), ("[CLS]", 101))
    tok.decoder = decoders.WordPiece(prefix="@@", cleanup=False)
    return tok


def bert_template(bases):
    tok = bases.get(BERT)
    tok.normalizer = normalizers.Sequence([normalizers.NFD(), normalizers.Lowercase(), normalizers.StripAccents(),
                                           normalizers.Strip()])
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(single="$A [SEP] [MASK]", pair="$A [SEP] $B:1 [SEP]:1",
                                                       special_tokens=[("[SEP]", 102), ("[MASK]", 103)])
    tok.decoder = decoders.WordPiece(prefix="##", cleanup=True)
    return tok


def bert_added(bases):
    tok = bases.get(BERT)
    tok.add_tokens([AddedToken("COVID-19", normalized=True, single_word=True),   # matched as "covid-19"
                    AddedToken("mg/kg", normalized=True, rstrip=True),
                    AddedToken("[DOSE]", normalized=False, lstrip=True, rstrip=True)])
    tok.add_special_tokens([AddedToken("<med>", normalized=False, special=True, single_word=True),
                            AddedToken("Patient", normalized=True, special=True)])   # "patient" after lowercasing
    return tok


def l2_added(bases):
    tok = bases.get(LLAMA2)
    tok.add_tokens([AddedToken("patient", single_word=True, normalized=True),   # matched as "▁patient"
                    AddedToken("mg/kg", normalized=True, lstrip=True),
                    AddedToken("q§z§x", single_word=True, normalized=False),
                    AddedToken("q§z", normalized=False),
                    AddedToken("z§x", normalized=False),
                    AddedToken("ab cd", normalized=False, rstrip=True)])
    tok.add_special_tokens([AddedToken("<med>", special=True, normalized=False, lstrip=True),
                            AddedToken("[DOSE]", special=True, normalized=True, rstrip=True),
                            AddedToken("k§k", special=True, normalized=False, single_word=True, lstrip=True,
                                       rstrip=True)])
    return tok


def l3_added(bases):
    tok = bases.get(LLAMA3)
    tok.add_tokens([AddedToken("<med>", lstrip=True, rstrip=True, normalized=False),
                    AddedToken("Ġdose", normalized=False),
                    AddedToken("ab cd", normalized=True),
                    AddedToken("mg/kg", single_word=True, normalized=False)])
    tok.add_special_tokens([AddedToken("[DOSE]", special=True, normalized=False, lstrip=True),
                            AddedToken("▁dose", special=True, normalized=True, single_word=True)])
    return tok


def bpe_from_wordpiece(bases, suffix=None, **options):
    """A BPE model with continuing_subword_prefix `##` (and `suffix` as end_of_word_suffix) built from BERT's
    vocabulary, deterministically (tokenizers' BpeTrainer breaks ties differently from run to run): every token,
    with `suffix` appended too when given, and for each token of two or more characters the merge (all but its last
    character, its last character as a continuation), ranked by length, then by BERT id."""
    vocab = dict(bases.spec(BERT)["model"]["vocab"])
    words = [t for t in sorted(vocab, key=vocab.get) if not (t.startswith("[") and t.endswith("]"))]
    if suffix:
        for t in words:
            vocab.setdefault(t + suffix, len(vocab))
    merges = []
    for token, index in sorted(vocab.items(), key=lambda x: x[1]):
        if token.startswith("[") and token.endswith("]"):
            continue
        end = bool(suffix) and token.endswith(suffix) and token != suffix
        body = token[:-len(suffix)] if end else token
        continuation = body.startswith("##") and len(body) > 2
        if continuation:
            body = body[2:]
        if len(body) < 2:
            continue
        left = ("##" if continuation else "") + body[:-1]
        right = "##" + body[-1] + (suffix if end else "")
        if left in vocab and right in vocab:
            merges.append((len(body), index, left, right))
    merges.sort()
    model = {"type": "BPE", "dropout": None, "unk_token": "[UNK]", "continuing_subword_prefix": "##",
             "end_of_word_suffix": suffix, "fuse_unk": options.get("fuse_unk", False), "byte_fallback": False,
             "ignore_merges": False, "vocab": vocab, "merges": [[m[2], m[3]] for m in merges]}
    spec = bases.spec(BERT)
    spec.update(model=model, normalizer=None, pre_tokenizer={"type": "Whitespace"}, post_processor=None, decoder=None)
    return from_spec(spec)


def with_byte_tokens(tok, byte_range, byte_fallback=True, fuse_unk=None):
    """`tok` with `<0xNN>` vocabulary entries (model vocabulary, not added tokens) for the bytes in byte_range."""
    spec = json.loads(tok.to_str())
    vocab = spec["model"]["vocab"]
    for b in byte_range:
        vocab.setdefault("<0x%02X>" % b, len(vocab))
    spec["model"]["byte_fallback"] = byte_fallback
    if fuse_unk is not None:
        spec["model"]["fuse_unk"] = fuse_unk
    return from_spec(spec)


def variants(bases):
    """[(name, base, covers, builder)]."""
    def bpe_prefix_suffix():
        tok = bpe_from_wordpiece(bases, suffix="</w>", fuse_unk=True)
        tok.normalizer = normalizers.Lowercase()
        tok.decoder = decoders.Sequence([decoders.WordPiece(prefix="##", cleanup=False),
                                         decoders.Replace("</w>", " "), decoders.Strip(" ", 0, 1)])
        tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
                                                           special_tokens=[("[CLS]", 101), ("[SEP]", 102)])
        return tok

    def bpe_bytefallback(ascii_only):
        tok = with_byte_tokens(bpe_from_wordpiece(bases), range(0x80) if ascii_only else range(256),
                               fuse_unk=True if ascii_only else False)
        tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Whitespace(), pre_tokenizers.Digits(False)])
        tok.decoder = decoders.Sequence([decoders.ByteFallback(), decoders.WordPiece(prefix="##", cleanup=True)])
        return tok

    return [
        # normalizers, on Llama 2 (byte fallback, so the ids spell the normalized text exactly)
        ("norm-nfc", "llama2", "NFC", lambda: l2_normalized(bases, normalizers.NFC())),
        ("norm-nfd", "llama2", "NFD", lambda: l2_normalized(bases, normalizers.NFD())),
        ("norm-nfkc-lowercase-stripaccents", "llama2", "Sequence[NFKC, Lowercase, StripAccents]",
         lambda: l2_normalized(bases, normalizers.NFKC(), normalizers.Lowercase(), normalizers.StripAccents())),
        ("norm-nfkd-stripaccents", "llama2", "NFKD, StripAccents",
         lambda: l2_normalized(bases, normalizers.NFKD(), normalizers.StripAccents())),
        ("norm-strip-left", "llama2", "Strip left only",
         lambda: l2_normalized(bases, normalizers.Strip(left=True, right=False))),
        ("norm-strip-right-replace-regex", "llama2", "Strip right only, Replace with a regex (\\s+ -> space)",
         lambda: l2_normalized(bases, normalizers.Strip(left=False, right=True),
                               normalizers.Replace(Regex(r"\s+"), " "))),
        ("norm-replace-prepend", "llama2", "Replace with a string and with a regex, Prepend of two characters",
         lambda: _norm_replace_prepend(bases)),
        ("norm-bert-options", "llama2", "BertNormalizer without lowercase, strip_accents true, no CJK padding",
         lambda: l2_normalized(bases, normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=False,
                                                                 strip_accents=True, lowercase=False))),
        # Split: each behavior, invert false (regex) and true (string), then Punctuation with another behavior
        ("split-removed", "llama2", "Split regex \\d+|[A-Za-z]+ / string 'e' Removed; Punctuation Isolated",
         lambda: split_variant(bases, "removed", WORDS_OR_DIGITS, "e", "isolated")),
        ("split-isolated", "llama2", "Split regex \\s+ / string 'the' Isolated; Punctuation MergedWithPrevious",
         lambda: split_variant(bases, "isolated", r"\s+", "the", "merged_with_previous")),
        ("split-merged-with-previous", "llama2",
         "Split regex \\d+|[A-Za-z]+ / string ' ' MergedWithPrevious; Punctuation MergedWithNext",
         lambda: split_variant(bases, "merged_with_previous", WORDS_OR_DIGITS, " ", "merged_with_next")),
        ("split-merged-with-next", "llama2", "Split regex [0-9]+ / string 'e' MergedWithNext; Punctuation Contiguous",
         lambda: split_variant(bases, "merged_with_next", r"[0-9]+", "e", "contiguous")),
        ("split-contiguous", "llama2", "Split regex \\s / string 'e' Contiguous; Punctuation Removed",
         lambda: split_variant(bases, "contiguous", r"\s", "e", "removed")),
        # the other pre-tokenizers
        ("pre-whitespace-digits", "llama2", "Whitespace, Digits (individual false)",
         lambda: l2_pretokenized(bases, pre_tokenizers.Sequence([pre_tokenizers.Whitespace(),
                                                                 pre_tokenizers.Digits(individual_digits=False)]))),
        ("pre-whitespacesplit-digits-individual", "llama2", "WhitespaceSplit, Digits (individual true)",
         lambda: l2_pretokenized(bases, pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(),
                                                                 pre_tokenizers.Digits(individual_digits=True)]))),
        ("pre-bert-cased", "llama2", "BertPreTokenizer without a normalizer (cased)",
         lambda: l2_pretokenized(bases, pre_tokenizers.BertPreTokenizer())),
        # Metaspace (pre-tokenizer and decoder), on Llama 2's ▁ vocabulary
        ("metaspace-always-split", "llama2", "Metaspace prepend_scheme always, split true; decoder Metaspace",
         lambda: metaspace_variant(bases, "always", True)),
        ("metaspace-first-nosplit", "llama2", "Metaspace first, split false, with added tokens between segments",
         lambda: metaspace_variant(bases, "first", False, added=True)),
        ("metaspace-never-split", "llama2", "Metaspace never, split true",
         lambda: metaspace_variant(bases, "never", True)),
        ("metaspace-first-after-split", "llama2",
         "Sequence[WhitespaceSplit, Metaspace first split true]: only the piece at offset 0 gets the prefix",
         lambda: metaspace_variant(bases, "first", True, before=pre_tokenizers.WhitespaceSplit(), added=True)),
        ("metaspace-first-normalized", "llama2",
         "Metaspace first after normalizers that drop or add text at the start (BertNormalizer clean-up and accents, "
         "Strip left, Replace at ^) and a Digits split",
         lambda: metaspace_variant(bases, "first", True, before=pre_tokenizers.Digits(individual_digits=False),
                                   normalizer=normalizers.Sequence([
                                       normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True,
                                                                  strip_accents=True, lowercase=False),
                                       normalizers.Strip(left=True, right=False),
                                       normalizers.Replace(Regex(r"^[0-9]{2}"), "#")]), added=True)),
        ("metaspace-first-prepend", "llama2",
         "Metaspace first after a Prepend normalizer and a Punctuation split (the inserted text keeps the start's "
         "alignment)",
         lambda: metaspace_variant(bases, "first", False, before=pre_tokenizers.Punctuation("isolated"),
                                   normalizer=normalizers.Sequence([normalizers.NFKD(), normalizers.Lowercase(),
                                                                    normalizers.Prepend("»")]))),
        # ByteLevel, on Llama 3
        ("bytelevel-prefix-regex", "llama3", "ByteLevel add_prefix_space true, use_regex true; RobertaProcessing",
         lambda: l3(bases, pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True),
                    post=processors.RobertaProcessing(("<|end_of_text|>", 128001), ("<|begin_of_text|>", 128000)))),
        ("bytelevel-noprefix-noregex-nfc", "llama3",
         "NFC normalizer, ByteLevel add_prefix_space false, use_regex false (whole text one word)",
         lambda: l3(bases, pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
                    normalizer=normalizers.NFC())),
        ("bytelevel-split-prefix-ignore-merges", "llama3",
         "Split regex \\d+|[A-Za-z]+|\\s+ Isolated, ByteLevel add_prefix_space true use_regex false; ignore_merges "
         "true; post Sequence[ByteLevel, TemplateProcessing with a suffix]",
         lambda: l3(bases, pre_tokenizers.Sequence([
             pre_tokenizers.Split(Regex(r"\d+|[A-Za-z]+|\s+"), "isolated"),
             pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=False)]),
             post=processors.Sequence([processors.ByteLevel(trim_offsets=False),
                                       processors.TemplateProcessing(
                                           single="<|begin_of_text|> $A <|eot_id|>",
                                           special_tokens=[("<|begin_of_text|>", 128000), ("<|eot_id|>", 128009)])]),
             ignore_merges=True)),
        ("bytelevel-then-split", "llama3",
         "Lowercase; Sequence[ByteLevel use_regex true, Split 'Ġ' MergedWithNext, Digits individual]: the steps after "
         "ByteLevel see its characters (Ġ), not the bytes",
         lambda: l3(bases, pre_tokenizers.Sequence([
             pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
             pre_tokenizers.Split("Ġ", "merged_with_next"), pre_tokenizers.Digits(individual_digits=True)]),
             normalizer=normalizers.Lowercase())),
        # WordPiece
        ("wordpiece-prefix-maxchars", "bert",
         "WordPiece prefix @@, max_input_chars_per_word 12; BertNormalizer options; WhitespaceSplit, Punctuation "
         "Contiguous; BertProcessing; decoder WordPiece @@ cleanup false",
         lambda: wordpiece_prefix(bases)),
        ("wordpiece-template-suffix", "bert",
         "Sequence[NFD, Lowercase, StripAccents, Strip]; TemplateProcessing $A [SEP] [MASK]; WordPiece cleanup",
         lambda: bert_template(bases)),
        # BPE options, on BPE models built from BERT's vocabulary
        ("bpe-prefix-suffix-unk", "bert-bpe",
         "BPE continuing_subword_prefix ##, end_of_word_suffix </w>, unk + fuse_unk; Lowercase; decoders "
         "WordPiece, Replace, Strip stop 1; TemplateProcessing",
         bpe_prefix_suffix),
        ("bpe-bytefallback-prefix", "bert-bpe",
         "BPE byte_fallback (all 256 bytes) with continuing_subword_prefix ##, unk without fuse; Whitespace, Digits",
         lambda: bpe_bytefallback(False)),
        ("bpe-bytefallback-partial", "bert-bpe",
         "BPE byte_fallback with <0x00>-<0x7F> only: other characters fall to a fused unk",
         lambda: bpe_bytefallback(True)),
        # regular expressions that run on NSRegularExpression in MMedTokenizers
        ("regex-qwen2", "llama3", "Qwen2's split regex (\\p{N} singly) with ByteLevel",
         lambda: l3(bases, pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(QWEN2), "isolated"),
                                                    pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]))),
        ("regex-oniguruma-dialect", "llama2",
         "Split regexes whose meaning differs between Oniguruma and ICU: ^ and $ at each \\n, . and \\r, \\w with ², "
         "\\h (hex digit), [[:punct:]] (with symbols), (?m) (dot-all), \\p{^L}",
         lambda: l2_pretokenized(bases, pre_tokenizers.Sequence([
             pre_tokenizers.Split(Regex(r"^\s*\w+|\w+\s*$"), "isolated"),
             pre_tokenizers.Split(Regex(r"[[:punct:]]+|\h{2,}"), "merged_with_next"),
             pre_tokenizers.Split(Regex(r"(?m)\S.{0,3}|\p{^L}{4}"), "isolated")]))),
        ("regex-empty-matches", "llama2",
         "empty matches: Split (?=\\p{Lu}) Isolated, a* MergedWithPrevious, \\b Isolated; normalizer Replace of an "
         "empty match (?<=\\d)(?=\\d)",
         lambda: _empty_matches(bases)),
        # decoders
        ("strip-decoder", "llama2",
         "decoder Sequence[Replace, ByteFallback, Strip 'e' start 1 stop 2 (per token), Fuse]; post Sequence[Template, "
         "Bert] (Bert sees the template's pieces as pair sequences)",
         lambda: _strip_decoder(bases)),
        # added tokens
        ("added-llama2", "llama2",
         "added tokens: lstrip, rstrip, single_word, normalized true/false, special true/false (Prepend normalizer)",
         lambda: l2_added(bases)),
        ("added-llama3", "llama3", "added tokens on byte-level BPE, no normalizer",
         lambda: l3_added(bases)),
        ("added-bert", "bert", "added tokens normalized by BertNormalizer (lowercased), single_word, strips",
         lambda: bert_added(bases)),
    ]


def _norm_replace_prepend(bases):
    tok = bases.get(LLAMA2)
    tok.normalizer = normalizers.Sequence([
        normalizers.Replace("the", "THE"), normalizers.Replace(Regex(r"[0-9]{2,}"), "#"),
        # (A replacement must keep the added tokens' normalized forms apart: when two collide, HF matches either
        # one, differently from run to run.)
        normalizers.Replace(Regex(r"[aeiou]{2}|\s(?=\s)"), "~"),
        normalizers.Prepend("»▁"), normalizers.Replace(" ", "▁")])
    return tok


def _empty_matches(bases):
    tok = l2_pretokenized(bases, pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r"(?=\p{Lu})"), "isolated"), pre_tokenizers.Split(Regex(r"a*"), "merged_with_previous"),
        pre_tokenizers.Split(Regex(r"\b"), "isolated")]))
    tok.normalizer = normalizers.Replace(Regex(r"(?<=\d)(?=\d)"), "_")
    return tok


def _strip_decoder(bases):
    tok = bases.get(LLAMA2)
    # Strip on each token: HF panics on a token made only of e's (null in the golden file).
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Strip("e", 1, 2),
                                     decoders.Fuse()])
    tok.post_processor = processors.Sequence([
        processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 1)]),
        processors.BertProcessing(("</s>", 2), ("<unk>", 0))])
    return tok


def cmd_generate(args):
    started = time.time()
    os.makedirs(args.output, exist_ok=True)
    texts = sample_texts(args.shared, args.every)
    with open(os.path.join(args.output, "texts.jsonl"), "w", encoding="utf-8", newline="\n") as f:
        for source, text in texts:
            f.write(dumps({"source": source, "text": text}) + "\n")
    sampled = time.time()
    log("generate: %d texts (%d bytes) in %.1f s" % (len(texts), sum(len(t.encode()) for _, t in texts),
                                                      sampled - started))
    bases = Bases(args.shared)
    manifest = []
    for name, base, covers, build in variants(bases):
        if args.only and name not in args.only:
            continue
        t0 = time.time()
        tok = build()
        path = os.path.join(args.output, name + ".json")
        tok.save(path, pretty=False)
        manifest.append({"name": name, "base": base, "covers": covers})
        log("  %-40s %5.2f s %10d bytes" % (name, time.time() - t0, os.path.getsize(path)))
    with open(os.path.join(args.output, "variants.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, ensure_ascii=False, indent=1)
    log("generate: %d variants, total %.1f s" % (len(manifest), time.time() - started))


class QuietStderr:
    """Sends file descriptor 2 to /dev/null: Rust prints each panic (and its backtrace) there."""

    def __enter__(self):
        sys.stderr.flush()
        self.saved = os.dup(2)
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 2)
        os.close(null)

    def __exit__(self, *exc):
        os.dup2(self.saved, 2)
        os.close(self.saved)


def decode_all(tok, ids, skip):
    """decode_batch, or per sequence with None where HF panics."""
    try:
        with QuietStderr():
            return tok.decode_batch(ids, skip_special_tokens=skip), 0
    except BaseException as error:   # pyo3's PanicException derives from BaseException
        if isinstance(error, (KeyboardInterrupt, SystemExit)):
            raise
    out, panics = [], 0
    with QuietStderr():
        for x in ids:
            try:
                out.append(tok.decode(x, skip_special_tokens=skip))
            except BaseException as error:
                if isinstance(error, (KeyboardInterrupt, SystemExit)):
                    raise
                out.append(None)
                panics += 1
    return out, panics


def cmd_golden(args):
    started = time.time()
    texts = [r["text"] for r in read_jsonl(args.texts)]
    with open(os.path.join(args.tokenizers, "variants.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    os.makedirs(args.output, exist_ok=True)
    manifest = [entry for entry in manifest if not args.only or entry["name"] in args.only]
    for entry in manifest:
        t0 = time.time()
        tok = Tokenizer.from_file(os.path.join(args.tokenizers, entry["name"] + ".json"))
        tok.no_truncation()
        tok.no_padding()
        ids = [e.ids for e in tok.encode_batch(texts, add_special_tokens=True)]
        decoded, panics = decode_all(tok, ids, False)
        skipped, panics_skip = decode_all(tok, ids, True)
        path = os.path.join(args.output, entry["name"] + ".golden.jsonl")
        with open(path + ".tmp", "w", encoding="utf-8", newline="\n") as f:
            for i in range(len(texts)):
                f.write(dumps({"ids": ids[i], "decode": decoded[i], "decode_skip": skipped[i]}) + "\n")
        os.replace(path + ".tmp", path)
        log("  %-40s %5.2f s %9d tokens%s" % (entry["name"], time.time() - t0, sum(map(len, ids)),
                                              "; HF panicked decoding %d / %d (skip) texts: null" % (panics, panics_skip)
                                              if panics or panics_skip else ""))
    log("golden: %d texts, %d variants, total %.1f s" % (len(texts), len(manifest), time.time() - started))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate", help="write the variant tokenizer.json files and the text sample")
    g.add_argument("--shared", required=True, help="the shared data folder (<repo>/../shared/data)")
    g.add_argument("--output", required=True)
    g.add_argument("--every", type=int, default=100, help="take every N-th corpus text (adversarial ones: all)")
    g.add_argument("--only", nargs="*", help="only these variants")
    o = sub.add_parser("golden", help="encode and decode the texts with each variant")
    o.add_argument("--tokenizers", required=True, help="the folder `generate` wrote")
    o.add_argument("--texts", required=True)
    o.add_argument("--output", required=True)
    o.add_argument("--only", nargs="*", help="only these variants")
    args = ap.parse_args()
    if args.cmd == "generate":
        cmd_generate(args)
    else:
        cmd_golden(args)


if __name__ == "__main__":
    main()
