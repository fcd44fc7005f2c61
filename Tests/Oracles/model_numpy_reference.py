#!/usr/bin/env python3
"""A second, torch-free route to the model goldens: a float64 numpy forward written from the semantics listed in
Tests/Oracles/README.md (section "model_oracle.py"), reading the fixture files directly (safetensors parsed by
hand, F32 and BF16; InternLM2's packed wqkv by index arithmetic), with an explicit KV cache for greedy decoding.

    python3 Tests/Oracles/model_numpy_reference.py [--models DIR]

For every fixture it prints the largest |float64 logits - golden float32 logits| and checks that the greedy
tokens and the log-likelihood cases (is_greedy, sum within 1e-3) agree. Needs numpy only.
"""

import argparse
import base64
import json
import math
import os
import struct
import sys

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_MODELS = os.path.join(REPO, "Tests", "MMedModelTests", "Fixtures", "models")


def read_safetensors(path):
    with open(path, "rb") as handle:
        (header_len,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(header_len))
        data = handle.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        raw = data[start:end]
        if info["dtype"] == "F32":
            array = np.frombuffer(raw, dtype="<f4")
        elif info["dtype"] == "BF16":
            array = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            raise ValueError(f"{path}: {name} has dtype {info['dtype']}")
        tensors[name] = array.reshape(info["shape"]).astype(np.float64)
    return tensors


