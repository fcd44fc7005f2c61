#!/usr/bin/env python3
"""MMedLM's SFT preprocessing (MAGIC-AI4Med/MMedLM finetune/train.py @ e11d2ef, `jsonl_load`, `SupervisedDataset`,
`_tokenize_fn`, `preprocess`) re-run with the Hugging Face tokenizer classes, for golden token ids and labels.

Usage: sft_preprocess_oracle.py DATASET_DIR SPLIT TOKENIZER MAX_LENGTH OUTPUT.jsonl

TOKENIZER is
- a folder with `tokenizer.json` (+ `tokenizer_config.json`): loaded as the original loads it,
  `AutoTokenizer.from_pretrained(path, model_max_length=MAX_LENGTH, use_fast=False)` (Llama 3 has only a fast
  tokenizer, so this gives the `tokenizers`-backed class, as it did in transformers 4);
- a SentencePiece `tokenizer.model` (Llama 2): the original's `use_fast=False` gave transformers 4's slow
  `LlamaTokenizer` (sentencepiece, `add_bos_token=True`, `add_eos_token=False`, bos `<s>`, eos `</s>`, unk `<unk>`,
  no pad). transformers 5 replaced that class with a `tokenizers`-backed one; its slow machinery survives as
  `SentencePieceBackend` (the added-token trie, `sp_model.encode`, truncation counting special tokens), which we
  subclass with the slow `LlamaTokenizer`'s `build_inputs_with_special_tokens` (BOS before the ids).

For every item of DATASET_DIR/<Split>/<Language>.jsonl the original makes two records (with rationale, even an empty
one, and without), formats the Alpaca `prompt_input` as the source and `output + tokenizer.eos_token` as the target,
tokenizes `source` and `source + target` separately (`padding="longest"`, `max_length=model_max_length`,
`truncation=True`), and sets the labels of the first `len(source ids without pad)` positions to -100. We write one
line per record, in file order (the original then shuffles; order does not enter the ids):
  {"language", "id", "form", "input_ids", "labels", "full_length", "source_length", "boundary_ok"}
where `full_length` and `source_length` are the lengths without truncation (so a test can tell which examples a
length limit removes) and `boundary_ok` says whether the untruncated example starts with the source's ids.

Deviation needed to run at all: with a tokenizer that has no pad token (Llama 2; Llama 3 8B's own config), the
original's `padding="longest"` raises "Asking to pad but the tokenizer does not have a padding token". We then set
`pad_token = eos_token` (the usual fix); padding a single text adds nothing, and the source never holds the EOS, so
`ne(pad_token_id).sum()` is the source's length, which we assert. The original asks for `return_tensors="pt"`; we ask
for numpy arrays, which hold the same ids (torch is not needed).
"""
import json
import os
import sys

import numpy as np
from transformers import AutoTokenizer, SentencePieceBackend

IGNORE_INDEX = -100
PROMPT_INPUT = (
    "Below is an instruction that describes a task, paired with an input that provides further context. "
    "Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:"
)
PROMPT_NO_INPUT = (
    "Below is an instruction that describes a task. "
    "Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{instruction}\n\n### Response:"
)


class SlowLlamaTokenizer(SentencePieceBackend):
    """transformers 4's slow LlamaTokenizer as loaded for Llama 2: BOS added, no EOS."""

    def build_inputs_with_special_tokens(self, token_ids_0, token_ids_1=None):
        output = [self.bos_token_id] + token_ids_0
        if token_ids_1 is not None:
            output = output + [self.bos_token_id] + token_ids_1
        return output


def load_tokenizer(path, max_length):
    if os.path.isdir(path):
        return AutoTokenizer.from_pretrained(path, model_max_length=max_length, use_fast=False)
    return SlowLlamaTokenizer(vocab_file=path, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                              model_max_length=max_length, legacy=True)


