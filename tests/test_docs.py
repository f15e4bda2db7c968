"""The README's configuration table keeps up with the settings the code reads."""

from __future__ import annotations

import re
from pathlib import Path

from widget_server.config import SETTINGS

README = Path(__file__).resolve().parent.parent / "README.md"


def test_every_setting_has_a_row_in_the_readme_configuration_table():
    rows = set(re.findall(r"^\| `WIDGET_([A-Z0-9_]+)` \|", README.read_text("utf-8"), re.M))
    missing = sorted(set(SETTINGS) - rows)
    assert not missing, f"README configuration table lacks: {missing}"


def test_the_readme_table_names_no_setting_the_code_does_not_read():
    rows = set(re.findall(r"^\| `WIDGET_([A-Z0-9_]+)` \|", README.read_text("utf-8"), re.M))
    # WIDGET_INSTANCE_PATH is read before the settings load: it says where they live.
    assert rows - set(SETTINGS) - {"INSTANCE_PATH"} == set()