def read_weights(folder):
    index = os.path.join(folder, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index, encoding="utf-8") as handle:
            files = sorted(set(json.load(handle)["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    weights = {}
    for name in files:
        weights.update(read_safetensors(os.path.join(folder, name)))
    return weights


class Model:
    def __init__(self, folder):
        with open(os.path.join(folder, "config.json"), encoding="utf-8") as handle:
            cfg = json.load(handle)
        self.w = read_weights(folder)
        self.internlm2 = cfg["model_type"] == "internlm2"
        self.heads = cfg["num_attention_heads"]
        self.kv_heads = cfg["num_key_value_heads"]
        self.head_dim = cfg.get("head_dim") or cfg["hidden_size"] // self.heads
        self.layers = cfg["num_hidden_layers"]
        self.eps = cfg["rms_norm_eps"]
        self.max_pos = cfg["max_position_embeddings"]
        rope = cfg.get("rope_parameters") or {}
        self.theta = cfg.get("rope_theta", rope.get("rope_theta"))
        scaling = cfg.get("rope_scaling")
        if scaling is None and rope.get("rope_type", "default") != "default":
            scaling = rope
        self.scaling = scaling
        self.kind = None if scaling is None else scaling.get("rope_type", scaling.get("type"))
        if self.kind not in (None, "llama3", "dynamic"):
            raise ValueError(f"rope type {self.kind}")
        if self.internlm2:
            self.embed = self.w["model.tok_embeddings.weight"]
            self.head = self.w["output.weight"]
        else:
            self.embed = self.w["model.embed_tokens.weight"]
            self.head = self.w.get("lm_head.weight", self.embed) if cfg.get("tie_word_embeddings") else \
                self.w["lm_head.weight"]

    def inv_freq(self, total):
        d = self.head_dim
        exponents = np.arange(0, d, 2) / d
        inv = 1.0 / self.theta ** exponents
        if self.kind == "llama3":
            s = self.scaling
            orig, factor = s["original_max_position_embeddings"], s["factor"]
            low, high = s["low_freq_factor"], s["high_freq_factor"]
            wavelen = 2 * math.pi / inv
            smooth = (orig / wavelen - low) / (high - low)
            scaled = np.where(wavelen > orig / low, inv / factor, inv)
            medium = (wavelen >= orig / high) & (wavelen <= orig / low)
            inv = np.where(medium, (1 - smooth) * inv / factor + smooth * inv, scaled)
        elif self.kind == "dynamic" and total > self.max_pos:
            factor = self.scaling["factor"]
            base = self.theta * ((factor * total / self.max_pos) - (factor - 1)) ** (d / (d - 2))
            inv = 1.0 / base ** exponents
        return inv

    @staticmethod
    def rms(x, weight, eps):
        return weight * (x / np.sqrt((x * x).mean(-1, keepdims=True) + eps))

    @staticmethod
    def rotate(x, inv, positions):
        angles = np.outer(positions, inv)
        angles = np.concatenate([angles, angles], -1)
        half = x.shape[-1] // 2
        rotated_half = np.concatenate([-x[..., half:], x[..., :half]], -1)
        return x * np.cos(angles)[:, None, :] + rotated_half * np.sin(angles)[:, None, :]

    def qkv(self, prefix, x):
        n, h, kv, d = x.shape[0], self.heads, self.kv_heads, self.head_dim
        groups = h // kv
        if self.internlm2:
            packed = x @ self.w[prefix + "attention.wqkv.weight"].T
            q = np.empty((n, h, d))
            k = np.empty((n, kv, d))
            v = np.empty((n, kv, d))
            for g in range(kv):
                block = g * (groups + 2) * d
                for j in range(groups):
                    q[:, g * groups + j] = packed[:, block + j * d: block + (j + 1) * d]
                k[:, g] = packed[:, block + groups * d: block + (groups + 1) * d]
                v[:, g] = packed[:, block + (groups + 1) * d: block + (groups + 2) * d]
            return q, k, v
        out = []
        for name, heads in (("q", h), ("k", kv), ("v", kv)):
            y = x @ self.w[f"{prefix}self_attn.{name}_proj.weight"].T
            bias = self.w.get(f"{prefix}self_attn.{name}_proj.bias")
            if bias is not None:
                y = y + bias
            out.append(y.reshape(n, heads, d))
        return tuple(out)

    def forward(self, ids, start, cache):
        """Logits for `ids` at positions start..; `cache` (a dict) holds each layer's rotated keys and values."""
        n = len(ids)
        total = start + n
        positions = np.arange(start, total)
        inv = self.inv_freq(total)
        groups = self.heads // self.kv_heads
        il = self.internlm2
        h = self.embed[ids]
        for layer in range(self.layers):
            p = f"model.layers.{layer}."
            x = self.rms(h, self.w[p + ("attention_norm.weight" if il else "input_layernorm.weight")], self.eps)
            q, k, v = self.qkv(p, x)
            q = self.rotate(q, inv, positions)
            k = self.rotate(k, inv, positions)
            keys, values = cache.get(layer, (np.zeros((0,) + k.shape[1:]), np.zeros((0,) + v.shape[1:])))
            keys, values = np.concatenate([keys, k]), np.concatenate([values, v])
            cache[layer] = (keys, values)
            mask = np.where(np.arange(total)[None, :] > positions[:, None], -np.inf, 0.0)
            attn = np.empty((n, self.heads, self.head_dim))
            for head in range(self.heads):
                scores = q[:, head] @ keys[:, head // groups].T / math.sqrt(self.head_dim) + mask
                scores = np.exp(scores - scores.max(-1, keepdims=True))
                scores /= scores.sum(-1, keepdims=True)
                attn[:, head] = scores @ values[:, head // groups]
            h = h + attn.reshape(n, -1) @ self.w[p + ("attention.wo.weight" if il else "self_attn.o_proj.weight")].T
            x = self.rms(h, self.w[p + ("ffn_norm.weight" if il else "post_attention_layernorm.weight")], self.eps)
            gate = x @ self.w[p + ("feed_forward.w1.weight" if il else "mlp.gate_proj.weight")].T
            up = x @ self.w[p + ("feed_forward.w3.weight" if il else "mlp.up_proj.weight")].T
            down = self.w[p + ("feed_forward.w2.weight" if il else "mlp.down_proj.weight")]
            h = h + (gate / (1 + np.exp(-gate)) * up) @ down.T
        return self.rms(h, self.w["model.norm.weight"], self.eps) @ self.head.T


def check(folder):
    model = Model(folder)
    with open(os.path.join(folder, "goldens.json"), encoding="utf-8") as handle:
        goldens = json.load(handle)
    worst, problems = 0.0, []
    for index, prompt in enumerate(goldens["prompts"]):
        ids = prompt["ids"]
        golden = np.frombuffer(base64.b64decode(prompt["logits_f32le_base64"]), dtype="<f4").reshape(
            prompt["logits_shape"])
        cache = {}
        logits = model.forward(ids, 0, cache)
        worst = max(worst, float(np.abs(logits - golden).max()))
        tokens = []
        for step in range(goldens["new_tokens"]):
            token = int(np.argmax(logits[-1]))
            tokens.append(token)
            logits = model.forward([token], len(ids) + step, cache)
        if tokens != prompt["greedy"]:
            problems.append(f"prompt {index}: greedy {tokens} != {prompt['greedy']}")
    for case in goldens["loglikelihood"]:
        ids = goldens["prompts"][case["prompt"]]["ids"]
        logits = model.forward(ids + case["continuation"], 0, {})
        rows = logits[len(ids) - 1: len(ids) - 1 + len(case["continuation"])]
        logprobs = rows - rows.max(-1, keepdims=True)
        logprobs = logprobs - np.log(np.exp(logprobs).sum(-1, keepdims=True))
        total = sum(logprobs[i, t] for i, t in enumerate(case["continuation"]))
        greedy = all(int(np.argmax(rows[i])) == t for i, t in enumerate(case["continuation"]))
        if greedy != case["is_greedy"] or abs(total - case["logprob_sum"]) > 1e-3:
            problems.append(f"loglikelihood {case['prompt']}: {total} {greedy} vs {case['logprob_sum']} "
                            f"{case['is_greedy']}")
    return worst, problems


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=DEFAULT_MODELS)
    args = parser.parse_args()
    failed = False
    for name in sorted(os.listdir(args.models)):
        folder = os.path.join(args.models, name)
        if not os.path.isdir(folder):
            continue
        worst, problems = check(folder)
        print(f"{name}: max |float64 - golden| {worst:.2e}" + ("" if not problems else "; " + "; ".join(problems)))
        failed |= bool(problems) or worst > 1e-3
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
