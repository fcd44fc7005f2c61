#!/usr/bin/env python3
"""Exact-match accuracy of IgakuQA's baseline_results (GPT-4, ChatGPT, GPT-3, student majority), computed directly
from the upstream files with the standard library, independently of MMedKit.

Usage: igakuqa_baseline_oracle.py IGAKUQA_DIR OUTPUT.json

A question counts when it is text-only and has choices (the questions `mmed bench import --source igakuqa` keeps by
default). A prediction is correct when its comma-separated letters (each stripped, lower-cased) are exactly the set of
the answer's letters. Writes {model: {"items": n, "correct": c}}.
"""
import glob
import json
import os
import sys


def main():
    root, output = sys.argv[1], sys.argv[2]
    questions = {}
    for path in glob.glob(os.path.join(root, "data", "*", "*.jsonl")):
        if "_" in os.path.basename(path):
            continue
        with open(path, encoding="utf-8") as f:
            for line in f:
                q = json.loads(line)
                questions[q["problem_id"]] = q
    results = {}
    for model in ["gpt4", "chatgpt", "gpt3", "student-majority"]:
        items = correct = 0
        for path in sorted(glob.glob(os.path.join(root, "baseline_results", "*", "*_%s.jsonl" % model))):
            with open(path, encoding="utf-8") as f:
                for line in f:
                    p = json.loads(line)
                    q = questions[p["problem_id"]]
                    if not q["text_only"] or not q["choices"]:
                        continue
                    items += 1
                    predicted = {piece.strip().lower() for piece in p["prediction"].split(",")}
                    correct += predicted == set(q["answer"])
        results[model] = {"items": items, "correct": correct}
    with open(output, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
