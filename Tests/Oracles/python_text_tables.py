#!/usr/bin/env python3
"""Oracle: CPython's str.lower() and str.isspace() over every Unicode scalar.

Writes Tests/MMedTextTests/Fixtures/python-text-tables.json:
  {"python": "3.11.7", "unicode": "14.0.0",
   "lower": [[code point, [lower-case code points...]], ...]   # only scalars where lower() changes them
   "space": [code points where isspace() is true]}
Standard library only.
"""
import json
import os
import sys
import unicodedata

def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(__file__), "..", "MMedTextTests", "Fixtures", "python-text-tables.json")
    lower = []
    space = []
    for cp in range(0x110000):
        if 0xD800 <= cp < 0xE000:
            continue
        ch = chr(cp)
        lo = ch.lower()
        if lo != ch:
            lower.append([cp, [ord(c) for c in lo]])
        if ch.isspace():
            space.append(cp)
    doc = {"python": sys.version.split()[0], "unicode": unicodedata.unidata_version,
           "lower": lower, "space": space}
    with open(out, "w", encoding="utf-8") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")

if __name__ == "__main__":
    main()
