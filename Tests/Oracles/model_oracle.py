#!/usr/bin/env python3
"""Tiny random-weight checkpoints and transformers goldens for MMedModel's native inference engine.

Writes, under the output folder (default Tests/MMedModelTests/Fixtures/models/), one folder per model with
config.json, generation_config.json, the safetensors weights and goldens.json (see Tests/Oracles/README.md,
section "model_oracle.py"). Everything is deterministic: the weights come from numpy's PCG64 seeded per
model and per tensor name, the prompts from a fixed seed, and the references from transformers' eager
attention in float32 on CPU.

    python3 Tests/Oracles/model_oracle.py [--out DIR] [--only NAME ...] [--check]

--check regenerates into a temporary folder and compares with DIR byte for byte (nothing is written to DIR).
Needs torch and transformers (Tests/Oracles/requirements-torch.txt); the Swift tests need neither.
"""

import argparse
import base64
import filecmp
import json
import math
import os
import re
import shutil
import sys
import tempfile
import zlib

import numpy as np
import torch
import transformers
from safetensors import safe_open
from safetensors.torch import save_file
from transformers import (
    GenerationConfig,
    LlamaConfig,
    LlamaForCausalLM,
    MistralConfig,
    MistralForCausalLM,
    Qwen2Config,
    Qwen2ForCausalLM,
)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_OUT = os.path.join(REPO, "Tests", "MMedModelTests", "Fixtures", "models")

VOCAB = 512
HIDDEN = 64
INTERMEDIATE = 172
HEADS = 4
KV_HEADS = 2
LAYERS = 2
WEIGHT_STD = 0.2  # every Linear weight and bias and every Embedding
NORM_STD = 0.1  # RMSNorm weights are 1 + NORM_STD * N(0, 1)

PROMPT_SEED = 20240601
PROMPT_LENGTHS = (1, 7, 40, 120)
NEW_TOKENS = 32
LOGLIK_TOKENS = 8
ATTN = "eager"

MODELS = [
    "llama3-style",
    "llama2-style",
    "llama2-style-bf16",
    "llama2-style-sharded",
    "mistral-style",
    "qwen2-style",
    "internlm2-style",
]


def own_memory(model):
    """Parameters copied out of the safetensors mmap into fresh 64-byte-aligned buffers: CPU GEMM/GEMV kernels
    pick their code path by the pointer's alignment, so the file layout (one file or shards) could otherwise
    change the last bits of the logits."""
    with torch.no_grad():
        for param in model.parameters():
            param.data = param.data.clone()
    model.eval()
    return model


def set_determinism():
    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)


# ---------------------------------------------------------------------------------------------------------
# weights

def random_tensor(seed, name, shape, is_norm):
    rng = np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])
    values = rng.standard_normal(size=shape)
    if is_norm:
        values = 1.0 + NORM_STD * values
    else:
        values = WEIGHT_STD * values
    return torch.from_numpy(values.astype(np.float32))


def fill_weights(model, seed):
    """Every parameter from its own stream (seed, crc32(name)); shared (tied) parameters once."""
    with torch.no_grad():
        for name, param in sorted(model.named_parameters(), key=lambda item: item[0]):
            is_norm = param.dim() == 1 and name.endswith("norm.weight")
            param.copy_(random_tensor(seed, name, tuple(param.shape), is_norm))


# ---------------------------------------------------------------------------------------------------------
# configs

def llama_config(**overrides):
    fields = dict(
        vocab_size=VOCAB,
        hidden_size=HIDDEN,
        intermediate_size=INTERMEDIATE,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        num_key_value_heads=KV_HEADS,
        hidden_act="silu",
        max_position_embeddings=256,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=None,
    )
    fields.update(overrides)
    return fields


