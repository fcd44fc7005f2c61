#!/usr/bin/env python3
"""Writes a small random Llama in BF16 as GGUF, the same bytes every time, for the BF16 parity test of MMedKit's
engine against llama.cpp (`llamacpp_oracle.py --tiny-bf16`, `LlamaCppParityTests.tinyBF16LlamaMatchesLlamaCpp`).

Why a generated file: the shared tiny Llama 2 GGUF is F16 with 8-wide rows, too narrow for the BF16 kernels llama.cpp
uses on AVX-512 (32-wide steps), and a real BF16 model is hundreds of megabytes. This one has the shapes that take
those paths — hidden 128, 2 query heads and 1 KV head of 64 (GQA), intermediate 256, 2 layers, 259 tokens (3 specials
and 256 byte tokens, SentencePiece style), untied output — and weighs about 0.7 MB, so the test writes it to a temporary
folder instead of the repository holding it. Weights: numpy's PCG64 generator seeded with 2024, normal values scaled
so activations stay O(1), rounded to BF16 to nearest even; norms F32 around 1. The goldens record the file's SHA-256,
and the test refuses to compare against a different file.

Usage: python3 Tests/Oracles/make_tiny_bf16_gguf.py OUT.gguf   (needs numpy and gguf, Tests/Oracles/requirements.txt)
"""
import os
import sys

import numpy as np
from gguf import GGMLQuantizationType, GGUFWriter, TokenType

HIDDEN, HEADS, KV_HEADS, FFN, LAYERS = 128, 2, 1, 256, 2
HEAD_DIM = HIDDEN // HEADS
VOCAB = 3 + 256
SEED = 2024


def bf16(values):
    """float32 → BF16 bits, round to nearest even (as llama.cpp's converter)."""
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    return rounded.astype(np.uint16)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    rng = np.random.default_rng(SEED)
    w = GGUFWriter(out + ".partial", "llama")
    w.add_name("mmedkit-tiny-random-llama-bf16")
    w.add_context_length(512)
    w.add_embedding_length(HIDDEN)
    w.add_block_count(LAYERS)
    w.add_feed_forward_length(FFN)
    w.add_rope_dimension_count(HEAD_DIM)
    w.add_head_count(HEADS)
    w.add_head_count_kv(KV_HEADS)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_freq_base(10000.0)
    w.add_file_type(32)  # LLAMA_FTYPE_MOSTLY_BF16
    w.add_tokenizer_model("llama")
    tokens = [b"<unk>", b"<s>", b"</s>"] + [f"<0x{b:02X}>".encode() for b in range(256)]
    w.add_token_list(tokens)
    w.add_token_scores([0.0] * VOCAB)
    w.add_token_types([TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL] + [TokenType.BYTE] * 256)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_add_bos_token(True)

    def matrix(name, rows, columns, scale):
        data = (rng.standard_normal((rows, columns)) * scale).astype(np.float32)
        w.add_tensor(name, bf16(data), raw_shape=(rows, columns), raw_dtype=GGMLQuantizationType.BF16)

    def norm(name):
        w.add_tensor(name, (1.0 + 0.1 * rng.standard_normal(HIDDEN)).astype(np.float32))

    matrix("token_embd.weight", VOCAB, HIDDEN, 1.0)
    for layer in range(LAYERS):
        p = f"blk.{layer}."
        norm(p + "attn_norm.weight")
        matrix(p + "attn_q.weight", HEADS * HEAD_DIM, HIDDEN, 0.6 / np.sqrt(HIDDEN))
        matrix(p + "attn_k.weight", KV_HEADS * HEAD_DIM, HIDDEN, 0.6 / np.sqrt(HIDDEN))
        matrix(p + "attn_v.weight", KV_HEADS * HEAD_DIM, HIDDEN, 1.0 / np.sqrt(HIDDEN))
        matrix(p + "attn_output.weight", HIDDEN, HEADS * HEAD_DIM, 1.0 / np.sqrt(HIDDEN))
        norm(p + "ffn_norm.weight")
        matrix(p + "ffn_gate.weight", FFN, HIDDEN, 1.0 / np.sqrt(HIDDEN))
        matrix(p + "ffn_up.weight", FFN, HIDDEN, 1.0 / np.sqrt(HIDDEN))
        matrix(p + "ffn_down.weight", HIDDEN, FFN, 1.0 / np.sqrt(FFN))
    norm("output_norm.weight")
    matrix("output.weight", VOCAB, HIDDEN, 1.0 / np.sqrt(HIDDEN))

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    os.replace(out + ".partial", out)


if __name__ == "__main__":
    main()
