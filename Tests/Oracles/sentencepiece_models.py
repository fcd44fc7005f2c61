#!/usr/bin/env python3
"""Golden ids and decodes from the Python `sentencepiece` library (pinned in requirements.txt) for MMedKit's
SentencePieceTokenizer tests.

    python3 Tests/Oracles/sentencepiece_models.py --shared ../shared/data --out OUTDIR [--llama PATH]

Trains small models with `spm.SentencePieceTrainer.train` on text from `shared/data/text` into OUTDIR (UNIGRAM with
the default nmt_nfkc rules and user-defined symbols, BPE with byte fallback, BPE without byte fallback and with
the identity normalizer, UNIGRAM with byte fallback and whitespace as suffix, UNIGRAM without the dummy prefix,
UNIGRAM with custom normalization and denormalization rules, CHAR and WORD models, and copies of the first two
with some pieces turned UNUSED), then writes
OUTDIR/golden.json:

    {"sentencepiece": version, "models": [{"name", "model" (path), "vocab_size", "bos", "eos", "pad", "unk",
      "pieces": [every piece's text, by id], "piece_to_id": [sp.piece_to_id(piece) for each piece],
      "encodes": [{"text", "ids" (sp.encode(text)), "decoded" (sp.decode(ids))}],
      "decodes": [{"ids", "text" (sp.decode(ids)), "text_without_control" (sp.decode of ids minus control ids)}]}]}

With --llama, the Llama 2 model at PATH is added (as "llama2"). Everything is seeded: the texts, the id sequences
for "decodes" and the training (one thread), so two runs write the same file.

The texts include real sentences in 8 languages (some unseen in training), whitespace oddities, control
characters, every byte value decoded with errors="replace", 10,000 × "a", a 65 kB document (long enough for
the unigram encoder's score reset at ±100,000) and 40,000 distinct made-up words (more than MMedKit's BPE word
cache holds). MMedKit's `SentencePieceTests` runs this script at test time; it takes about 10 s.
"""

import argparse
import json
import os
import random
import sys

import sentencepiece as spm


def read_lines(path, limit):
    with open(path, encoding="utf-8") as handle:
        return [line.rstrip("\n") for line in handle][:limit]


def training_corpus(shared):
    """Sentences from FLORES (8 languages) and WMT news, written one per line."""
    flores = os.path.join(shared, "text", "flores200-devtest")
    lines = []
    for language in ["eng_Latn", "zho_Hans", "jpn_Jpan", "fra_Latn", "rus_Cyrl", "spa_Latn", "deu_Latn", "arb_Arab"]:
        lines += read_lines(os.path.join(flores, f"{language}.devtest"), 400)
    lines += read_lines(os.path.join(shared, "text", "wmt-news", "newstest2013.en"), 1500)
    return lines