# Layout of the written config.json: "hub" is what checkpoints on the Hub made with transformers 4.x carry
# (top-level rope_theta and rope_scaling, torch_dtype, no head_dim); "v5" is what transformers 5 writes itself
# (rope_parameters holding rope_theta and the scaling, dtype, head_dim).
SPECS = {
    "llama3-style": dict(
        cls=LlamaForCausalLM, config_cls=LlamaConfig, seed=1001, layout="hub",
        config=llama_config(
            rope_theta=500000.0,
            rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                          "original_max_position_embeddings": 64},
            tie_word_embeddings=True, rms_norm_eps=1e-5, eos_token_id=[2, 3]),
        generation={"bos_token_id": 1, "eos_token_id": [2, 3]},
    ),
    "llama2-style": dict(
        cls=LlamaForCausalLM, config_cls=LlamaConfig, seed=1002, layout="hub",
        config=llama_config(rope_theta=10000.0, rope_scaling=None, tie_word_embeddings=False, rms_norm_eps=1e-5),
        generation={"bos_token_id": 1, "eos_token_id": 2},
    ),
    "mistral-style": dict(
        cls=MistralForCausalLM, config_cls=MistralConfig, seed=1005, layout="v5",
        config=llama_config(rope_theta=10000.0, sliding_window=4096, tie_word_embeddings=False, rms_norm_eps=1e-5),
        generation={"bos_token_id": 1, "eos_token_id": 2},
    ),
    "qwen2-style": dict(
        cls=Qwen2ForCausalLM, config_cls=Qwen2Config, seed=1006, layout="hub",
        config=llama_config(rope_theta=1000000.0, tie_word_embeddings=False, rms_norm_eps=1e-6,
                            use_sliding_window=False, sliding_window=None, max_window_layers=LAYERS),
        generation={"bos_token_id": 1, "eos_token_id": 2},
    ),
}
SPECS["llama2-style-bf16"] = dict(SPECS["llama2-style"], save_dtype=torch.bfloat16)
SPECS["llama2-style-sharded"] = dict(SPECS["llama2-style"], max_shard_size="200KB")

# InternLM2 (remote code, not in transformers): the checkpoint is written in InternLM2's own layout, the
# reference is transformers' Llama with rope_type "dynamic" on the unpacked weights.
INTERNLM2 = dict(
    seed=1007, max_position_embeddings=32, rope_theta=10000.0, factor=2.0, rms_norm_eps=1e-5,
)


def hub_layout(config_dict, torch_dtype):
    """transformers 5's config dict rewritten the way 4.x checkpoints on the Hub spell it."""
    out = dict(config_dict)
    rope = dict(out.pop("rope_parameters") or {})
    out["rope_theta"] = rope.pop("rope_theta")
    rope_type = rope.get("rope_type", "default")
    out["rope_scaling"] = None if rope_type == "default" else rope
    out.pop("head_dim", None)
    out.pop("dtype", None)
    out.pop("layer_types", None)
    out["torch_dtype"] = torch_dtype
    return dict(sorted(out.items()))


NUMBER_LIST = re.compile(r"\[\s*(-?[0-9][0-9.eE+-]*(?:,\s*-?[0-9][0-9.eE+-]*)*)\s*\]")


def write_json(path, value):
    """Two-space indented JSON with lists of numbers kept on one line."""
    text = json.dumps(value, indent=2, sort_keys=False, allow_nan=False)
    text = NUMBER_LIST.sub(lambda m: "[" + ", ".join(part.strip() for part in m.group(1).split(",")) + "]", text)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text + "\n")


def write_generation_config(folder, generation):
    value = dict(generation)
    value["transformers_version"] = transformers.__version__
    write_json(os.path.join(folder, "generation_config.json"), value)


# ---------------------------------------------------------------------------------------------------------
# prompts and references

def make_prompts():
    rng = np.random.default_rng(PROMPT_SEED)
    prompts = []
    for length in PROMPT_LENGTHS:
        ids = [1] + [int(x) for x in rng.integers(4, VOCAB, size=length - 1)]
        prompts.append(ids)
    random_continuation = [int(x) for x in rng.integers(4, VOCAB, size=LOGLIK_TOKENS)]
    return prompts, random_continuation


def f32_b64(tensor):
    array = np.ascontiguousarray(tensor.detach().to(torch.float32).cpu().numpy()).astype("<f4")
    return base64.b64encode(array.tobytes()).decode("ascii")


