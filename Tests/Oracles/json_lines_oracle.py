#!/usr/bin/env python3
"""Oracle for MMedKit's JSONL line scanner: what CPython's json module decides for many JSON lines.

Standard library only, deterministic (fixed seed). Writes one record per test line:

    {"line_b64": base64 of the raw line bytes (no newline), "accept": bool, "text": str | null,
     "text_kind": "string" | "missing" | "number" | "null" | "bool" | "object" | "array" | null,
     "note": short category}

Decision rule (the contract):
  - bytes.decode("utf-8") (strict) fails          -> reject, note "invalid utf-8"
  - json.loads(s) (default settings) raises         -> reject (any exception: JSONDecodeError, RecursionError,
                                                       ValueError for integers over 4300 digits)
  - the result is not a dict                        -> reject, note "not an object"
  - obj["text"] is a str with a lone surrogate      -> reject, note "lone surrogate" (only the "text" value is checked)
  - otherwise accept; text = obj["text"] if it is a str else null; text_kind describes obj.get("text").
Rejected lines have text null; text_kind is null when no object was produced.

Usage: json_lines_oracle.py [OUTPUT]   (default Tests/MMedIOTests/Fixtures/json-lines.jsonl)
"""
import base64
import json
import os
import random
import sys

SEED = 20241125
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DEFAULT_OUT = os.path.join(REPO, "Tests", "MMedIOTests", "Fixtures", "json-lines.jsonl")

MISSING = object()


# ---------------------------------------------------------------- the decision

def kind_of(value):
    if value is MISSING:
        return "missing"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    raise TypeError(type(value))


def has_lone_surrogate(s):
    return any(0xD800 <= ord(c) <= 0xDFFF for c in s)


def decide(raw, category):
    """The oracle's verdict for one line: (accept, text, text_kind, note)."""
    try:
        s = raw.decode("utf-8")
    except UnicodeDecodeError:
        return False, None, None, "invalid utf-8"
    try:
        obj = json.loads(s)
    except Exception:  # noqa: BLE001 - any exception means Python does not accept the line
        return False, None, None, category
    if not isinstance(obj, dict):
        return False, None, None, "not an object"
    value = obj.get("text", MISSING)
    if isinstance(value, str) and has_lone_surrogate(value):
        return False, None, "string", "lone surrogate"
    return True, (value if isinstance(value, str) else None), kind_of(value), category


# ---------------------------------------------------------------- hand-written lines

def b(s):
    """A str of JSON source (ASCII and raw non-ASCII characters) to UTF-8 bytes."""
    return s.encode("utf-8")


