#!/usr/bin/env python3
"""MMedBench prompts as the original scripts build them (MAGIC-AI4Med/MMedLM finetune/train.py `jsonl_load` and
inference/inference.py `read_jsonl` + `prepare_data`): the same f-strings and Alpaca template, standard library only.

Usage: bench_prompt_oracle.py DATASET_DIR SPLIT OUTPUT.jsonl

For every item of DATASET_DIR/<Split>/<Language>.jsonl (in file order) writes one line with the language, the line
number, the training records (with and without rationale: instruction, input, output) and the inference prompts
(with and without rationale) exactly as the originals format them.
"""
import json
import os
import sys

PROMPT_INPUT = (
    "Below is an instruction that describes a task, paired with an input that provides further context. "
    "Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:"
)


def main():
    root, split, output = sys.argv[1], sys.argv[2], sys.argv[3]
    folder = os.path.join(root, split)
    with open(output, "w", encoding="utf-8") as out:
        for name in ["English", "Chinese", "Japanese", "French", "Russian", "Spanish"]:
            path = os.path.join(folder, name + ".jsonl")
            if not os.path.exists(path):
                continue
            lang = os.path.basename(path).split(".")[0]
            for number, line in enumerate(open(path, encoding="utf-8"), 1):
                if not line.strip():
                    continue
                src = json.loads(line)
                question = src["question"]
                options = ""
                for key in src["options"].keys():
                    options += f"{key}. {src['options'][key]} "
                if isinstance(src["answer_idx"], str):
                    answer_id = src["answer_idx"]
                else:
                    answer_id = ",".join(src["answer_idx"])
                rationale = src["rationale"]
                train = [
                    {
                        "instruction": f"You're a {lang} doctor, kindly address the medical queries according to the patient's account in {lang}. Let’s solve this step-by-step. You should first give the reason in {lang} for your choice. Then you should give the right answer index of the question.",
                        "input": f"###Question: {question} Which of the following is the best treatment for this patient? ###Options: {options}",
                        "output": f"###Rationale: {rationale}\n###Answer: OPTION {answer_id} IS CORRECT.",
                    },
                    {
                        "instruction": f"You're a {lang} doctor, kindly address the medical queries according to the patient's account. Answer with the best option directly.",
                        "input": f"###Question: {question} Which of the following is the best treatment for this patient? ###Options: {options}",
                        "output": f"###Answer: OPTION {answer_id} IS CORRECT.",
                    },
                ]
                inference_instructions = [
                    f"You're a {lang} doctor, kindly address the medical queries according to the patient's account in {lang}. Let’s solve this step-by-step.  You should first give the reason in {lang} for your choice. Then you should give the right answer index of the question.",
                    f"You're a {lang} doctor, kindly address the medical queries according to the patient's account. Answer with the best option directly.",
                ]
                inference = [PROMPT_INPUT.format_map({"instruction": ins, "input": train[0]["input"]}) for ins in inference_instructions]
                out.write(json.dumps({"language": lang, "line": number, "train": train, "inference": inference}, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