def greedy_by_hand(model, ids, steps):
    """Greedy decoding with an explicit KV cache, one forward per new token (cross-check of generate)."""
    from transformers import DynamicCache

    cache = DynamicCache(config=model.config)
    input_ids = torch.tensor([ids])
    out = model(input_ids=input_ids, past_key_values=cache, use_cache=True)
    tokens, margins = [], []
    for step in range(steps):
        last = out.logits[0, -1]
        top = torch.topk(last, 2)
        token = int(top.indices[0])
        tokens.append(token)
        margins.append(float(top.values[0] - top.values[1]))
        if step + 1 == steps:
            break
        position = len(ids) + step
        out = model(input_ids=torch.tensor([[token]]), past_key_values=out.past_key_values, use_cache=True,
                    position_ids=torch.tensor([[position]]))
    return tokens, margins


def references(load, prompts, random_continuation):
    """load() returns a freshly loaded model (fresh rotary state: dynamic NTK keeps state between calls)."""
    result = {"prompts": [], "loglikelihood": []}
    greedy_all = []
    for ids in prompts:
        with torch.no_grad():
            model = load()
            logits = model(torch.tensor([ids])).logits[0]
            assert logits.dtype == torch.float32 and tuple(logits.shape) == (len(ids), VOCAB)
            model = load()
            # generate() fills every None of the passed config from model.generation_config (eos [2, 3] or 2):
            # clear it there so that no EOS stops or masks anything (the 32 tokens are plain argmaxes)
            model.generation_config.eos_token_id = None
            generation = GenerationConfig(do_sample=False, max_new_tokens=NEW_TOKENS,
                                          eos_token_id=None, pad_token_id=0, bos_token_id=1)
            generated = model.generate(torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                                       generation_config=generation)[0, len(ids):].tolist()
            assert len(generated) == NEW_TOKENS, generated
            by_hand, margins = greedy_by_hand(load(), ids, NEW_TOKENS)
            if by_hand != generated:
                raise SystemExit(f"generate() and the hand-written greedy loop disagree: {generated} vs {by_hand}")
        greedy_all.append(generated)
        result["prompts"].append({
            "ids": ids,
            "logits_shape": [len(ids), VOCAB],
            "logits_f32le_base64": f32_b64(logits),
            "greedy": generated,
            "greedy_min_margin": round(min(margins), 6),
        })
    cases = [
        (1, greedy_all[1][:LOGLIK_TOKENS]),
        (2, random_continuation),
        (2, greedy_all[2][:LOGLIK_TOKENS]),
    ]
    for prompt_index, continuation in cases:
        ids = prompts[prompt_index]
        with torch.no_grad():
            model = load()
            logits = model(torch.tensor([ids + continuation])).logits[0]
        logprobs = torch.log_softmax(logits, dim=-1)
        token_logprobs, is_greedy = [], True
        for offset, token in enumerate(continuation):
            row = len(ids) - 1 + offset
            token_logprobs.append(float(logprobs[row, token]))
            if int(torch.argmax(logits[row])) != token:
                is_greedy = False
        result["loglikelihood"].append({
            "prompt": prompt_index,
            "continuation": continuation,
            "token_logprobs": token_logprobs,
            "logprob_sum": math.fsum(token_logprobs),
            "is_greedy": is_greedy,
        })
    return result


def goldens_document(refs, notes):
    document = {
        "format": 1,
        "generator": "Tests/Oracles/model_oracle.py",
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "attn_implementation": ATTN,
        "dtype": "float32",
        "vocab_size": VOCAB,
        "new_tokens": NEW_TOKENS,
        "notes": notes,
        "prompts": refs["prompts"],
        "loglikelihood": refs["loglikelihood"],
    }
    return document


# ---------------------------------------------------------------------------------------------------------
# transformers-native models

