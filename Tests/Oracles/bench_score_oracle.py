#!/usr/bin/env python3
"""The original MMedBench scoring (MAGIC-AI4Med/MMedLM metrics/accuracy.py and metrics/rationale_similarity.py),
re-run item by item with the packages it imports (nltk, rouge 1.0.1, jieba, janome; pinned in requirements.txt), to
check `mmed bench score --mode published` and to time the Python side on the same results file.

  bench_score_oracle.py generate OUTPUT.jsonl [--items N]   a results JSONL file of N items over the six languages,
        built from real text in ../shared/data/qa (references: PubMedQA long answers for English, question text for
        the others; responses: perturbed copies, other items' text, empty and malformed answers, several end tokens)
  bench_score_oracle.py score RESULTS.jsonl GOLDEN.jsonl    per-item accuracy, BLEU-1, BLEU-4, ROUGE-1/2/L F as the
        published scripts compute them (ROUGE null where the package raises); prints the seconds taken
"""
import json
import os
import random
import sys
import time

sys.setrecursionlimit(100000)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_metrics_oracle as metrics  # noqa: E402

LANGS = ["en", "zh", "ja", "fr", "ru", "es"]
END_TOKENS = ["</s>", "</s>", "</s>", "<|eot_id|>", ""]


def generate(output, count):
    rng = random.Random(8518)
    long_answers, texts = metrics.load_texts()
    references = {"en": long_answers}
    for lang in LANGS[1:]:
        references[lang] = texts[lang]
    with open(output, "w", encoding="utf-8") as out:
        for i in range(count):
            lang = LANGS[i % len(LANGS)]
            pool = references[lang]
            reference = pool[(i // len(LANGS)) % len(pool)]
            keys = ["A", "B", "C", "D", "E"]
            gold = [rng.choice(keys)] if rng.random() < 0.85 else sorted(rng.sample(keys, 2))
            kind = rng.randrange(10)
            if kind < 6:
                rationale = metrics.perturb(reference, rng, lang)
            elif kind < 8:
                rationale = pool[rng.randrange(len(pool))]
            elif kind == 8:
                rationale = ""
            else:
                rationale = reference
            answer = gold if rng.random() < 0.6 else [rng.choice(keys)]
            end = rng.choice(END_TOKENS)
            if rng.random() < 0.05:
                response = ""
            elif rng.random() < 0.2:
                response = "###Answer: OPTION %s IS CORRECT.%s" % (",".join(answer), end)
            else:
                response = "###Rationale: %s\n###Answer: OPTION %s IS CORRECT.%s" % (rationale, ",".join(answer), end)
            out.write(json.dumps({
                "id": "%s-%d" % (lang, i), "language": lang, "mode": "rationale", "prompt": "",
                "response": response, "gold": gold, "options": keys, "reference_rationale": reference,
                "human_check_passed": True, "model": "oracle-perturbed", "backend": "oracle",
            }, ensure_ascii=False) + "\n")


def score(results_path, golden_path):
    metrics.install_punkt_english()
    from nltk.tokenize import word_tokenize
    from nltk.translate.bleu_score import sentence_bleu, SmoothingFunction
    from rouge import Rouge
    import jieba
    from janome.tokenizer import Tokenizer
    jieba.setLogLevel(60)
    jieba.initialize()
    janome = Tokenizer()
    rows = [json.loads(line) for line in open(results_path, encoding="utf-8")]
    start = time.time()
    out = []
    for row in rows:
        lang = row["language"]
        # inference.py: response.replace("\n", "") into the res.txt line, then line.strip() in the metric scripts.
        response = row["response"].replace("\n", "").strip()
        gt_answer = ",".join(row["gold"])
        gt_rationale = row["reference_rationale"]
        # accuracy.py
        answer = response.replace("###Answer: OPTION ", "").replace("IS CORRECT.</s>", "").strip()
        if len(gt_answer) == 1:
            correct = answer == gt_answer
        else:
            correct = set(answer.split(",")) == set(gt_answer.split(","))
        # rationale_similarity.py
        response_rationale = response.split("###Answer: OPTION ")[0].replace("###Rationale: ", "").strip()
        if lang in ("en", "es", "fr", "ru"):
            reference_tokenized = word_tokenize(gt_rationale)
            candidate_tokenized = word_tokenize(response_rationale)
        elif lang == "zh":
            reference_tokenized = list(jieba.cut(gt_rationale))
            candidate_tokenized = list(jieba.cut(response_rationale))
        else:
            reference_tokenized = [t.surface for t in janome.tokenize(gt_rationale)]
            candidate_tokenized = [t.surface for t in janome.tokenize(response_rationale)]
        smoothie = SmoothingFunction().method1
        bleu4 = sentence_bleu([reference_tokenized], candidate_tokenized, smoothing_function=smoothie)
        bleu1 = sentence_bleu([reference_tokenized], candidate_tokenized, smoothing_function=smoothie, weights=(1, 0, 0, 0))
        hyp, ref = response_rationale, gt_rationale
        if lang in ("zh", "ja"):
            hyp, ref = " ".join(candidate_tokenized), " ".join(reference_tokenized)
        try:
            scores = Rouge().get_scores(hyp, ref)[0]
            rouge = [scores["rouge-1"]["f"], scores["rouge-2"]["f"], scores["rouge-l"]["f"]]
        except ValueError:
            rouge = [None, None, None]
        out.append({"id": row["id"], "correct": correct, "bleu1": float(bleu1), "bleu4": float(bleu4),
                    "rouge1_f": rouge[0], "rouge2_f": rouge[1], "rougeL_f": rouge[2]})
    seconds = time.time() - start
    with open(golden_path, "w", encoding="utf-8") as f:
        for row in out:
            f.write(json.dumps(row) + "\n")
    print("%.3f" % seconds)


def main():
    if sys.argv[1] == "generate":
        count = int(sys.argv[sys.argv.index("--items") + 1]) if "--items" in sys.argv else 600
        generate(sys.argv[2], count)
    else:
        score(sys.argv[2], sys.argv[3])


if __name__ == "__main__":
    main()
