#!/usr/bin/env python3
"""Golden Japanese word splits from janome 0.5.1, for MMedKit's JanomeSegmenter.

Purpose: MMedBench's scoring script splits Japanese with `[t.surface for t in Tokenizer().tokenize(text)]`
(janome's default system dictionary and options) before BLEU and ROUGE, and MMedKit must split every text the
same way. This script never looks at the Swift code: it gathers texts and asks janome (pinned in
`Tests/Oracles/requirements.txt`) for their surfaces.

Usage (from the repository root):

    python3 Tests/Oracles/janome_oracle.py OUTPUT.jsonl [--shared ../shared/data]

Texts, in this order, duplicates dropped (the first wins):
- our own adversarial texts: empty and whitespace-only texts; each character Python strips (`str.isspace`)
  alone, around and inside words; half- and full-width letters, digits and katakana; kanji numerals; symbols;
  emoji and other astral characters; kanji outside janome's KANJI ranges; Greek and Cyrillic; strings of
  dictionary words whose split janome's tie-breaking decides; combining marks, control characters, newlines,
  repeated characters; every character on either side of each boundary of janome's character-category ranges
  (`sysdic/chardef.py`), alone, tripled and between other characters; every Basic Multilingual Plane character
  (surrogates left out) and some astral blocks, in texts of 256; texts longer than janome's chunks (500 and
  1,024 characters) with and without punctuation and blank lines, with each chunk-ending mark placed on every
  offset from 494 to 506, and texts of 1,015 to 1,029 characters before a mark;
- with `--shared` (default: `../shared/data` beside the repository): every IgakuQA question text and choice
  (`qa/igakuqa-ja/data/*/NNN-X.jsonl`), the non-empty metadata reasons, and long texts of ten consecutive
  questions joined (one every 50 questions; with nothing, `\\n` or `\\n\\n` between); the Japanese FLORES-200
  devtest lines; Chinese (FLORES zho_Hans, the first 200 lines; MedQA MCMLE questions and choices) and English
  (FLORES eng, the first 200 lines; the first 60 IgakuQA translations) texts; every 40th Japanese question
  followed by its English translation;
- 2,000 seeded random texts (`--random`): runs from pools of kana, kanji, letters, digits, punctuation,
  whitespace and astral characters, spliced with pieces of the real texts (random.Random(20240501)); one in 50 is
  400-1,600 characters long.

Output: JSONL, one `{"source", "text", "surfaces"}` per text, UTF-8 with U+007F-U+009F, U+2028 and U+2029
written as \\uXXXX escapes, so records split on `\\n` alone. Two runs give byte-identical files, whatever
PYTHONHASHSEED is. Standard output gets one line of counts and the time janome took.
"""
import argparse
import glob
import json
import os
import random
import re
import sys
import time

from janome.sysdic import chardef
from janome.tokenizer import Tokenizer

_ESCAPES = {c: "\\u%04x" % c for c in list(range(0x7F, 0xA0)) + [0x2028, 0x2029]}


def dumps(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).translate(_ESCAPES)


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def read_lines(path):
    with open(path, encoding="utf-8", newline="") as f:
        return f.read().split("\n")


def log(*parts):
    print(*parts, file=sys.stderr, flush=True)


PYTHON_WHITESPACE = [chr(c) for c in range(0x110000) if chr(c).isspace()]