def build_transformers_model(name, folder):
    spec = SPECS[name]
    config = spec["config_cls"](**spec["config"])
    config._attn_implementation = ATTN
    model = spec["cls"](config)
    model.eval()
    fill_weights(model, spec["seed"])
    save_dtype = spec.get("save_dtype")
    if save_dtype is not None:
        model = model.to(save_dtype)
    kwargs = {}
    if "max_shard_size" in spec:
        kwargs["max_shard_size"] = spec["max_shard_size"]
    model.save_pretrained(folder, **kwargs)
    # config.json in the chosen layout
    config_path = os.path.join(folder, "config.json")
    with open(config_path, encoding="utf-8") as handle:
        saved = json.load(handle)
    dtype_name = "bfloat16" if save_dtype == torch.bfloat16 else "float32"
    if spec["layout"] == "hub":
        saved = hub_layout(saved, dtype_name)
    write_json(config_path, saved)
    write_generation_config(folder, spec["generation"])

    def load():
        return own_memory(spec["cls"].from_pretrained(folder, dtype=torch.float32, attn_implementation=ATTN))

    # the rewritten config must load back to the model we built
    reloaded = load()
    assert reloaded.config.rope_parameters == config.rope_parameters, (reloaded.config.rope_parameters,
                                                                       config.rope_parameters)
    assert reloaded.config.tie_word_embeddings == config.tie_word_embeddings
    for key, tensor in model.state_dict().items():
        other = reloaded.state_dict()[key]
        assert torch.equal(tensor.to(torch.float32), other), key
    # and computes what the in-memory model computes (catches a config field lost in the rewrite)
    # (a fresh module: model.to(bfloat16) also rounded the rotary inv_freq buffer, which loading recomputes)
    built = spec["cls"](config)
    built.load_state_dict({key: value.to(torch.float32) for key, value in model.state_dict().items()})
    built = own_memory(built)
    probe = torch.tensor([make_prompts()[0][2]])
    with torch.no_grad():
        assert torch.equal(built(probe).logits, reloaded(probe).logits), name
    notes = []
    if save_dtype == torch.bfloat16:
        notes.append("weights stored as bfloat16; references computed in float32 from the bf16 values "
                     "(from_pretrained(dtype=float32))")
    return load, notes


# ---------------------------------------------------------------------------------------------------------
# InternLM2

def internlm2_names():
    names = {"model.tok_embeddings.weight": (VOCAB, HIDDEN), "model.norm.weight": (HIDDEN,),
             "output.weight": (VOCAB, HIDDEN)}
    head_dim = HIDDEN // HEADS
    for layer in range(LAYERS):
        prefix = f"model.layers.{layer}."
        names[prefix + "attention.wqkv.weight"] = ((HEADS + 2 * KV_HEADS) * head_dim, HIDDEN)
        names[prefix + "attention.wo.weight"] = (HIDDEN, HEADS * head_dim)
        names[prefix + "feed_forward.w1.weight"] = (INTERMEDIATE, HIDDEN)
        names[prefix + "feed_forward.w3.weight"] = (INTERMEDIATE, HIDDEN)
        names[prefix + "feed_forward.w2.weight"] = (HIDDEN, INTERMEDIATE)
        names[prefix + "attention_norm.weight"] = (HIDDEN,)
        names[prefix + "ffn_norm.weight"] = (HIDDEN,)
    return names


def unpack_wqkv(wqkv, heads, kv_heads, head_dim):
    """InternLM2's packed rows: for each KV group g, its `heads // kv_heads` query heads, then its key head,
    then its value head, each head_dim rows (rearrange '(h gs d) dim -> h gs d dim', gs = 2 + groups)."""
    groups = heads // kv_heads
    packed = wqkv.reshape(kv_heads, groups + 2, head_dim, wqkv.shape[-1])
    wq = packed[:, :groups].reshape(heads * head_dim, -1)
    wk = packed[:, groups].reshape(kv_heads * head_dim, -1)
    wv = packed[:, groups + 1].reshape(kv_heads * head_dim, -1)
    return wq.contiguous(), wk.contiguous(), wv.contiguous()