def test_texts(shared):
    """The texts every model encodes: real sentences, then edge cases."""
    flores = os.path.join(shared, "text", "flores200-devtest")
    texts = []
    # Lines 900+ were not used for training, so unknown words and characters occur.
    for language in ["eng_Latn", "zho_Hans", "jpn_Jpan", "fra_Latn", "rus_Cyrl", "spa_Latn", "deu_Latn", "arb_Arab"]:
        lines = read_lines(os.path.join(flores, f"{language}.devtest"), 1012)
        texts += lines[:10] + lines[900:920]
    texts += read_lines(os.path.join(shared, "text", "wmt-news", "newstest2012.ru"), 10)
    with open(os.path.join(shared, "text", "dolma-cc-en", "multiple_files__cc_en_head-0091.jsonl"), encoding="utf-8") as handle:
        for number, line in enumerate(handle):
            if number >= 5:
                break
            texts.append(json.loads(line)["text"])
    # Several sentences joined: long inputs with many spaces.
    texts.append(" ".join(read_lines(os.path.join(flores, "eng_Latn.devtest"), 60)))
    texts.append("".join(read_lines(os.path.join(flores, "zho_Hans.devtest"), 60)))
    texts += [
        "", " ", "  ", "   ", "\t", "\n", "\n\n", " \n ", "a", " a", "a ", "  a  b   c  ", "a\tb", "a\nb", "a\r\nb",
        "Hello world", " Hello world", "Hello  world", "Hello   world ", "Hello\u3000world", "\u3000Hello",
        "x" * 100, "a" * 10000, "ab" * 3000, " " * 50 + "end", "end" + " " * 50,
        "Ｆｕｌｌｗｉｄｔｈ　ＡＢＣ１２３", "ｶﾀｶﾅ", "①②③ ⅰⅱⅲ ㍻ ﬁ ﬂ ℃ ㎏", "e\u0301 é \u00e9 \u0065\u0301\u0301",
        "😀😃🤖 👩‍👩‍👧 🇫🇷 🏳️‍🌈", "emoji😀inside", "\u0000", "a\u0000b", "\u0001\u0002\u007f", "\u200b\u200c\u200d\ufeff",
        "\u2581", "\u2581\u2581a", "a\u2581", "a \u2581 b", "<s>", "</s>", "<unk>", "<pad>", "<0x41>", "<s> hi </s>",
        "▁Hello", "\ufffd", "\ud7ff\ue000\uffff", "\U0010ffff", "𠜎𠜱𠝹𠱓", "ΑΒΓ αβγ", "Привет, мир!", "مرحبا بالعالم",
        "שלום עולם", "नमस्ते दुनिया", "こんにちは世界", "안녕하세요 세계", "ไทย ภาษา", "1234567890", "3.14159 2,718",
        "COVID-19 SARS-CoV-2 mRNA-1273", "<med>aspirin</med> <med>", "a<med>b", "user@example.com https://x.org/a?b=c",
        "    def f(x):\n        return x  # comment\n", "Mixed中文and English混合", "tab\tseparated\tvalues",
        "AB ABC A B ß Straße\u3000Hallo! x\u200by  \t z", "ABAB!!", "  x  x  ", "Hello! ！",
    ]
    texts.append(bytes(range(256)).decode("utf-8", errors="replace"))
    texts.append(bytes(range(255, -1, -1)).decode("utf-8", errors="replace"))
    texts.append("".join(chr(code) for code in range(0x20, 0x3000, 7) if not 0xD800 <= code < 0xE000))
    rng = random.Random(20240917)
    # 40,000 distinct made-up words: more segments than MMedKit's BPE word cache holds (32,768), so it starts over.
    letters = "abcdefghijklmnopqrstuvwxyzéü"
    words = set()
    while len(words) < 40000:
        words.add("".join(rng.choice(letters) for _ in range(rng.randint(3, 12))))
    texts.append(" ".join(sorted(words)))
    alphabet = "ab c\t\n  \u3000é中😀ｱ\u2581<>0x"
    for _ in range(40):
        texts.append("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30))))
    return texts


def train(out, corpus_path, name, **options):
    prefix = os.path.join(out, name)
    spm.SentencePieceTrainer.train(
        input=corpus_path, model_prefix=prefix, num_threads=1, minloglevel=2, **options)
    return prefix + ".model"


def _varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _read_varint(data, index):
    value, shift = 0, 0
    while True:
        byte = data[index]
        index += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, index


def _fields(data):
    """(field number, wire type, payload, raw bytes) of each field of a serialized message (no groups)."""
    index = 0
    while index < len(data):
        start = index
        tag, index = _read_varint(data, index)
        field, wire = tag >> 3, tag & 7
        if wire == 0:
            payload, index = _read_varint(data, index)
        elif wire == 1:
            payload, index = data[index:index + 8], index + 8
        elif wire == 2:
            length, index = _read_varint(data, index)
            payload, index = data[index:index + length], index + length
        elif wire == 5:
            payload, index = data[index:index + 4], index + 4
        else:
            raise ValueError(f"wire type {wire}")
        yield field, wire, payload, data[start:index]


def with_unused_pieces(model_path, out_path, every):
    """Copies a model, turning every `every`-th NORMAL piece of two or more characters into an UNUSED one (type 5):
    the trainer never writes such pieces, but sentencepiece handles them (BPE merges through them and splits them
    back; UNIGRAM skips them)."""
    with open(model_path, "rb") as handle:
        data = handle.read()
    out = bytearray()
    index = 0
    for field, wire, payload, raw in _fields(data):
        if field != 1 or wire != 2:
            out += raw
            continue
        parts = list(_fields(payload))
        text = next((p.decode("utf-8") for f, w, p, _ in parts if f == 1), "")
        piece_type = next((p for f, w, p, _ in parts if f == 3), 1)
        if piece_type == 1 and len(text) >= 2 and index % every == 0:
            body = b"".join(r for f, w, p, r in parts if f != 3) + _varint(3 << 3) + _varint(5)
            out += _varint(1 << 3 | 2) + _varint(len(body)) + body
        else:
            out += raw
        index += 1
    with open(out_path, "wb") as handle:
        handle.write(bytes(out))
    return out_path


def decode_cases(sp, rng):
    """Id sequences that stress decoding: byte pieces in valid and invalid runs, control and unknown ids, pieces
    with and without a leading space."""
    size = sp.get_piece_size()
    controls = [i for i in range(size) if sp.is_control(i)]
    bytes_ = [i for i in range(size) if sp.is_byte(i)]
    normal = [i for i in range(size) if not (sp.is_control(i) or sp.is_byte(i) or sp.is_unknown(i))]
    unknown = [i for i in range(size) if sp.is_unknown(i)]
    cases = [[], list(range(min(size, 300)))]
    for _ in range(150):
        ids = []
        for _ in range(rng.randint(1, 12)):
            pool = rng.choice([controls, bytes_, bytes_, normal, normal, unknown])
            if pool:
                ids.append(rng.choice(pool))
        cases.append(ids)
    if bytes_:
        byte_id = {sp.id_to_piece(i): i for i in bytes_}
        for raw in [b"\xe4\xb8\xad", b"\xe4\xb8", b"\xe4", b"\xf0\x9f\x98\x80", b"\xf0\x9f\x98", b"\xc0\xaf", b"\xed\xa0\x80",
                    b"\xef\xbf\xbd", b"\xf4\x90\x80\x80", b"\x80\x80", b"a\xffb"]:
            ids = [byte_id[f"<0x{b:02X}>"] for b in raw]
            cases.append(ids)
            if controls:
                cases.append(ids[:1] + [controls[0]] + ids[1:])
                cases.append([controls[0]] + ids)
    return cases


def golden_for(name, model_path, texts, seed):
    sp = spm.SentencePieceProcessor(model_file=model_path)
    size = sp.get_piece_size()
    pieces = [sp.id_to_piece(i) for i in range(size)]
    encodes = []
    for text in texts:
        ids = sp.encode(text)
        encodes.append({"text": text, "ids": ids, "decoded": sp.decode(ids)})
    decodes = []
    for ids in decode_cases(sp, random.Random(seed)):
        kept = [i for i in ids if not sp.is_control(i)]
        decodes.append({"ids": ids, "text": sp.decode(ids), "text_without_control": sp.decode(kept)})
    return {
        "name": name, "model": os.path.abspath(model_path), "vocab_size": size,
        "bos": sp.bos_id(), "eos": sp.eos_id(), "pad": sp.pad_id(), "unk": sp.unk_id(),
        "pieces": pieces, "piece_to_id": [sp.piece_to_id(piece) for piece in pieces],
        "encodes": encodes, "decodes": decodes,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared", required=True, help="the shared data folder (../shared/data)")
    parser.add_argument("--out", required=True, help="folder for the trained models and golden.json")
    parser.add_argument("--llama", help="Llama 2 tokenizer.model to include")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)

    corpus_path = os.path.join(args.out, "corpus.txt")
    with open(corpus_path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(training_corpus(args.shared)) + "\n")

    common = dict(vocab_size=3000, character_coverage=0.98, input_sentence_size=0, shuffle_input_sentence=False)
    models = [
        ("unigram_nfkc", train(args.out, corpus_path, "unigram_nfkc", model_type="unigram",
                               user_defined_symbols=["<med>", "</med>", "COVID-19"], control_symbols=["<ctrl>"], **common)),
        ("bpe_byte_fallback", train(args.out, corpus_path, "bpe_byte_fallback", model_type="bpe", byte_fallback=True,
                                    user_defined_symbols=["<med>"], pad_id=3, **common)),
        ("bpe_identity_unk", train(args.out, corpus_path, "bpe_identity_unk", model_type="bpe", normalization_rule_name="identity",
                                   remove_extra_whitespaces=False, character_coverage=0.98, vocab_size=3000,
                                   input_sentence_size=0, shuffle_input_sentence=False)),
        ("unigram_suffix_bytes", train(args.out, corpus_path, "unigram_suffix_bytes", model_type="unigram", byte_fallback=True,
                                       treat_whitespace_as_suffix=True, split_digits=True, **common)),
        ("unigram_no_dummy_prefix", train(args.out, corpus_path, "unigram_no_dummy_prefix", model_type="unigram",
                                          add_dummy_prefix=False, normalization_rule_name="nfkc_cf", **common)),
        ("char", train(args.out, corpus_path, "char", model_type="char", vocab_size=3000, character_coverage=0.98, hard_vocab_limit=False,
                       input_sentence_size=0, shuffle_input_sentence=False)),
        ("word", train(args.out, corpus_path, "word", model_type="word", vocab_size=3000, hard_vocab_limit=False, input_sentence_size=0,
                       shuffle_input_sentence=False)),
    ]
    # Custom rules: a multi-character key overlapping a one-character one (longest match), a deletion, a rule
    # whose output is a space; and a denormalizer, which decoding applies to its result.
    rules_path = os.path.join(args.out, "rules.tsv")
    with open(rules_path, "w", encoding="utf-8") as handle:
        handle.write("DF\t73 73\n41\t61\n41 42\t78\n200B\t\n3000\t20\n9\t20\nFF01\t21\n")
    denormalization_path = os.path.join(args.out, "denormalization.tsv")
    with open(denormalization_path, "w", encoding="utf-8") as handle:
        handle.write("21\tFF01\n78\t41 42\n20 20\t5F\n")
    models.append(("unigram_custom_rules", train(args.out, corpus_path, "unigram_custom_rules", model_type="unigram",
                                                 normalization_rule_tsv=rules_path,
                                                 denormalization_rule_tsv=denormalization_path, **common)))
    models.append(("bpe_unused", with_unused_pieces(models[1][1], os.path.join(args.out, "bpe_unused.model"), 5)))
    models.append(("unigram_unused", with_unused_pieces(models[0][1], os.path.join(args.out, "unigram_unused.model"), 5)))
    if args.llama:
        models.append(("llama2", args.llama))

    texts = test_texts(args.shared)
    golden = {"sentencepiece": spm.__version__,
              "models": [golden_for(name, path, texts, seed) for seed, (name, path) in enumerate(models)]}
    with open(os.path.join(args.out, "golden.json"), "w", encoding="utf-8") as handle:
        json.dump(golden, handle, ensure_ascii=True)
    print(f"{len(models)} models, {len(texts)} texts", file=sys.stderr)


if __name__ == "__main__":
    main()
