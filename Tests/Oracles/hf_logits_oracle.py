#!/usr/bin/env python3
"""Logits of a Hugging Face checkpoint folder for given token ids, computed by transformers (fp32, eager attention),
for checks that a checkpoint MMedKit wrote (e.g. a `mmed train` export) loads and computes the same in MMedKit's engine.

Usage: python3 Tests/Oracles/hf_logits_oracle.py MODEL_DIR 1,2,3[;4,5] [--peft ADAPTER_DIR]
Prints one JSON object: {"cases": [{"ids": [...], "logits_f32_le_b64": "..."}]} (float32 [n, vocab], row-major).
Needs torch and transformers (and peft with --peft): python/requirements.txt.
"""
import argparse
import base64
import json

import torch
from transformers import AutoModelForCausalLM


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("ids", help="comma-separated ids; several prompts separated by ';'")
    parser.add_argument("--peft", help="a PEFT adapter folder to apply to MODEL")
    args = parser.parse_args()
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32, attn_implementation="eager")
    if args.peft:
        from peft import PeftModel
        model = PeftModel.from_pretrained(model, args.peft)
    model.eval()
    cases = []
    for prompt in args.ids.split(";"):
        ids = [int(t) for t in prompt.split(",")]
        with torch.no_grad():
            logits = model(torch.tensor([ids])).logits[0].float().numpy()
        cases.append({"ids": ids, "logits_f32_le_b64": base64.b64encode(logits.astype("<f4").tobytes()).decode("ascii")})
    print(json.dumps({"cases": cases}))


if __name__ == "__main__":
    main()