def internlm2_to_llama(state):
    head_dim = HIDDEN // HEADS
    out = {}
    for key, value in state.items():
        if key.endswith("attention.wqkv.weight"):
            prefix = key[: -len("attention.wqkv.weight")]
            wq, wk, wv = unpack_wqkv(value, HEADS, KV_HEADS, head_dim)
            out[prefix + "self_attn.q_proj.weight"] = wq
            out[prefix + "self_attn.k_proj.weight"] = wk
            out[prefix + "self_attn.v_proj.weight"] = wv
        elif key.endswith("attention.wo.weight"):
            out[key.replace("attention.wo", "self_attn.o_proj")] = value
        elif key.endswith("feed_forward.w1.weight"):
            out[key.replace("feed_forward.w1", "mlp.gate_proj")] = value
        elif key.endswith("feed_forward.w3.weight"):
            out[key.replace("feed_forward.w3", "mlp.up_proj")] = value
        elif key.endswith("feed_forward.w2.weight"):
            out[key.replace("feed_forward.w2", "mlp.down_proj")] = value
        elif key.endswith("attention_norm.weight"):
            out[key.replace("attention_norm", "input_layernorm")] = value
        elif key.endswith("ffn_norm.weight"):
            out[key.replace("ffn_norm", "post_attention_layernorm")] = value
        elif key == "model.tok_embeddings.weight":
            out["model.embed_tokens.weight"] = value
        elif key == "output.weight":
            out["lm_head.weight"] = value
        else:
            out[key] = value
    return out


def check_unpacking_by_hand(state, llama_state):
    """Independent route: per head, the rows of wqkv picked by index arithmetic in numpy, applied to a vector."""
    head_dim = HIDDEN // HEADS
    groups = HEADS // KV_HEADS
    x = np.random.default_rng(7).standard_normal(HIDDEN).astype(np.float64)
    for layer in range(LAYERS):
        wqkv = state[f"model.layers.{layer}.attention.wqkv.weight"].numpy().astype(np.float64)
        wq = llama_state[f"model.layers.{layer}.self_attn.q_proj.weight"].numpy().astype(np.float64)
        wk = llama_state[f"model.layers.{layer}.self_attn.k_proj.weight"].numpy().astype(np.float64)
        wv = llama_state[f"model.layers.{layer}.self_attn.v_proj.weight"].numpy().astype(np.float64)
        packed_out = wqkv @ x
        for head in range(HEADS):
            group, index = divmod(head, groups)
            start = (group * (groups + 2) + index) * head_dim
            assert np.array_equal(packed_out[start:start + head_dim], (wq @ x)[head * head_dim:(head + 1) * head_dim])
        for group in range(KV_HEADS):
            k_start = (group * (groups + 2) + groups) * head_dim
            v_start = (group * (groups + 2) + groups + 1) * head_dim
            assert np.array_equal(packed_out[k_start:k_start + head_dim],
                                  (wk @ x)[group * head_dim:(group + 1) * head_dim])
            assert np.array_equal(packed_out[v_start:v_start + head_dim],
                                  (wv @ x)[group * head_dim:(group + 1) * head_dim])


class InternLM2Rotary(torch.nn.Module):
    """InternLM2's own dynamic-NTK rotary, as its remote code (modeling_internlm2.py) writes it, to check
    transformers' rope_type "dynamic" against. Two published forms:

    - "hub": InternLM2DynamicNTKScalingRotaryEmbedding.forward(x, position_ids) of the later modeling files:
      seq_len = max(position_ids) + 1 as a tensor, so the new base is computed in float32 tensor arithmetic;
    - "cos_cached": the first release's _set_cos_sin_cache(seq_len) with seq_len = kv_seq_len (past + new) as
      a Python int, so the new base is computed in double precision, then rounded to float32 by the pow.
    Both recompute only when seq_len > max_position_embeddings and never shrink back within one sequence.
    """

    def __init__(self, dim, max_position_embeddings, base, factor, variant):
        super().__init__()
        self.dim, self.max_pos, self.base, self.factor, self.variant = dim, max_position_embeddings, base, factor, variant
        self.inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
        self.cached = max_position_embeddings

    def forward(self, x, position_ids):
        seq_len = torch.max(position_ids) + 1
        if self.variant == "hub":
            if seq_len > self.max_pos:
                base = self.base * ((self.factor * seq_len / self.max_pos) - (self.factor - 1)) ** (
                    self.dim / (self.dim - 2))
                self.inv_freq = 1.0 / (base ** (torch.arange(0, self.dim, 2, dtype=torch.int64).float() / self.dim))
        else:
            seq_len = int(seq_len)
            if seq_len > self.cached:
                self.cached = seq_len
                if seq_len > self.max_pos:
                    base = self.base * ((self.factor * seq_len / self.max_pos) - (self.factor - 1)) ** (
                        self.dim / (self.dim - 2))
                    self.inv_freq = 1.0 / (base ** (torch.arange(0, self.dim, 2).float() / self.dim))
        freqs = position_ids[..., None].float() * self.inv_freq
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos().to(x.dtype), emb.sin().to(x.dtype)


