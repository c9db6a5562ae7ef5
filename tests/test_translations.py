"""Chinese-speaking creators read every page in 简体中文: no string may be left untranslated, and
the committed .mo (what Django loads) must carry what the .po says."""

from __future__ import annotations

import gettext
import json
import re
from pathlib import Path

LOCALE = Path(__file__).resolve().parent.parent / "locale" / "zh_Hans" / "LC_MESSAGES"


def _entries() -> list[tuple[str, str, bool]]:
    text = (LOCALE / "django.po").read_text(encoding="utf-8")
    entries = []
    for block in text.split("\n\n"):
        match = re.search(r'^msgid (".*?)\nmsgstr (".*)$', block, re.S | re.M)
        if not match or "msgid_plural" in block:
            continue
        msgid = "".join(json.loads(line.strip()) for line in match.group(1).split("\n"))
        msgstr = "".join(json.loads(line.strip()) for line in match.group(2).split("\n") if line.strip())
        if msgid:
            entries.append((msgid, msgstr, "#, fuzzy" in block))
    return entries


def test_every_message_has_a_chinese_translation() -> None:
    entries = _entries()
    assert len(entries) > 300
    untranslated = [msgid for msgid, msgstr, fuzzy in entries if not msgstr or fuzzy]
    assert untranslated == []


def test_placeholders_survive_translation() -> None:
    placeholder = re.compile(r"%\(\w+\)[sdr]")
    broken = [
        msgid
        for msgid, msgstr, _ in _entries()
        if sorted(placeholder.findall(msgid)) != sorted(placeholder.findall(msgstr))
    ]
    assert broken == []


def test_the_compiled_catalogue_matches_the_po_file() -> None:
    with (LOCALE / "django.mo").open("rb") as handle:
        catalogue = gettext.GNUTranslations(handle)
    stale = [msgid for msgid, msgstr, _ in _entries() if catalogue.gettext(msgid) != msgstr]
    assert stale == [], "run `make messages` and commit locale/zh_Hans/LC_MESSAGES/django.mo"


def test_one_word_for_agency_throughout() -> None:
    """Issue 14: the agency is 机构 on every page, email and document, never 经纪公司 in one place
    and 机构 in the next (a creator should not wonder whether they are two parties)."""
    other_words = [msgid for msgid, msgstr, _ in _entries() if "经纪公司" in msgstr]
    assert other_words == []
    templates = Path(__file__).resolve().parent.parent / "apps"
    documents = [
        str(path)
        for path in [*templates.rglob("*.py"), *templates.rglob("*.md"), *templates.rglob("*.html")]
        if "经纪公司" in path.read_text(encoding="utf-8")
    ]
    assert documents == []