VALID = [  # Python accepts these
    # escapes
    ("escapes", [
        rb'{"text":"quote \" backslash \\ slash \/ end"}',
        rb'{"text":"\b\f\n\r\t"}',
        rb'{"text":"tab\there\nnewline"}',
        rb'{"text":"\u0041\u00e9\u00E9\u4e2d\u4E2D\uffff\uFFFF"}',
        rb'{"text":"\u0000"}',
        rb'{"text":"nul \u0000 inside \u0000"}',
        rb'{"text":"\u001f\u007f\u0080\u07ff\u0800"}',
        rb'{"text":"\ud83d\ude00"}',
        rb'{"text":"\uD83D\uDE00 \uD83d\uDe00"}',
        rb'{"text":"\ud800\udc00\udbff\udfff"}',
        rb'{"text":"emoji \ud83e\udd16 and \ud83c\uddfa\ud83c\uddf8 flag"}',
        rb'{"text":"\\\\\\"}',
        rb'{"text":"\\"}',
        rb'{"text":"\"\""}',
        rb'{"text":"\/\/\/"}',
        rb'{"text":"\\u0041 is not an escape"}',
        rb'{"text":"a\\"}',
        rb'{"text":"\u005c"}',
        rb'{"text":"\u0022"}',
        rb'{"text":"\uFEFF BOM escape"}',
        rb'{"text":"\u2028\u2029"}',
        rb'{"t\u0065xt":"escaped key"}',
        rb'{"\u0074ext":"escaped key"}',
        rb'{"\u0074\u0065\u0078\u0074":"all escaped key"}',
        rb'{"te\u0078\u0074":"escaped key tail"}',
        rb'{"text\u0000":"not text"}',
        rb'{"Text":"wrong case"}',
        rb'{"text ":"trailing space key"}',
        rb'{" text":"leading space key"}',
        rb'{"tex":"short key"}',
        rb'{"texts":"long key"}',
        rb'{"a\ud800":"lone surrogate in another key","text":"ok"}',
        rb'{"text":"ok","other":"\ud800"}',
        rb'{"text":"ok","other":"\udc00\ud800"}',
        rb'{"other":["\ud83d", {"\udfff": "\ud800x"}],"text":"ok"}',
        rb'{"text":"\ud800","text":"last wins"}',
    ]),
    # raw UTF-8
    ("raw utf-8", [
        b('{"text":"caf\u00e9 na\u00efve \u00fc\u00df"}'),
        b('{"text":"\u4e2d\u6587\u3001\u65e5\u672c\u8a9e\u3001\ud55c\uad6d\uc5b4"}'),
        b('{"text":"\U0001F600\U0001F916\U0001F1FA\U0001F1F8"}'),
        b('{"text":"\u0440\u0443\u0441\u0441\u043a\u0438\u0439 \u0639\u0631\u0628\u064a \u05e2\u05d1\u05e8\u05d9\u05ea"}'),
        b('{"text":"\u007f\u0080\u07ff\u0800\uffff\U00010000\U0010FFFF"}'),
        b('{"text":"\ufeff BOM inside a string"}'),
        b('{"text":"\u2028 line sep \u2029 para sep \u0085 NEL"}'),
        b('{"text":"\u00a0nbsp\u3000ideographic space"}'),
        b('{"\u00e9t\u00e9":"raw key","text":"x"}'),
        b('{"text":"e\u0301 combining"}'),
        b('{"text":"\U0001F468\u200d\U0001F469\u200d\U0001F467"}'),
        b('{"text":"mixed \u00e9\\n\u4e2d\\t\U0001F600\\u00e9"}'),
    ]),
    # nesting
    ("nesting", [
        rb'{"text":"x","meta":{"a":{"b":{"c":[1,[2,[3,[4]]]]}}}}',
        rb'{"meta":{"text":"nested text is not top-level"}}',
        rb'{"meta":[{"text":"in array"}],"text":"top"}',
        rb'{"a":[],"b":{},"c":[{}],"d":[[]],"text":""}',
        rb'{"a":[1,"two",3.0,true,false,null,{"x":[]}],"text":"arr"}',
        b('{"a":' + '[' * 50 + ']' * 50 + ',"text":"deep 50"}'),
        b('{"a":' + '{"k":' * 50 + '1' + '}' * 50 + ',"text":"deep obj 50"}'),
        b('{"a":' + '[{"k":' * 25 + 'null' + '}]' * 25 + ',"text":"deep mixed 50"}'),
        b('{"a":' + '[' * 100 + '"s"' + ']' * 100 + ',"text":"deep 100"}'),
        b('{"text":"deep after","a":' + '[' * 200 + ']' * 200 + '}'),
    ]),
    # numbers in other fields
    ("numbers", [
        rb'{"n":0,"text":"x"}',
        rb'{"n":-0,"text":"x"}',
        rb'{"n":-0.0,"text":"x"}',
        rb'{"n":1e5,"text":"x"}',
        rb'{"n":1E5,"text":"x"}',
        rb'{"n":1E-5,"text":"x"}',
        rb'{"n":1e+5,"text":"x"}',
        rb'{"n":1.5e+3,"text":"x"}',
        rb'{"n":-1.5E-3,"text":"x"}',
        rb'{"n":0e0,"text":"x"}',
        rb'{"n":0.0e-0,"text":"x"}',
        rb'{"n":-0e+00,"text":"x"}',
        rb'{"n":123456789012345678901234567890,"text":"x"}',
        rb'{"n":-123456789012345678901234567890,"text":"x"}',
        rb'{"n":1e400,"text":"x"}',
        rb'{"n":-1e400,"text":"x"}',
        rb'{"n":1e-400,"text":"x"}',
        rb'{"n":3.141592653589793238462643383279502884197,"text":"x"}',
        rb'{"n":9007199254740993,"text":"x"}',
        rb'{"n":18446744073709551616,"text":"x"}',
        rb'{"n":[0,1,-1,10,0.5,-0.5,1e1,1E+1,1e-1],"text":"x"}',
        rb'{"n":NaN,"text":"x"}',
        rb'{"n":Infinity,"text":"x"}',
        rb'{"n":-Infinity,"text":"x"}',
        rb'{"n":[NaN,Infinity,-Infinity],"text":"x"}',
        rb'{"t":true,"f":false,"z":null,"text":"x"}',
        rb'{"text":"x","n":1}',
        rb'{"text":"x","n":-1}',
        rb'{"text":"x","n":1.0}',
        b('{"n":' + '9' * 4300 + ',"text":"4300-digit integer"}'),
        b('{"n":' + '1' * 5000 + '.5,"text":"5000-digit float"}'),
        b('{"n":0.' + '1' * 5000 + ',"text":"long fraction"}'),
    ]),
    # the text field's kind
    ("text kind", [
        rb'{"text":""}',
        rb'{"text":" "}',
        rb'{"text":1}',
        rb'{"text":-0}',
        rb'{"text":1.5e3}',
        rb'{"text":NaN}',
        rb'{"text":-Infinity}',
        rb'{"text":null}',
        rb'{"text":true}',
        rb'{"text":false}',
        rb'{"text":{}}',
        rb'{"text":{"text":"inner"}}',
        rb'{"text":[]}',
        rb'{"text":["a","b"]}',
        rb'{}',
        rb'{"id":1}',
        rb'{"id":"doc-1","lang":"en"}',
        rb'{"text":"first","text":"second"}',
        rb'{"text":"first","text":2}',
        rb'{"text":2,"text":"second"}',
        rb'{"text":"a","t\u0065xt":"escaped dup wins"}',
        rb'{"text":"a","text":null}',
        rb'{"text":"a","other":1,"text":"b","text":"c"}',
        rb'{"id":7,"text":"medical text about the heart","source":"pubmed"}',
    ]),
    # whitespace
    ("whitespace", [
        rb' {"text":"x"}',
        rb'{"text":"x"} ',
        b'{"text":"x"}\r',
        b'{"text":"x"}\r\r',
        b'\t{ "text" : "x" }\t',
        b' \t\r {\r\t "text"\t:\r"x"\r,\t"a" : [ 1 , 2 ] , "b" : { "c" : null } \t} \r \t',
        b'{ }',
        b'{\t}',
        b'{\r}',
        b'{"text" :"x" , "a":[ ]}',
        b'{"a":[\t1\r,\t2 ]\r,"text":"x"}',
        b'   {"text":"spaces"}   ',
        b'{"text":"\x7f DEL is not a control character"}',
        b'{"text":"x","a":"\x7f"}',
    ]),
]

