#!/usr/bin/env python3
"""Make a ~1.1B-parameter Llama with random weights, in bfloat16, for benchmarking MMedKit's engine against llama.cpp.

Nothing is downloaded: the weights are random (seeded), the tokenizer is the Llama 2 SentencePiece model from the
shared data (`../shared/data/tokenizers/llama2/tokenizer.model`), copied into the model folder. Output, in a
scratch folder (never in the repository):

    OUT/llama-1b-random-bf16/        Hugging Face folder: config.json, generation_config.json, model*.safetensors
                                     (bfloat16), tokenizer.model, tokenizer_config.json, special_tokens_map.json
    OUT/llama-1b-random-bf16.gguf    the same weights converted by llama.cpp's convert_hf_to_gguf.py --outtype bf16
                                     (only with --llama-cpp-src)

Shape (TinyLlama-1.1B's, with 8 KV heads): hidden 2048, 22 layers, intermediate 5632, 32 heads, 8 KV heads
(head dim 64), vocab 32000, untied output, RMSNorm eps 1e-5, rope theta 10000, 2048 positions: 1,123,117,056
parameters (2.25 GB in bfloat16). With 16 layers (`--layers 16`) it would be 0.85B.

Usage (from the repository root; versions in Benchmarks/engine/requirements.txt):

    python3 Benchmarks/engine/make-1b-llama.py --out /tmp/mmed-bench-engine \\
        --tokenizer ../shared/data/tokenizers/llama2/tokenizer.model \\
        --llama-cpp-src /work/llamacpp-build/llama_cpp_python-0.3.36/vendor/llama.cpp

Re-running skips what exists (`--force` rebuilds). Two runs give the same weights (torch.manual_seed).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="/tmp/mmed-bench-engine", help="scratch folder (default %(default)s)")
    ap.add_argument("--name", default="llama-1b-random-bf16")
    ap.add_argument("--tokenizer", default=os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data",
                                                          "tokenizers", "llama2", "tokenizer.model"),
                    help="Llama 2 SentencePiece tokenizer.model (default: ../shared/data/tokenizers/llama2/)")
    ap.add_argument("--llama-cpp-src", help="llama.cpp source tree holding convert_hf_to_gguf.py; omit to skip the GGUF")
    ap.add_argument("--hidden", type=int, default=2048)
    ap.add_argument("--layers", type=int, default=22)
    ap.add_argument("--intermediate", type=int, default=5632)
    ap.add_argument("--heads", type=int, default=32)
    ap.add_argument("--kv-heads", type=int, default=8)
    ap.add_argument("--vocab", type=int, default=32000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args()

    tok = os.path.abspath(args.tokenizer)
    if not os.path.isfile(tok):
        sys.exit(f"make-1b-llama: no tokenizer at {tok} (pass --tokenizer PATH/TO/llama2/tokenizer.model)")
    os.makedirs(args.out, exist_ok=True)
    hf_dir = os.path.join(args.out, args.name)
    gguf_path = os.path.join(args.out, args.name + ".gguf")

    if args.force or not os.path.isfile(os.path.join(hf_dir, "config.json")):
        make_hf(args, hf_dir, tok)
    else:
        print(f"make-1b-llama: {hf_dir} exists (use --force to rebuild)", file=sys.stderr)

    if args.llama_cpp_src:
        conv = os.path.join(args.llama_cpp_src, "convert_hf_to_gguf.py")
        if not os.path.isfile(conv):
            sys.exit(f"make-1b-llama: {conv} not found")
        if args.force or not os.path.isfile(gguf_path):
            t0 = time.time()
            tmp = gguf_path + ".partial"
            subprocess.run([sys.executable, conv, hf_dir, "--outtype", "bf16", "--outfile", tmp], check=True)
            os.replace(tmp, gguf_path)
            print(f"make-1b-llama: wrote {gguf_path} ({os.path.getsize(gguf_path) / 1e9:.2f} GB) in "
                  f"{time.time() - t0:.0f} s", file=sys.stderr)
        else:
            print(f"make-1b-llama: {gguf_path} exists (use --force to rebuild)", file=sys.stderr)
    print(hf_dir)
    if args.llama_cpp_src:
        print(gguf_path)


def make_hf(args, hf_dir, tok):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    if os.path.isdir(hf_dir):
        shutil.rmtree(hf_dir)
    t0 = time.time()
    cfg = LlamaConfig(
        vocab_size=args.vocab, hidden_size=args.hidden, intermediate_size=args.intermediate,
        num_hidden_layers=args.layers, num_attention_heads=args.heads, num_key_value_heads=args.kv_heads,
        hidden_act="silu", max_position_embeddings=2048, rms_norm_eps=1e-5, rope_theta=10000.0,
        tie_word_embeddings=False, bos_token_id=1, eos_token_id=2, pad_token_id=None, torch_dtype="bfloat16",
    )
    torch.manual_seed(args.seed)
    with torch.no_grad():
        model = LlamaForCausalLM(cfg)  # initializer_range 0.02 normal, norms = 1
        model = model.to(torch.bfloat16).eval()
    n = sum(p.numel() for p in model.parameters())
    tmp = hf_dir + ".partial"
    if os.path.isdir(tmp):
        shutil.rmtree(tmp)
    model.save_pretrained(tmp, safe_serialization=True)
    shutil.copyfile(tok, os.path.join(tmp, "tokenizer.model"))
    with open(os.path.join(tmp, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "LlamaTokenizer", "add_bos_token": True, "add_eos_token": False,
                   "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "model_max_length": 2048,
                   "legacy": True}, f, indent=1)
    with open(os.path.join(tmp, "special_tokens_map.json"), "w") as f:
        json.dump({"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}, f, indent=1)
    with open(os.path.join(tmp, "MMEDKIT-README.txt"), "w") as f:
        f.write(f"Random-weight Llama made by Benchmarks/engine/make-1b-llama.py (seed {args.seed}), {n} parameters, "
                "bfloat16. For speed benchmarks only: its outputs are meaningless. tokenizer.model is Meta's Llama 2 "
                "tokenizer (Llama 2 Community License), copied here; do not commit or redistribute this folder.\n")
    os.replace(tmp, hf_dir)
    size = sum(os.path.getsize(os.path.join(hf_dir, x)) for x in os.listdir(hf_dir))
    print(f"make-1b-llama: wrote {hf_dir}: {n:,} parameters, {size / 1e9:.2f} GB, {time.time() - t0:.0f} s "
          f"(torch {torch.__version__})", file=sys.stderr)


if __name__ == "__main__":
    main()