def adversarial_texts():
    texts = []
    add = lambda source, items: texts.extend((source, t) for t in items)

    add("empty", ["", " ", "\n", "\u3000", "\r\n\t \u3000\u00a0"])
    ws = PYTHON_WHITESPACE + ["\u200b", "\ufeff", "\u180e", "\u00d0"]  # the last ones are not whitespace for Python
    for c in ws:
        add("whitespace", [c, c * 3, "日本" + c + "語", c + "テスト" + c, "a" + c + "b", "医師" + c + c + "です。", c + "。"])
    add("whitespace", ["".join(PYTHON_WHITESPACE), "日本" + "".join(PYTHON_WHITESPACE) + "語"])

    add("width", [
        "ABCabc123", "ＡＢＣａｂｃ１２３", "ABCａｂｃ１２３abc", "ｶﾀｶﾅﾃｷｽﾄ", "ﾊﾟﾋﾟﾌﾟﾍﾟﾎﾟ", "カタカナテキスト", "ｶﾀｶﾅとカタカナ",
        "ＣＯＶＩＤ－１９", "COVID-19", "ＰＣＲ検査", "PCR検査で陽性", "ｍｇ／ｄＬ", "mg/dL", "１０ｍｇ", "10mg", "ⅠⅡⅢⅣ型",
        "①②③", "⑴⑵", "㈱", "㍻", "ｗｗｗｗ", "ｰｰｰ", "ー", "ーーーー", "ヴァイオリン", "ヷヸヹヺ", "ㇰㇱㇲ", "ゝゞヽヾ",
    ])
    add("numerals", [
        "一二三四五六七八九十百千万億兆", "〇", "〇〇〇", "二〇二三年", "2023年12月31日", "２０２３年１２月３１日",
        "3.14", "３．１４", "1,234,567円", "１，２３４円", "-5℃", "10^6", "1e-3", "0.5mg", "第3版", "三千五百人",
        "十一時", "二十歳", "四半期", "六本木", "一一一一一", "万一", "零", "壱弐参", "½⅓⅔", "²³", "₀₁₂",
    ])
    add("symbols", [
        "!@#$%^&*()_+-=[]{}|;:'\",.<>/?`~", "「」『』（）【】〔〕〈〉《》・…‥※→←↑↓", "℃㎎㎖μg", "±×÷≦≧≠∞",
        "★☆●○◎◇◆□■△▲▽▼", "♪♯♭", "〜～~", "、、、", "。。。", "！？!?", "？！", "‼⁉", "、", "。", "・", "…",
        "\\", "¥", "￥100", "$100", "€", "©®™", "§¶", "†‡", "°′″", "‰", "＃＄％＆", "＠", "︰︱", "﹐﹑", "｡｢｣､･",
    ])
    add("astral", [
        "😀", "👍🏽", "👨‍👩‍👧", "🇯🇵", "𠮷野家", "𩸽", "𠀋", "𪚲", "😀😀😀", "日本😀語", "テスト👍テスト", "𝐀𝐁𝐂",
        "\U0001f600です。", "a\U0010ffffb", "\U000e0001", "\uffff", "\ue000私用\uf8ff",
    ])
    add("kanji", [
        "龘靐齉", "鿰鿱", "鿦", "\u9fa6\u9fa7", "\u9fa5", "\u4db5\u4db6", "\u3400", "\ufa2e\ufa2f", "\ufa6b", "⺀⻳", "⼀⿕", "々",
        "人々", "時々刻々", "瓸粁糎", "躾鰯峠畑", "𠮟責", "凜", "髙橋", "﨑", "嶋﨑", "丗卄",
    ])
    add("scripts", [
        "αβγδ", "Ωμέγα", "Привет мир", "ÀÉÎÕÜ", "Ðð", "ÐÐÐ", "ÞþßĦ", "ǅǈǋ", "ȷȸ", "ḀḁỹỸ", "Ā", "ƀƁ",
        "한국어", "ไทย", "עברית", "العربية", "हिन्दी", "中文简体", "繁體中文", "Ѐѹ", "ԀԏԐ", "ͰʹͻϻϼϿ",
    ])
    add("mixed", [
        "患者はCOVID-19に感染し、PCR検査で陽性となった。", "HbA1c 7.5%、LDL-C 140mg/dL。", "BMI 25kg/m²",
        "CT(computed tomography)で肺野に陰影を認める。", "血圧 120/80mmHg、脈拍 72/分、整。",
        "Na 140mEq/L, K 4.0mEq/L, Cl 102mEq/L", "The patient（患者）is 45 years old（45歳）.",
        "答えはbです。", "a,b,c", "a、b、c", "(a) (b) (c)", "1)2)3)", "5歳の男児。", "肺癌 lung cancer 肺がん",
        "糖尿病患者の治療について説明せよ", "这是中文句子，包含标点符号。", "This is an English sentence.",
    ])
    # Strings of dictionary words where janome's tie-breaking decides the split (found by splitting 300,000 seeded
    # random strings with the rule changed): on equal path cost a dictionary word gives way to one with a smaller
    # entry id (first list), and otherwise the predecessor met first wins (second list).
    add("ties", [
        "南祝量れれ悔しから大宮北林もつれあお異なれ", "北五条東豊浦馬主阿丹花崎", "熟せよ専勝寺キャプスタン安全マラン抱き合っ",
        "珍宝いからせれそめあがりゃ古謝七島", "稲越川宮部上庄原ブラッサール", "偉大色付け差し出がましかろ鼓滝晴也",
        "はやらせろ引き込ん傾けん", "一の越もつれあお", "かけずれ落石西大外羽比治山女子短期大学",
        "くどけ人なつこしもちさんきりおとせよ積み替え", "可溶片遊べれ開き直りゃ突っかかろ彰洋", "上野学園大蔦島上回れ",
        "小松台東麦原森山工業いれれ",
    ])
    add("ties", [
        "菜々子えばん", "飛岳売りさばけ弁駁おぼえこも小塩共栄工業", "谷河内買い戻せよ", "うしろぐらきゃ書送るあおくさいあばれださ",
        "谷村百坂鴨礁かなくさけれ鹿ケ谷高岸", "押しわけんうけとめれやりとげろ総武線支線プライド", "村碆下松原剥がれろ",
        "中柘植田野口鴈五郎きづかう", "浅丘にがかっベネッセコーポレーションプレフィックス退紅しゃくにさわっ", "なで朝汐橋川脇川須成",
        "操一踞ろきたならしゅう押しやら", "出る八橋イサノ木槲山口説け辷り込ま", "でっちあげる秋山食品蔓延んアラコとりこめ",
        "糊しろビープラン齧りゃめさっ", "差出よ徳宝袋町憎らしけりゃ炊けれダイヤ", "上摂待茅原船橋きんぼ湯川南笹口つくっ",
        "思い違い万世町立沢大白おもいおこせ白川渡ほうろ", "映えろくるまれろ黙止", "流し込めん山間朝賀枯ればん草島新弓ノ",
        "出来上がり上漆原志げ子ひきのばせ清々しい山中", "盗み見よ康雅心得えすみつけよくり広げりゃ", "シロホン美鈴が丘西久宝寺",
        "美陽玄幹折重なれいからせよ", "君影病ほうけよ三業差し掛かん継っ歌島橋", "ローソク岩はばたけよ逸らさ新堀東有岡美流渡緑",
        "落とせ押しつけん", "住まわ華人五百瀬ポラロイドカメラ便れいちゃつき", "さしかか軽いひっ担がねじ向けれ",
        "村久野町寺東本地もちなおそうちあお高じアローシステム開発",
    ])
    add("combining", ["か\u3099", "は\u309a", "e\u0301", "\u0301", "が\u0301", "ア\u3099ー", "\u20dd", "a\u20d0"])
    add("controls", ["\x00", "\x07", "a\x00b", "\x7f", "\x1b[0m", "テスト\x00テスト", "\x01\x02\x03"])
    add("newlines", [
        "一行目\n二行目", "一行目\r\n二行目", "一行目\n\n二行目", "一行目\r\n\r\n二行目", "\n\n\n", "あ\n\n\nい",
        "行\r行", "a\nb\nc", "。\n。\n", "改行\u2028区切", "段落\u2029区切", "\n先頭と末尾\n",
    ])
    add("repeats", [
        "あ" * 10, "ア" * 10, "ー" * 20, "！" * 8, "ｗ" * 10, "w" * 12, "。" * 10, "、" * 10, "・" * 10,
        "すもももももももものうち", "ももももももももももも", "ははははは", "がががががが", "のののの", "ｰ" * 10,
    ])

    # Every character on either side of each boundary of janome's character-category ranges.
    categories, ranges = chardef.DATA
    boundary_chars = []
    for r in ranges:
        for c in (ord(r["from"]) - 1, ord(r["from"]), ord(r["to"]), ord(r["to"]) + 1):
            if 0 <= c < 0x110000 and not 0xD800 <= c < 0xE000 and chr(c) not in boundary_chars:
                boundary_chars.append(chr(c))
    for c in boundary_chars:
        add("category-boundary", [c, c * 3, "あ" + c + "い", "カ" + c + c + "キ", "漢" + c + "字", "a" + c + "1"])

    # Every BMP character and some astral blocks, 256 at a time.
    blocks = [range(start, start + 256) for start in range(0, 0x10000, 256) if not 0xD800 <= start < 0xE000]
    blocks += [range(start, start + 256) for start in (0x1F300, 0x1F600, 0x20000, 0x2A700, 0xE0000, 0x10FF00)]
    for block in blocks:
        add("block", ["".join(chr(c) for c in block)])

    # Long texts: chunking at 500 (after punctuation or a blank line) and at 1,024 characters.
    for n in (499, 500, 501, 1023, 1024, 1025, 2100):
        add("long", ["あ" * n, "ア" * n, "a" * n, "1" * n, "漢" * n, "一" * n, "😀" * n, "。" * n])
    add("long", [
        "漢字" * 1500, "日本語のテキスト" * 400, "これはテストです。" * 300, "これはテストです" * 300,
        "a " * 700, "テスト " * 400, "ab\u3000" * 500, "医学" * 300 + "\n\n" + "医学" * 300, "医学" * 300 + "\r\n\r\n" + "医学" * 300,
        "医学\n" * 400, "医学\r\n" * 400, ("検査を行う。" * 5 + "\n\n") * 40, "x" * 600 + "。" + "y" * 600,
        "x" * 1100 + "。", "ア" * 700 + "、" + "イ" * 700, ("患者" * 13 + "、") * 120, ("a" * 30 + ". ") * 100,
        ("1" * 40 + ",") * 60, ("問題" * 10 + "？") * 100, ("!" * 20 + "?") * 60, "\n\n".join(["あいう" * 100] * 12),
    ])
    for k in range(494, 507):
        for mark in ("。", "、", ",", ".", "？", "?", "！", "!", "\n\n", "\r\n\r\n", "\n", "\r\n", "…"):
            add("split-offset", ["た" * k + mark + "テスト" * 20])
            if 498 <= k <= 502:
                add("split-offset", ["漢字" * (k // 2) + "あ" * (k % 2) + mark + "検査" * 30])
    for k in range(1015, 1030):
        add("split-offset", ["の" * k + "。" + "の" * 100, "a" * k + " b" * 50, "テスト" * (k // 3) + "ア" * (k % 3) + "。テスト"])
    return texts


def shared_texts(shared):
    texts = []
    qa_root = os.path.join(shared, "qa/igakuqa-ja/data")
    questions = []
    for path in sorted(glob.glob(os.path.join(qa_root, "*/*.jsonl"))):
        name = os.path.basename(path)
        if re.fullmatch(r"\d+-[A-Z]\.jsonl", name):
            for q in read_jsonl(path):
                questions.append(q)
                texts.append(("igakuqa-question", q["problem_text"]))
                texts.extend(("igakuqa-choice", c) for c in q["choices"])
    for path in sorted(glob.glob(os.path.join(qa_root, "*/*_metadata.jsonl"))):
        texts.extend(("igakuqa-reason", m["reason"]) for m in read_jsonl(path) if m.get("reason"))
    for i in range(0, len(questions) - 9, 50):
        group = [q["problem_text"] for q in questions[i : i + 10]]
        texts.append(("igakuqa-joined", ["".join, "\n".join, "\n\n".join][(i // 50) % 3](group)))

    flores = os.path.join(shared, "text/flores200-devtest")
    texts.extend(("flores-jpn", line) for line in read_lines(os.path.join(flores, "jpn_Jpan.devtest")) if line)
    texts.extend(("flores-zho", line) for line in read_lines(os.path.join(flores, "zho_Hans.devtest"))[:200] if line)
    texts.extend(("flores-eng", line) for line in read_lines(os.path.join(flores, "eng_Latn.devtest"))[:200] if line)
    for q in read_jsonl(os.path.join(shared, "qa/medqa-mcmle-zh/medqa_zh_first60.jsonl")):
        texts.append(("medqa-zh", q["problem_text"]))
        texts.extend(("medqa-zh", c) for c in q["choices"])

    translations = {}
    for path in sorted(glob.glob(os.path.join(qa_root, "*/*_translate.jsonl"))):
        for t in read_jsonl(path):
            translations[t["problem_id"]] = t
    for q in questions[:60]:
        t = translations.get(q["problem_id"])
        if t:
            texts.append(("igakuqa-english", t["problem_text_en"]))
            texts.extend(("igakuqa-english", c) for c in t["choices_en"])
    for q in questions[::40]:
        t = translations.get(q["problem_id"])
        if t:
            texts.append(("igakuqa-mixed", q["problem_text"] + " " + t["problem_text_en"]))
    return texts


def random_texts(real_texts, count):
    rng = random.Random(20240501)
    pools = [
        [chr(c) for c in range(0x3041, 0x3097)],  # hiragana
        [chr(c) for c in range(0x30A1, 0x30FB)] + ["ー"],  # katakana
        [chr(c) for c in range(0xFF66, 0xFFA0)],  # half-width katakana
        list("日本語医学患者治療診断検査症状病院薬剤血液心臓肺癌腎臓肝臓一二三四五六七八九十百千万人々〇"),
        [chr(c) for c in range(0x21, 0x7F)],  # ASCII
        [chr(c) for c in range(0xFF01, 0xFF5F)],  # full-width ASCII
        list("、。，．！？!?,.・「」（）…\n\r\t \u3000"),
        ["😀", "𠮷", "𩸽", "\U0001f44d", "\U00020000", "\u00d0", "α", "Ж", "é", "\u3099", "\u200b"],
    ]
    real = [t for t in real_texts if t]
    texts = []
    for i in range(count):
        long_text = i % 50 == 49
        target = rng.randint(400, 1600) if long_text else rng.randint(1, 60)
        pieces, length = [], 0
        while length < target:
            if real and rng.random() < 0.45:
                source = rng.choice(real)
                start = rng.randrange(len(source))
                piece = source[start : start + rng.randint(1, 12)]
            else:
                pool = rng.choice(pools)
                piece = "".join(rng.choice(pool) for _ in range(rng.randint(1, 8)))
            pieces.append(piece)
            length += len(piece)
        texts.append(("random", "".join(pieces)))
    return texts


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("output")
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--shared", default=os.path.join(here, "../../../shared/data"))
    parser.add_argument("--random", type=int, default=2000, help="number of seeded random texts")
    args = parser.parse_args()

    texts = adversarial_texts()
    real = []
    if os.path.isfile(os.path.join(args.shared, "README.md")):
        real = shared_texts(args.shared)
        texts += real
    else:
        log(f"janome_oracle.py: no shared data at {args.shared}; own texts only")
    texts += random_texts([t for _, t in real], args.random)

    seen, unique = set(), []
    for source, text in texts:
        if text not in seen:
            seen.add(text)
            unique.append((source, text))

    started = time.perf_counter()
    tokenizer = Tokenizer()
    loaded = time.perf_counter()
    rows = [(source, text, [t.surface for t in tokenizer.tokenize(text)]) for source, text in unique]
    finished = time.perf_counter()
    with open(args.output, "w", encoding="utf-8", newline="\n") as f:
        for source, text, surfaces in rows:
            f.write(dumps({"source": source, "text": text, "surfaces": surfaces}) + "\n")
    characters = sum(len(text) for _, text in unique)
    print(
        f"janome_oracle.py: {len(rows)} texts, {characters} characters, {sum(len(s) for *_, s in rows)} words; "
        f"janome load {loaded - started:.2f} s, tokenize {finished - loaded:.2f} s "
        f"({characters / max(finished - loaded, 1e-9):.0f} characters/s)"
    )


if __name__ == "__main__":
    main()