MORE = [  # mostly rejected
    ("trailing comma", [
        rb'{"text":"x",}',
        rb'{"text":"x","a":[1,2,]}',
        rb'{"text":"x","a":{"b":1,}}',
        rb'{,}',
        rb'{"a":[,]}',
        rb'{"a":[,1]}',
        rb'{"text":"x",,"a":1}',
        rb'{"a":[1,,2],"text":"x"}',
    ]),
    ("quotes and keys", [
        rb"{'text':'x'}",
        b'{"text":' + b"'x'}",
        rb'{text:"x"}',
        rb'{"text"="x"}',
        rb'{"text" "x"}',
        rb'{"text"::"x"}',
        rb'{"text":}',
        rb'{"text"}',
        rb'{1:"x"}',
        rb'{null:"x"}',
        rb'{"text":"x" "a":1}',
        rb'{"text":"x";"a":1}',
        rb'{"text":`x`}',
    ]),
    ("bad numbers", [
        rb'{"n":01,"text":"x"}',
        rb'{"n":-01,"text":"x"}',
        rb'{"n":00,"text":"x"}',
        rb'{"n":1.,"text":"x"}',
        rb'{"n":.5,"text":"x"}',
        rb'{"n":-.5,"text":"x"}',
        rb'{"n":+1,"text":"x"}',
        rb'{"n":-,"text":"x"}',
        rb'{"n":1e,"text":"x"}',
        rb'{"n":1e+,"text":"x"}',
        rb'{"n":1E-,"text":"x"}',
        rb'{"n":1.e5,"text":"x"}',
        rb'{"n":0x10,"text":"x"}',
        rb'{"n":1_000,"text":"x"}',
        rb'{"n":--1,"text":"x"}',
        rb'{"n":1.5.5,"text":"x"}',
        rb'{"n":1e5e5,"text":"x"}',
        rb'{"n":-NaN,"text":"x"}',
        rb'{"n":+Infinity,"text":"x"}',
        rb'{"n":nan,"text":"x"}',
        rb'{"n":infinity,"text":"x"}',
        rb'{"n":Inf,"text":"x"}',
        rb'{"n":-Inf,"text":"x"}',
        rb'{"n":NaNa,"text":"x"}',
        rb'{"n":Infinityy,"text":"x"}',
        rb'{"n":1 2,"text":"x"}',
        rb'{"n":- 1,"text":"x"}',
        rb'{"text":01}',
        rb'{"text":-}',
        rb'{"text":.5}',
        b('{"n":' + '9' * 4301 + ',"text":"4301-digit integer"}'),
        b('{"n":-' + '1' * 5000 + ',"text":"5000-digit integer"}'),
    ]),
    ("bare words", [
        rb'{"text":True}',
        rb'{"text":False}',
        rb'{"text":None}',
        rb'{"text":NULL}',
        rb'{"text":tru}',
        rb'{"text":nul}',
        rb'{"text":fals}',
        rb'{"text":truex}',
        rb'{"text":nulll}',
        rb'{"text":undefined}',
        rb'{"text":hello}',
        rb'hello',
        rb'{"text":x}',
    ]),
    ("unterminated", [
        rb'{"text":"x',
        rb'{"text":"x\"}',
        rb'{"text":"x\\\"}',
        rb'{"text":"x"',
        rb'{"text":"x",',
        rb'{"text":"x","a":[1,2',
        rb'{"text":"x","a":[1,2}',
        rb'{"text":"x","a":{"b":1}',
        rb'{"text":"x","a":{"b":1]}',
        rb'{"text"',
        rb'{"text":',
        rb'{"te',
        rb'{"',
        rb'{',
        rb'{"text":"x","a":[',
        rb'{"text":"x\\',
        rb'{"text":"x\\u00',
        rb'{"text":"x\\u',
        rb'{"text":"x\\"',
    ]),
    ("garbage after", [
        rb'{"text":"x"}}',
        rb'{"text":"x"},',
        rb'{"text":"x"}x',
        rb'{"text":"x"} {"text":"y"}',
        rb'{"text":"x"}{}',
        rb'{"text":"x"}]',
        rb'{"text":"x"}0',
        rb'{"text":"x"}"',
        b'{"text":"x"}\x00',
        b'{"text":"x"}\x0b',
        b'{"text":"x"}\x0c',
        b'{"text":"x"}\x1f',
        b'{"text":"x"}\xc2\xa0',
        b'{"text":"x"}\xe3\x80\x80',
        b'{"text":"x"}\xef\xbb\xbf',
        b'{"text":"x"}\xe2\x80\xa8',
        rb'{"text":"x"}//comment',
        rb'{"text":"x"}#',
        rb'{"text":"x"}null',
    ]),
    ("bad whitespace", [
        b'\x0b{"text":"x"}',
        b'\x0c{"text":"x"}',
        b'{\x0c"text":"x"}',
        b'{"text"\x0b:"x"}',
        b'{"text":\x00"x"}',
        b'\xc2\xa0{"text":"x"}',
        b'{"text":\xc2\xa0"x"}',
        b'{"text":\xe3\x80\x80"x"}',
        b'{"text":"x"\xe2\x80\xa8}',
    ]),
    ("control character", [
        b'{"text":"a\tb"}',
        b'{"text":"a\x01b"}',
        b'{"text":"a\x1fb"}',
        b'{"text":"\x00"}',
        b'{"text":"a\rb"}',
        b'{"text":"x\x0c"}',
        b'{"text":"\x08"}',
        b'{"te\txt":"x"}',
        b'{"text":"x","a":"\x1e"}',
        b'{"text":"x","a":["\x01"]}',
        b'{"text":"x","a":{"\x02":1}}',
    ]),
    ("invalid escape", [
        rb'{"text":"\x41"}',
        rb'{"text":"\U0041"}',
        rb'{"text":"\U00000041"}',
        rb'{"text":"\u12"}',
        rb'{"text":"\u12G4"}',
        rb'{"text":"\u 1234"}',
        rb'{"text":"\u-123"}',
        rb'{"text":"\u+123"}',
        rb'{"text":"\a"}',
        rb'{"text":"\0"}',
        rb'{"text":"\'"}',
        rb'{"text":"\ "}',
        rb'{"text":"\e"}',
        rb'{"text":"\N"}',
        rb'{"text":"\B"}',
        rb'{"text":"\T"}',
        rb'{"text":"\uD83D\uDEZ0"}',
        rb'{"text":"\ud83d\u"}',
        rb'{"text":"\ud83d\u12"}',
        rb'{"text":"x","a":"\x"}',
        rb'{"t\xext":"x"}',
        rb'{"text":"\u00e"}',
        b'{"text":"\\\xc3\xa9"}',
        b'{"text":"\\\t"}',
    ]),
    ("lone surrogate", [
        rb'{"text":"\ud800"}',
        rb'{"text":"\udc00"}',
        rb'{"text":"\uDBFF"}',
        rb'{"text":"\uDFFF"}',
        rb'{"text":"abc\ud83d"}',
        rb'{"text":"\ude00abc"}',
        rb'{"text":"\ud83d\u0041"}',
        rb'{"text":"\ud83dx"}',
        rb'{"text":"\ud83d\n"}',
        rb'{"text":"\ud83d\\"}',
        rb'{"text":"\ud83d\ud83d"}',
        rb'{"text":"\ud83d\ud83d\ude00"}',
        rb'{"text":"\ude00\ud83d"}',
        rb'{"text":"\ud83d\ude00\ude00"}',
        rb'{"text":"\ud83d \ude00"}',
        rb'{"text":"\ud83d\\ude00"}',
        rb'{"t\u0065xt":"\ud800"}',
        rb'{"text":"ok","text":"\ud800"}',
        rb'{"a":"\ud800","text":"\udfff"}',
        rb'{"text":"\ud800","other":"ok"}',
        rb'{"text":"\uDBFF\uE000"}',
        rb'{"text":"\uDBFF\uDBFF"}',
        rb'{"text":"\ud7ff\ud800"}',
    ]),
    ("invalid utf-8", [
        b'{"text":"\xc0\x80"}',
        b'{"text":"\xc1\xbf"}',
        b'{"text":"\xe0\x80\x80"}',
        b'{"text":"\xe0\x9f\xbf"}',
        b'{"text":"\xed\xa0\x80"}',
        b'{"text":"\xed\xbf\xbf"}',
        b'{"text":"\xed\xa0\xbd\xed\xb8\x80"}',
        b'{"text":"\xf0\x80\x80\x80"}',
        b'{"text":"\xf0\x8f\xbf\xbf"}',
        b'{"text":"\xf4\x90\x80\x80"}',
        b'{"text":"\xf5\x80\x80\x80"}',
        b'{"text":"\xf7\xbf\xbf\xbf"}',
        b'{"text":"\xf8\x88\x80\x80\x80"}',
        b'{"text":"\xfc\x84\x80\x80\x80\x80"}',
        b'{"text":"\xfe"}',
        b'{"text":"\xff"}',
        b'{"text":"\xc3"}',
        b'{"text":"\xc3x"}',
        b'{"text":"\xe2\x82"}',
        b'{"text":"\xe2\x82x"}',
        b'{"text":"\xf0\x9f\x98"}',
        b'{"text":"\xf0\x9f\x98x"}',
        b'{"text":"\xf0\x9f"}',
        b'{"text":"\x80"}',
        b'{"text":"\xbf"}',
        b'{"text":"a\x80\x80b"}',
        b'{"text":"\xc3\xa9\xa9"}',
        b'{"text":"x\xc3',
        b'{"text":"x\xe2\x82',
        b'{"text":"x","a":"\xc0\x80"}',
        b'{"text":"x","a":"\xed\xa0\x80"}',
        b'{"text":"x","\xff":1}',
        b'{"text":"x","a":["\xf5\x80\x80\x80"]}',
        b'{"text":"x"}\xff',
        b'{"text":"x"}\xc3',
        b'\xff{"text":"x"}',
        b'{\xff"text":"x"}',
        b'{"text":\xc3\xa9}',
        b'{"text":"x",\x80}',
        b'\xfe\xff{"text":"x"}',
        b'\xff\xfe{"text":"x"}',
    ]),
    ("valid utf-8 edges", [
        b'{"text":"\xc2\x80\xdf\xbf"}',
        b'{"text":"\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf"}',
        b'{"text":"\xf0\x90\x80\x80\xf4\x8f\xbf\xbf"}',
        b'{"text":"\xef\xbf\xbe\xef\xbf\xbf"}',
        b'{"text":"\xef\xb7\x90"}',
    ]),
    ("bom", [
        b'\xef\xbb\xbf{"text":"x"}',
        b'\xef\xbb\xbf{}',
        b'\xef\xbb\xbf \t{"text":"x"}',
        b' \xef\xbb\xbf{"text":"x"}',
        b'\xef\xbb\xbf\xef\xbb\xbf{"text":"x"}',
        b'{\xef\xbb\xbf"text":"x"}',
    ]),
    ("top level", [
        rb'[]',
        rb'[{"text":"x"}]',
        rb'"text"',
        rb'"{\"text\":\"x\"}"',
        rb'1',
        rb'-0',
        rb'1.5e3',
        rb'NaN',
        rb'Infinity',
        rb'-Infinity',
        rb'null',
        rb'true',
        rb'false',
        rb' [1, 2, 3] ',
        rb'{"text":"x"',
        rb'}',
        rb']',
        rb'[',
        rb'"',
        rb':',
        rb',',
    ]),
    ("empty", [
        b'',
        b' ',
        b'\t',
        b'\r',
        b'  \t \r\t  ',
        b'\x00',
        b'\x0b',
    ]),
]

