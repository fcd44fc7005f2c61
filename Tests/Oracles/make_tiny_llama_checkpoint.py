#!/usr/bin/env python3
"""Writes a random tiny Llama checkpoint (config.json + model.safetensors, float32) for the mmedtrain checks.

    python3 Tests/Oracles/make_tiny_llama_checkpoint.py OUT_DIR [--seed S] [--vocab 256] [--hidden 64] [--layers 2]

Deterministic for a seed (torch.manual_seed before LlamaForCausalLM's own initialisation); no download. Needs torch and
transformers (requirements-torch.txt / python/requirements.txt).
"""

import argparse
import os


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--vocab", type=int, default=256)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--kv-heads", type=int, default=2)
    parser.add_argument("--intermediate", type=int, default=128)
    parser.add_argument("--max-positions", type=int, default=128)
    args = parser.parse_args()

    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(vocab_size=args.vocab, hidden_size=args.hidden, num_hidden_layers=args.layers,
                         num_attention_heads=args.heads, num_key_value_heads=args.kv_heads,
                         intermediate_size=args.intermediate, max_position_embeddings=args.max_positions,
                         tie_word_embeddings=False, bos_token_id=1, eos_token_id=2, pad_token_id=0,
                         initializer_range=0.05)
    torch.manual_seed(args.seed)
    model = LlamaForCausalLM(config).to(torch.float32)
    with torch.no_grad():  # norms start at 1 in transformers; make them random so a missed norm weight shows
        for name, parameter in model.named_parameters():
            if "norm" in name:
                parameter.copy_(1.0 + 0.1 * torch.randn(parameter.shape))
    os.makedirs(args.out, exist_ok=True)
    model.save_pretrained(args.out, safe_serialization=True)
    print(args.out)


if __name__ == "__main__":
    main()
