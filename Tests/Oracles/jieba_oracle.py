#!/usr/bin/env python3
"""Golden segmentations from jieba 0.42.1 for MMedKit's JiebaSegmenter: `list(jieba.cut(text))` (accurate mode,
HMM on) of every text of a fixed corpus.

    python3 Tests/Oracles/jieba_oracle.py OUTPUT.jsonl [--shared ../shared/data]

Corpus, in this order (deterministic: no clock, seeded randomness, files and keys read in sorted order):
- every string value of every record of qa/medqa-mcmle-zh/*.jsonl, qa/medqa-usmle-en/*.jsonl and qa/igakuqa-ja
  (data and baseline_results); of the first 150 records of the other QA sets (English, French, Spanish, Russian);
- every line of text/flores200-devtest/*.devtest; the first 150 lines of text/wmt-news/newstest2013.*;
- our own adversarial texts (whitespace of every kind, decimals and percentages, full-width forms, scripts and
  characters outside U+4E00-U+9FD5, astral characters, combining marks, NUL, long and repetitive texts) and seeded
  random texts over a pool of characters that exercises each rule of jieba.

Duplicates are written once, and texts that are not valid Unicode (lone surrogates) are left out; both are counted
on stderr. Output: JSONL, ASCII only. Line 1 is a header {"jieba", "python", "count", "prefix_dictionary_keys"
(len(FREQ): the words and their prefixes), "total_frequency"}; then one line per text:
{"source", "text", "tokens"}. The tokens always join to the text: the script checks it.
"""

import argparse
import glob
import json
import logging
import os
import random
import sys
import tempfile

import jieba

REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def strings_of(value):
    """Every str inside a JSON value, depth first, object keys in sorted order."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from strings_of(item)
    elif isinstance(value, dict):
        for key in sorted(value):
            yield from strings_of(value[key])


def json_records(path, limit=None):
    """The records of a .jsonl file (one per non-blank line) or of a .json file (a list, or a dict's values)."""
    with open(path, encoding="utf-8") as handle:
        if path.endswith(".jsonl"):
            records = [json.loads(line) for line in handle if line.strip()]
        else:
            data = json.load(handle)
            records = data if isinstance(data, list) else [data[key] for key in sorted(data)]
    return records if limit is None else records[:limit]


def qa_texts(shared):
    full = ["qa/medqa-mcmle-zh/*.jsonl", "qa/medqa-usmle-en/*.jsonl", "qa/igakuqa-ja/**/*.jsonl"]
    sampled = [
        "qa/english/*.json*",
        "qa/frenchmedmcqa-fr/*.json",
        "qa/headqa/*/*.json",
        "qa/rumeddanet-ru/*.jsonl",
    ]
    for patterns, limit in ((full, None), (sampled, 150)):
        for pattern in patterns:
            for path in sorted(glob.glob(os.path.join(shared, pattern), recursive=True)):
                source = os.path.relpath(path, shared)
                for record in json_records(path, limit):
                    for text in strings_of(record):
                        yield source, text


def line_texts(shared):
    for path in sorted(glob.glob(os.path.join(shared, "text/flores200-devtest/*.devtest"))):
        with open(path, encoding="utf-8", newline="") as handle:
            for line in handle.read().split("\n"):
                yield os.path.relpath(path, shared), line
    for path in sorted(glob.glob(os.path.join(shared, "text/wmt-news/newstest2013.*"))):
        with open(path, encoding="utf-8", newline="") as handle:
            for line in handle.read().split("\n")[:150]:
                yield os.path.relpath(path, shared), line


# Han characters inside U+4E00-U+9FD5 that no emission table of finalseg knows (the Viterbi scores them MIN_FLOAT,
# so its ties decide), and some it knows.
UNSEEN_HAN = "".join(chr(c) for c in range(0x9FC3, 0x9FD6))
COMMON_HAN = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选标写存候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁价严龙飞"
RARE_HAN = "\u9fd0\u9fd1\u9fd2\u9fd3\u9fd4\u9fd5\u4e00\u9fa5\u9fa6\u9fbb\u9fbc"


def adversarial_texts():
    texts = [
        # Empty text and whitespace of every kind: each whitespace character is its own token, \r\n excepted.
        "", " ", "  ", "\t", "\n", "\r", "\r\n", "\r\n\r\n", "\r\r\n\n", "\n\r", "\u3000", "\u3000\u3000", "\xa0",
        "\x0b\x0c", "\x1c\x1d\x1e\x1f", "\x85", "\u1680", "\u2000\u2001\u200a", "\u2028\u2029", "\u202f\u205f",
        "\u200b", "\ufeff", " \t\r\n\u3000\xa0 \t",
        "中国 人民\t银行\r\n北京\u3000大学\xa0医院\n\n患者\r病情",
        "  前后空格  ", "\r\n开头和结尾\r\n", "a b  c\t\td",
        # Decimals and percentages (re_skip of finalseg) next to Han text and alone.
        "3.14", "3.14%", "99.5%的患者", "患者99.5%", "1.2.3", "1..2", "v1.0.2版本", "50%", "%50", "1.%", "12.5mg/kg",
        "体温39.5℃", "血压120/80mmHg", ".5", "0.5", "3.", "abc.123", "a.b", "1,000.5元", "-1.5%", "+86-10-12345678",
        "剂量为0.25mg，每日3次", "发生率约为5%～10%", "第1.5.2节", "HbA1c为7.5%左右", "PM2.5浓度", "2019年12月31日",
        "a1.2b3.4%c", "１.５", "1.５", "1.5.", "%%", "1%%", "x.1", "..5", "5..", "__init__", "a_b.c-d#e&f+g%h",
        # Unicode digits (\d of Python matches them; jieba's character classes do not).
        "١٢٣.٤٥%", "患者1.٥%", "๑๒๓", "²³", "Ⅻ章", "①②③", "𝟙𝟚.𝟛",
        # Full-width letters and digits.
        "ＡＢＣ１２３", "５０％", "Ｘ线片", "ｈｅｌｌｏ　ｗｏｒｌｄ", "ＣＴ检查", "体温３９．５℃",
        # Mixed Latin and Han.
        "我爱Python编程", "使用CT和MRI检查", "COVID-19疫情", "C++和C#语言", "AT&T公司", "B超检查", "T细胞",
        "e-mail地址", "hello_world中文", "α-干扰素", "β受体阻滞剂", "γ射线", "IgG抗体", "HbA1c水平", "c++", "C#",
        "at&t", "b超", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "iPhone手机和iPad平板", "维生素B12缺乏", "HIV/AIDS患者",
        "Na+-K+-ATP酶", "CD4+T淋巴细胞", "pH值7.35~7.45", "II型糖尿病", "Ⅱ型糖尿病",
        # Characters outside U+4E00-U+9FD5: CJK extension A, U+9FD6-U+9FFF, compatibility ideographs, radicals.
        "㐀㐁㐂", "中㐀国", "\u9fd5\u9fd6", "\u9fd6\u9fd7\u9fea\u9fff", "中\u9fd6国", "\u4dff\u4e00", "豈更車",
        "⺀⺁⼀", "〇", "々", "中々", "〆", "ヶ月",
        # Han characters the HMM has never seen (MIN_FLOAT emissions: ties decide), alone and among known ones.
        UNSEEN_HAN, UNSEEN_HAN * 3, "中" + UNSEEN_HAN + "国", "鿐鿑是" + UNSEEN_HAN[:3] + "的",
        "龘龘龘", "靐靐", "齉齉齉齉", "张三李四王五赵六", "欧阳娜娜和司马相如",
        # Astral characters and emoji.
        "😀", "😀中文😀", "👨\u200d👩\u200d👧 家庭", "𠀀𠀁𠀂", "𪚥", "中𠮷野家", "🇨🇳", "👍🏽", "\U0010ffff", "\U000e0001",
        # Japanese, Korean and other scripts.
        "東京都に住んでいます", "カタカナとひらがな", "ｶﾀｶﾅ", "肝硬変を母地として発生した", "한국어 텍스트",
        "Привет, мир!", "Ελληνικά", "עברית", "العربية", "हिन्दी", "ไทย",
        # Punctuation.
        "，。！？；：“”‘’（）【】《》、…—", "中文，标点。符号！", "a,b;c:d", "!!!???", "...", "---", "___", "###",
        "&&&", "+++", "%%%", "a-b-c", "（　　）", "——", "……", "~!@$^*()=[]{}|\\:;\"'<>,?/`",
        # NUL and other control characters.
        "\x00", "中\x00国", "a\x00b", "\x00\x00", "\x01\x02\x7f", "\x1b[0m", "中\x7f国",
        # Combining marks, variation selectors, joiners.
        "e\u0301", "中\u0301国", "a\u0301b", "\u0301", "Ａ\u0308", "中\ufe0f", "中\u200d国", "\ufeff中国", "中\u200b国",
        "1\u20e3", "é", "e\u0301\u0301",
        # Noncharacters and private use.
        "\uffff", "\ufffe", "\ue000中", "\ufffd",
        # The same character repeated, and alternations.
        "的" * 5000, "中" * 10000, "a" * 10000, "1" * 10000, "。" * 100, "中a" * 5000, " " * 1000, "\r\n" * 500,
        "1." * 1000, "%" * 100, "-" * 100, "哈" * 100, "嗯" * 37, "中国" * 2000, "人民" * 333 + "银行",
        RARE_HAN * 100,
    ]
    return texts


def random_texts(seed, count):
    """Seeded random texts over a pool that reaches each rule: dictionary words, known and unseen Han, the
    re_han_default punctuation, re_skip's alphanumerics, decimals and percent signs, whitespace, other scripts."""
    rng = random.Random(seed)
    words = []
    with open(os.path.join(os.path.dirname(jieba.__file__), "dict.txt"), encoding="utf-8") as handle:
        for line in handle:
            words.append(line.split(" ")[0])
    pool = [
        lambda: rng.choice(words),
        lambda: rng.choice(words),
        lambda: rng.choice(COMMON_HAN),
        lambda: rng.choice(UNSEEN_HAN + RARE_HAN),
        lambda: chr(rng.randint(0x4E00, 0x9FD5)),
        lambda: chr(rng.randint(0x9FD6, 0x9FFF)),
        lambda: chr(rng.randint(0x3400, 0x4DBF)),
        lambda: rng.choice("abcxyzABCXYZ0123456789"),
        lambda: "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(1, 8))),
        lambda: str(rng.randint(0, 1000)) + rng.choice(["", ".", ".5", "." + str(rng.randint(0, 99)), "%", ".25%"]),
        lambda: rng.choice("+#&._%-"),
        lambda: rng.choice([" ", "  ", "\t", "\n", "\r", "\r\n", "\u3000", "\xa0", "\x0b", "\x1f", "\u2028"]),
        lambda: rng.choice("，。！？；：“”（）、…—"),
        lambda: rng.choice("あいうアイウーｱｲ한국ЖжÉé١٢😀𠀀\u0301\x00\ufeff"),
        lambda: rng.choice("ＡＢ１２％．"),
    ]
    for _ in range(count):
        pieces = rng.randint(1, 40)
        yield "".join(rng.choice(pool)() for _ in range(pieces))
    # Runs of Han only, long enough for the HMM and the route to matter.
    han_pool = [lambda: rng.choice(words), lambda: rng.choice(COMMON_HAN), lambda: rng.choice(UNSEEN_HAN + RARE_HAN),
                lambda: chr(rng.randint(0x4E00, 0x9FD5))]
    for _ in range(count):
        yield "".join(rng.choice(han_pool)() for _ in range(rng.randint(1, 30)))


def long_texts(corpus):
    """Long texts made of the corpus' Chinese and Japanese texts: 10,000 and 100,000 characters."""
    cjk = [text for source, text in corpus if "zh" in source or "zho" in source or "ja" in source or "jpn" in source]
    joined = "".join(cjk)
    return [joined[:10000], joined[:100000], "\n".join(cjk)[:50000]]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output")
    parser.add_argument("--shared", default=os.path.join(os.path.dirname(REPOSITORY), "shared", "data"))
    parser.add_argument("--random", type=int, default=3000, help="random texts of each kind")
    arguments = parser.parse_args()

    if jieba.__version__ != "0.42.1":
        sys.exit(f"jieba {jieba.__version__} is installed; the golden data are for 0.42.1 (run scripts/setup)")
    jieba.setLogLevel(logging.WARNING)
    # Build the prefix dictionary from dict.txt, not from a jieba.cache another jieba may have left in /tmp.
    with tempfile.TemporaryDirectory() as cache_folder:
        jieba.dt.tmp_dir = cache_folder
        jieba.initialize()

    corpus = list(qa_texts(arguments.shared)) + list(line_texts(arguments.shared))
    corpus += [("adversarial", text) for text in adversarial_texts()]
    corpus += [("long", text) for text in long_texts(corpus)]
    corpus += [("random", text) for text in random_texts(20240531, arguments.random)]

    seen = set()
    rows = []
    duplicates = invalid = 0
    for source, text in corpus:
        if text in seen:
            duplicates += 1
            continue
        seen.add(text)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            invalid += 1
            continue
        tokens = list(jieba.cut(text))
        if "".join(tokens) != text:
            sys.exit(f"jieba's tokens do not join to the text: {text!r}")
        rows.append({"source": source, "text": text, "tokens": tokens})

    with open(arguments.output, "w", encoding="ascii", newline="\n") as out:
        header = {"jieba": jieba.__version__, "python": sys.version.split()[0], "count": len(rows),
                  "prefix_dictionary_keys": len(jieba.dt.FREQ), "total_frequency": jieba.dt.total}
        out.write(json.dumps(header) + "\n")
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=True) + "\n")
    tokens = sum(len(row["tokens"]) for row in rows)
    characters = sum(len(row["text"]) for row in rows)
    print(f"jieba_oracle: {len(rows)} texts, {characters} characters, {tokens} tokens "
          f"({duplicates} duplicates and {invalid} texts with lone surrogates left out)", file=sys.stderr)


if __name__ == "__main__":
    main()