# Nesting around MMedKit's limit and CPython's (RecursionError near the default recursion limit, 1000).
DEEP = []
for depth in (300, 500, 510, 511, 512, 513, 514, 515, 520, 600, 900, 1000, 1100, 2000):
    DEEP.append((f"deep nesting arrays {depth}", b('{"text":"x","a":' + '[' * depth + ']' * depth + '}')))
for depth in (510, 511, 512, 513, 514):
    DEEP.append((f"deep nesting objects {depth}", b('{"text":"x","a":' + '{"k":' * depth + '0' + '}' * depth + '}')))
DEEP.append(("deep nesting unbalanced", b('{"text":"x","a":' + '[' * 50 + ']' * 49 + '}')))
DEEP.append(("deep nesting unbalanced", b('{"text":"x","a":' + '[' * 49 + ']' * 50 + '}')))


def positional_lines():
    """A special byte sequence at every offset 0..72 inside a text value, and inside a long text (> 64 bytes)
    after a short one, so every alignment of a word-at-a-time scanner is exercised."""
    specials = [
        ("pos control", b'\x01'),
        ("pos control", b'\x1f'),
        ("pos del", b'\x7f'),
        ("pos invalid utf-8", b'\xff'),
        ("pos invalid utf-8", b'\xed\xa0\x80'),
        ("pos truncated utf-8", b'\xe2\x82'),
        ("pos raw utf-8", b'\xf0\x9f\x98\x80'),
        ("pos raw utf-8", b'\xc3\xa9'),
        ("pos escape", rb'\"'),
        ("pos escape", rb'\\'),
        ("pos escape", rb'\u00e9'),
        ("pos surrogate pair", rb'\ud83d\ude00'),
        ("pos lone surrogate", rb'\ud800'),
        ("pos invalid escape", rb'\x'),
        ("pos bad u escape", rb'\u12'),
    ]
    out = []
    for note, special in specials:
        for offset in range(0, 73):
            body = b'a' * offset + special + b'b' * ((offset * 7) % 41)
            out.append((note, b'{"text":"' + body + b'"}'))
        # long string with the special byte far in, and then the closing quote lost
        out.append((note + " long", b'{"id":1,"text":"' + b'x' * 100 + special + b'y' * 100 + b'","z":"q"}'))
        out.append((note + " other field", b'{"text":"ok","other":"' + b'x' * 70 + special + b'"}'))
    out.append(("pos unterminated long", b'{"text":"' + b'x' * 200))
    out.append(("pos unterminated long", b'{"text":"' + b'x' * 200 + b'\\"}'))
    out.append(("pos long escaped quotes", b'{"text":"' + b'x' * 80 + b'\\"' + b'y' * 80 + b'\\\\' + b'"}'))
    out.append(("pos long escaped quotes", b'{"text":"' + b'\\"' * 60 + b'"}'))
    out.append(("pos long escaped quotes", b'{"text":"' + b'\\\\' * 60 + b'"}'))
    out.append(("pos long escaped quotes", b'{"text":"' + b'x' * 80 + b'\\\\"' + b'y' * 80 + b'"}'))
    out.append(("pos long quote in later field", b'{"text":"' + b'x' * 80 + b',"b":"c"}'))
    return out


