"""Fill empty msgstr entries of a .po file from a JSON map {msgid: msgstr}; used when adding
translations in bulk. Keeps existing translations. Usage: fill_po.py FILE.po MAP.json"""

from __future__ import annotations

import json
import re
import sys


def _unquote(lines: list[str]) -> str:
    return "".join(json.loads(line.strip()) for line in lines)


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def fill(po_text: str, translations: dict[str, str]) -> tuple[str, int]:
    blocks = po_text.split("\n\n")
    filled = 0
    for index, block in enumerate(blocks):
        match = re.search(r'^msgid (".*?)\nmsgstr (""\s*)$', block, re.S | re.M)
        if not match or "msgid_plural" in block:
            continue
        msgid = _unquote(match.group(1).split("\n"))
        if translations.get(msgid):
            head = block[: match.start()]
            head = head.replace("#, fuzzy\n", "")
            blocks[index] = f"{head}msgid {match.group(1)}\nmsgstr {_quote(translations[msgid])}"
            filled += 1
    return "\n\n".join(blocks), filled


if __name__ == "__main__":
    path, mapping = sys.argv[1], sys.argv[2]
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    with open(mapping, encoding="utf-8") as handle:
        result, count = fill(text, json.load(handle))
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(result if result.endswith("\n") else result + "\n")
    print(f"filled {count} entries")
