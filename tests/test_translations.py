"""The English gettext catalog covers every string the code and templates mark, and is compiled."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOGS = ROOT / "widget_server" / "translations"
ENGLISH = CATALOGS / "en" / "LC_MESSAGES"


def marked_strings(root: Path) -> dict[str, list[str]]:
    """msgid -> "file:line" places, found the way ``make messages`` finds them."""
    with open(CATALOGS / "babel.cfg") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        root, method_map, options_map, keywords=DEFAULT_KEYWORDS
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        found.setdefault(msgid, []).append(f"{filename}:{lineno}")
    return found


def untranslated(catalog, found: dict[str, list[str]]) -> list[str]:
    """Marked strings the catalog lacks, leaves empty or marks fuzzy, with where they are."""
    missing = []
    for msgid, places in sorted(found.items()):
        entry = catalog.get(msgid)
        if entry is None or not entry.string or entry.fuzzy:
            missing.append(f"{msgid!r} ({', '.join(places[:3])})")
    return missing


@pytest.fixture(scope="module")
def english():
    with open(ENGLISH / "messages.po", "rb") as po:
        return read_po(po, locale="en")


def test_every_marked_string_has_an_english_translation(english):
    found = marked_strings(ROOT)
    assert len(found) > 300  # the extraction really saw the config page
    missing = untranslated(english, found)
    assert missing == [], "no English in messages.po for:\n" + "\n".join(missing)


def test_a_new_string_without_english_is_reported_so_the_check_can_fail(english, tmp_path):
    (tmp_path / "widget_server").mkdir()
    (tmp_path / "widget_server" / "new_view.py").write_text(
        'from .i18n import N_, _\n\nLABEL = N_("Сохранить")\nflash(_("Строка, которой нет в каталоге"))\n'
    )
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "page.html").write_text('<p>{{ _("И этой тоже нет") }}</p>\n')
    missing = untranslated(english, marked_strings(tmp_path))
    assert missing == [
        "'И этой тоже нет' (templates/page.html:1)",
        "'Строка, которой нет в каталоге' (widget_server/new_view.py:4)",
    ]


def test_a_fuzzy_translation_counts_as_missing(english):
    entry = english.get("Сохранить")
    entry.flags.add("fuzzy")
    try:
        assert untranslated(english, {"Сохранить": ["x.py:1"]}) == ["'Сохранить' (x.py:1)"]
    finally:
        entry.flags.discard("fuzzy")


def test_every_translation_keeps_the_placeholders_of_its_russian_text(english):
    # Babel's own checks: %(name)s placeholders the same in msgid and msgstr.
    problems = [f"{message.id!r}: {errors}" for message, errors in english.check()]
    assert problems == []


def test_the_compiled_catalog_matches_the_po_file(english):
    compiled = io.BytesIO()
    write_mo(compiled, english)
    committed = (ENGLISH / "messages.mo").read_bytes()
    assert compiled.getvalue() == committed, "messages.mo is stale: run `make translations`"