# ---------------------------------------------------------------- mutations

INTERESTING = b'"\\{}[],: \t\r0123456789-+.eEunlfNI\x00\x01\x1f\x7f\x80\xbf\xc0\xc3\xe2\xed\xef\xf0\xf4\xf5\xff'


def random_byte(rng):
    if rng.random() < 0.6:
        return INTERESTING[rng.randrange(len(INTERESTING))]
    while True:
        value = rng.randrange(256)
        if value != 0x0A:
            return value


# Short valid lines cut at every byte position (inside escapes, surrogate pairs, UTF-8 sequences, literals).
TRUNCATED = [
    rb'{"text":"a\"b\\c\/d\n\u00e9\uD83D\uDE00"}',
    b('{"text":"\u00e9\u4e2d\U0001F600","n":-1.5e+3}'),
    rb'{"a":[true,false,null,{"b":NaN}],"text":-Infinity}',
    rb'{"n":[0,-0,1e5,1E-5,12345678901234567890],"text":""}',
    b' { "t\\u0065xt" :\t"x" , "z" : { } }\r',
    rb'{}',
]


def mutations(rng, sources):
    out = []
    for line in TRUNCATED:
        for cut in range(len(line)):
            out.append(("truncation", line[:cut]))
    for line in sources:
        for _ in range(8):  # bit flips
            data = bytearray(line)
            i = rng.randrange(len(data))
            flipped = data[i] ^ (1 << rng.randrange(8))
            if flipped == 0x0A:
                continue
            data[i] = flipped
            out.append(("bit flip", bytes(data)))
        for _ in range(8):  # byte replacements
            data = bytearray(line)
            i = rng.randrange(len(data))
            value = random_byte(rng)
            if value == data[i]:
                continue
            data[i] = value
            out.append(("byte replace", bytes(data)))
        for _ in range(8):  # insertions (never 0x0A)
            data = bytearray(line)
            data.insert(rng.randrange(len(data) + 1), random_byte(rng))
            out.append(("byte insert", bytes(data)))
        for _ in range(8):  # deletions
            data = bytearray(line)
            del data[rng.randrange(len(data))]
            out.append(("byte delete", bytes(data)))
        for _ in range(2):  # two random edits at once
            data = bytearray(line)
            for _ in range(2):
                if data and rng.random() < 0.5:
                    del data[rng.randrange(len(data))]
                else:
                    data.insert(rng.randrange(len(data) + 1), random_byte(rng))
            out.append(("double edit", bytes(data)))
    return out