def build_internlm2(folder, scratch):
    spec = INTERNLM2
    head_dim = HIDDEN // HEADS
    state = {}
    for name, shape in sorted(internlm2_names().items()):
        is_norm = len(shape) == 1 and name.endswith("norm.weight")
        state[name] = random_tensor(spec["seed"], name, shape, is_norm)
    os.makedirs(folder, exist_ok=True)
    save_file(state, os.path.join(folder, "model.safetensors"), metadata={"format": "pt"})
    config = {
        "architectures": ["InternLM2ForCausalLM"],
        "bias": False,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "hidden_act": "silu",
        "hidden_size": HIDDEN,
        "initializer_range": 0.02,
        "intermediate_size": INTERMEDIATE,
        "max_position_embeddings": spec["max_position_embeddings"],
        "model_type": "internlm2",
        "num_attention_heads": HEADS,
        "num_hidden_layers": LAYERS,
        "num_key_value_heads": KV_HEADS,
        "pad_token_id": 2,
        "rms_norm_eps": spec["rms_norm_eps"],
        "rope_scaling": {"type": "dynamic", "factor": spec["factor"]},
        "rope_theta": spec["rope_theta"],
        "tie_word_embeddings": False,
        "torch_dtype": "float32",
        "transformers_version": transformers.__version__,
        "use_cache": True,
        "vocab_size": VOCAB,
    }
    write_json(os.path.join(folder, "config.json"), config)
    write_generation_config(folder, {"bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 2})

    # read the written file back (what the engine will read), unpack, check by hand, build the Llama reference
    with safe_open(os.path.join(folder, "model.safetensors"), "pt") as handle:
        written = {key: handle.get_tensor(key) for key in handle.keys()}
    llama_state = internlm2_to_llama(written)
    check_unpacking_by_hand(written, llama_state)
    llama_dir = os.path.join(scratch, "internlm2-as-llama")
    llama_config = LlamaConfig(**llama_config_fields_for_internlm2())
    llama_config._attn_implementation = ATTN
    model = LlamaForCausalLM(llama_config)
    model.load_state_dict(llama_state, strict=True)
    model.save_pretrained(llama_dir)

    def load():
        return own_memory(LlamaForCausalLM.from_pretrained(llama_dir, dtype=torch.float32, attn_implementation=ATTN))

    def load_with_internlm2_rotary(variant):
        def inner():
            loaded = load()
            loaded.model.rotary_emb = InternLM2Rotary(head_dim, spec["max_position_embeddings"], spec["rope_theta"],
                                                      spec["factor"], variant)
            return loaded
        return inner

    notes = [
        "checkpoint in InternLM2's own layout; references from transformers' LlamaForCausalLM with rope_type "
        "'dynamic' (factor 2.0) on the unpacked weights, which equals InternLM2's later remote code bitwise",
    ]
    return load, notes, load_with_internlm2_rotary


def llama_config_fields_for_internlm2():
    spec = INTERNLM2
    return dict(
        vocab_size=VOCAB, hidden_size=HIDDEN, intermediate_size=INTERMEDIATE, num_hidden_layers=LAYERS,
        num_attention_heads=HEADS, num_key_value_heads=KV_HEADS, hidden_act="silu",
        max_position_embeddings=spec["max_position_embeddings"], rms_norm_eps=spec["rms_norm_eps"],
        rope_theta=spec["rope_theta"], rope_scaling={"rope_type": "dynamic", "factor": spec["factor"]},
        tie_word_embeddings=False, attention_bias=False, bos_token_id=1, eos_token_id=2, pad_token_id=None,
    )


# ---------------------------------------------------------------------------------------------------------
# driver

def compare_documents(a, b):
    """Largest absolute logit difference and whether the token results agree."""
    worst = 0.0
    same_tokens = True
    for pa, pb in zip(a["prompts"], b["prompts"]):
        la = np.frombuffer(base64.b64decode(pa["logits_f32le_base64"]), dtype="<f4")
        lb = np.frombuffer(base64.b64decode(pb["logits_f32le_base64"]), dtype="<f4")
        worst = max(worst, float(np.max(np.abs(la.astype(np.float64) - lb))))
        same_tokens &= pa["greedy"] == pb["greedy"]
    for ca, cb in zip(a["loglikelihood"], b["loglikelihood"]):
        same_tokens &= ca["is_greedy"] == cb["is_greedy"]
    return worst, same_tokens


FIXTURE_README = """\
# Tiny model fixtures (generated: do not edit)

Written by `Tests/Oracles/model_oracle.py` (see the section on it in `Tests/Oracles/README.md`); regenerate or
check with `python3 Tests/Oracles/model_oracle.py [--check]`.

There is no tokenizer here: the tests feed token ids directly (every prompt starts with id 1, the BOS of these
configs; ids are < 512). Each folder is one checkpoint (`config.json`, `generation_config.json`, safetensors
weights, random values) and its `goldens.json`: for 4 prompts (lengths 1, 7, 40, 120) the float32 logits at
every position (base64 of little-endian float32, row-major [length][512]) and the 32-token greedy continuation,
and 3 log-likelihood cases. References: transformers (eager attention, float32, CPU).

- `llama3-style`: Llama, rope_type llama3 (factor 8, original_max_position_embeddings 64), tied embeddings
  (no `lm_head.weight` in the file), eos [2, 3].
- `llama2-style`: Llama, rope_theta 10000, no scaling, untied.
- `llama2-style-bf16`: the same weights stored as bfloat16; goldens in float32 from the bf16 values.
- `llama2-style-sharded`: the same weights in 4 shards with `model.safetensors.index.json`; goldens identical
  to `llama2-style`'s.
- `mistral-style`: Mistral, sliding_window 4096 (longer than any sequence here); its config.json is in
  transformers 5's own layout (`rope_parameters`, `head_dim`, `dtype`), the others in the Hub's 4.x layout
  (`rope_theta`, `rope_scaling`, `torch_dtype`, no `head_dim`).
- `qwen2-style`: Qwen2 (q/k/v biases), rope_theta 1e6, untied.
- `internlm2-style`: InternLM2's own layout (packed `wqkv`, `tok_embeddings`, `output`) with dynamic NTK
  rope scaling (factor 2, max_position_embeddings 32); references from the unpacked weights in Llama.
"""


def generate_all(out, only, scratch, log):
    prompts, random_continuation = make_prompts()
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "README.md"), "w", encoding="utf-8") as handle:
        handle.write(FIXTURE_README)
    for name in MODELS:
        if only and name not in only:
            continue
        folder = os.path.join(out, name)
        if os.path.exists(folder):
            shutil.rmtree(folder)
        os.makedirs(folder)
        extra = None
        if name == "internlm2-style":
            load, notes, internlm2_rotary = build_internlm2(folder, scratch)
            extra = internlm2_rotary
        else:
            load, notes = build_transformers_model(name, folder)
        set_determinism()
        refs = references(load, prompts, random_continuation)
        document = goldens_document(refs, notes)
        write_json(os.path.join(folder, "goldens.json"), document)

        # validation 1: a second, independent load of the checkpoint reproduces the goldens bit for bit
        again = goldens_document(references(load, prompts, random_continuation), notes)
        if again != document:
            raise SystemExit(f"{name}: goldens do not reproduce")
        # validation 2: sdpa attention agrees closely (the goldens use eager)
        log(f"{name}: greedy min margins {[p['greedy_min_margin'] for p in document['prompts']]}, "
            f"loglik is_greedy {[c['is_greedy'] for c in document['loglikelihood']]}")
        if extra is not None:
            hub = goldens_document(references(extra("hub"), prompts, random_continuation), notes)
            if hub != document:
                worst, same = compare_documents(document, hub)
                raise SystemExit(f"InternLM2 'hub' rotary differs from transformers' dynamic: {worst} {same}")
            log("internlm2-style: InternLM2's later rotary (float32 base) == transformers' dynamic NTK, bitwise")
            first = goldens_document(references(extra("cos_cached"), prompts, random_continuation), notes)
            worst, same = compare_documents(document, first)
            log(f"internlm2-style: InternLM2's first-release rotary (double base): max |dlogit| {worst:.3g}, "
                f"same greedy tokens and is_greedy: {same}")
            static = load_static_rope_internlm2(scratch)
            worst, same = compare_documents(document,
                                            goldens_document(references(static, prompts, random_continuation), notes))
            log(f"internlm2-style: without dynamic NTK: max |dlogit| {worst:.3g}, same tokens: {same}")
    if not only or "llama2-style-sharded" in only:
        check_sharded(out)