def records(root, split):
    """jsonl_load, without its shuffle: both records of every item, in file order."""
    folder = os.path.join(root, split)
    for name in ["English", "Chinese", "Japanese", "French", "Russian", "Spanish"]:
        path = os.path.join(folder, name + ".jsonl")
        if not os.path.exists(path):
            continue
        lang = os.path.basename(path).split(".")[0]
        with open(path, "r", encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                src = json.loads(line)
                question = src["question"]
                options = ""
                for key in src["options"].keys():
                    options += f"{key}. {src['options'][key]} "
                if isinstance(src["answer_idx"], str):
                    answer_id = src["answer_idx"]
                elif isinstance(src["answer_idx"], list):
                    answer_id = ",".join(src["answer_idx"])
                rationale = src["rationale"]
                yield lang, src["id"], "rationale", {
                    "instruction": f"You're a {lang} doctor, kindly address the medical queries according to the patient's account in {lang}. Let’s solve this step-by-step. You should first give the reason in {lang} for your choice. Then you should give the right answer index of the question.",
                    "input": f"###Question: {question} Which of the following is the best treatment for this patient? ###Options: {options}",
                    "output": f"###Rationale: {rationale}\n###Answer: OPTION {answer_id} IS CORRECT.",
                }
                yield lang, src["id"], "direct", {
                    "instruction": f"You're a {lang} doctor, kindly address the medical queries according to the patient's account. Answer with the best option directly.",
                    "input": f"###Question: {question} Which of the following is the best treatment for this patient? ###Options: {options}",
                    "output": f"###Answer: OPTION {answer_id} IS CORRECT.",
                }


def tokenize(tokenizer, text, truncate=True):
    """One string of `_tokenize_fn`: its ids and its length without pad tokens."""
    if truncate:
        tokenized = tokenizer(text, return_tensors="np", padding="longest", max_length=tokenizer.model_max_length, truncation=True)
    else:
        tokenized = tokenizer(text, return_tensors="np")
    ids = tokenized.input_ids[0]
    return ids, int(np.not_equal(tokenized.input_ids, tokenizer.pad_token_id).sum())


def main():
    root, split, tokenizer_path, max_length, output = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
    tokenizer = load_tokenizer(tokenizer_path, max_length)
    pad_was_missing = tokenizer.pad_token is None
    if pad_was_missing:
        tokenizer.pad_token = tokenizer.eos_token
    special_texts = [t for t in tokenizer.all_special_tokens]
    count = tokens = 0
    with open(output, "w", encoding="utf-8") as out:
        for lang, item_id, form, example in records(root, split):
            source = PROMPT_INPUT.format_map(example) if example.get("input", "") != "" else PROMPT_NO_INPUT.format_map(example)
            target = f"{example['output']}{tokenizer.eos_token}"
            for text in (source, example["output"]):
                for special in special_texts:
                    if special in text:
                        sys.exit(f"{item_id} {form}: the text holds the special token {special!r}; the oracle does not cover that")
            # preprocess(sources, targets, tokenizer)
            example_ids, _ = tokenize(tokenizer, source + target)
            source_ids, source_len = tokenize(tokenizer, source)
            assert source_len == len(source_ids), f"{item_id}: the source holds the pad id"
            input_ids = example_ids
            labels = input_ids.copy()
            labels[:source_len] = IGNORE_INDEX
            # Lengths without truncation (tokenized again only where truncation may have cut).
            full_ids = example_ids if len(example_ids) < max_length else tokenize(tokenizer, source + target, truncate=False)[0]
            full_source = source_ids if len(source_ids) < max_length else tokenize(tokenizer, source, truncate=False)[0]
            out.write(json.dumps({
                "language": lang, "id": item_id, "form": form,
                "input_ids": [int(x) for x in input_ids], "labels": [int(x) for x in labels],
                "full_length": len(full_ids), "source_length": len(full_source),
                "boundary_ok": [int(x) for x in full_ids[:len(full_source)]] == [int(x) for x in full_source],
            }) + "\n")
            count += 1
            tokens += len(input_ids)
    print(json.dumps({"records": count, "tokens": tokens, "pad_was_missing": pad_was_missing,
                      "eos_id": tokenizer.eos_token_id, "bos_id": tokenizer.bos_token_id}))


if __name__ == "__main__":
    main()