# ---------------------------------------------------------------- main

def main(argv):
    if len(argv) > 2 or (len(argv) == 2 and argv[1].startswith("-")):
        sys.exit(__doc__)
    out_path = argv[1] if len(argv) == 2 else DEFAULT_OUT
    if hasattr(sys, "get_int_max_str_digits") and sys.get_int_max_str_digits() != 4300:
        sys.exit("run with the default int_max_str_digits (4300): unset PYTHONINTMAXSTRDIGITS")
    if sys.getrecursionlimit() != 1000:
        sys.exit("expected the default recursion limit (1000)")

    rng = random.Random(SEED)
    cases = []
    for category, lines in VALID + MORE:
        cases.extend((category, line) for line in lines)
    cases.extend(DEEP)
    cases.extend(positional_lines())

    # mutation sources: 60 short-to-medium hand-written lines that Python accepts
    accepted = []
    for category, line in cases:
        if len(line) <= 200 and decide(line, category)[0] and line not in accepted:
            accepted.append(line)
    sources = sorted(rng.sample(accepted, 60), key=lambda s: (len(s), s))
    cases.extend(mutations(rng, sources))

    seen = set()
    records = []
    for category, line in cases:
        assert b'\n' not in line, (category, line)
        if line in seen:
            continue
        seen.add(line)
        accept, text, text_kind, note = decide(line, category)
        records.append({
            "line_b64": base64.b64encode(line).decode("ascii"),
            "accept": accept,
            "text": text,
            "text_kind": text_kind,
            "note": note,
        })

    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    with open(out_path, "w", encoding="ascii", newline="\n") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=True) + "\n")
    n_accept = sum(r["accept"] for r in records)
    print(f"{out_path}: {len(records)} lines, {n_accept} accepted, {len(records) - n_accept} rejected, "
          f"{os.path.getsize(out_path)} bytes", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv)