def load_static_rope_internlm2(scratch):
    fields = llama_config_fields_for_internlm2()
    fields["rope_scaling"] = None
    fields["max_position_embeddings"] = 256
    config = LlamaConfig(**fields)
    config._attn_implementation = ATTN
    folder = os.path.join(scratch, "internlm2-as-llama")
    source = LlamaForCausalLM.from_pretrained(folder, dtype=torch.float32, attn_implementation=ATTN)

    def load():
        model = LlamaForCausalLM(config)
        model.load_state_dict(source.state_dict())
        return own_memory(model)
    return load


def check_sharded(out):
    sharded = os.path.join(out, "llama2-style-sharded")
    single = os.path.join(out, "llama2-style")
    if not (os.path.isdir(sharded) and os.path.isdir(single)):
        return
    assert os.path.exists(os.path.join(sharded, "model.safetensors.index.json"))
    shards = [f for f in os.listdir(sharded) if f.endswith(".safetensors")]
    assert len(shards) >= 2, shards
    assert filecmp.cmp(os.path.join(sharded, "goldens.json"), os.path.join(single, "goldens.json"), shallow=False)


def tree_sizes(out, log):
    total = 0
    for name in sorted(os.listdir(out)):
        folder = os.path.join(out, name)
        if not os.path.isdir(folder):
            continue
        sizes = {f: os.path.getsize(os.path.join(folder, f)) for f in sorted(os.listdir(folder))}
        subtotal = sum(sizes.values())
        total += subtotal
        log(f"{name}: {subtotal / 1024:.0f} KiB  " + ", ".join(f"{f} {s / 1024:.1f}" for f, s in sizes.items()))
    log(f"total: {total / 1024 / 1024:.2f} MiB")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=DEFAULT_OUT)
    parser.add_argument("--only", nargs="*", default=None, choices=MODELS)
    parser.add_argument("--check", action="store_true", help="regenerate elsewhere and compare with --out")
    args = parser.parse_args()
    set_determinism()
    transformers.logging.set_verbosity_error()

    def log(message):
        print(message, file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory() as scratch:
        if args.check:
            target = os.path.join(scratch, "models")
            generate_all(target, args.only, scratch, log)
            bad = []
            for name in MODELS:
                if args.only and name not in args.only:
                    continue
                a, b = os.path.join(args.out, name), os.path.join(target, name)
                names = sorted(set(os.listdir(a)) | set(os.listdir(b))) if os.path.isdir(a) else ["(missing)"]
                for f in names:
                    if not (os.path.exists(os.path.join(a, f)) and os.path.exists(os.path.join(b, f))
                            and filecmp.cmp(os.path.join(a, f), os.path.join(b, f), shallow=False)):
                        bad.append(f"{name}/{f}")
            if not filecmp.cmp(os.path.join(args.out, "README.md"), os.path.join(target, "README.md"), shallow=False):
                bad.append("README.md")
            if bad:
                log("differs: " + ", ".join(bad))
                return 1
            log("all fixtures reproduce byte for byte")
            return 0
        generate_all(args.out, args.only, scratch, log)
        tree_sizes(args.out, log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
