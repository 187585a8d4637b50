"""Every page template names only tables the CSV export knows, with the columns it shows."""

from __future__ import annotations

import re
from pathlib import Path

from dashboard.app import PAGES
from dashboard.tables import COLUMNS

TEMPLATES = Path(__file__).resolve().parents[3] / "dashboard" / "templates"


def test_each_table_of_each_page_has_columns_for_its_csv() -> None:
    for page, (_path, _title, template) in PAGES.items():
        text = (TEMPLATES / template).read_text(encoding="utf-8")
        used = set(re.findall(r'table\("([a-z_]+)"', text))
        assert used <= set(COLUMNS[page]), (page, used - set(COLUMNS[page]))
        for table in COLUMNS[page].values():
            assert table.columns and all(c.label for c in table.columns)


def test_the_echarts_script_is_vendored_not_fetched() -> None:
    static = TEMPLATES.parent / "static"
    assert (static / "vendor" / "echarts.min.js").stat().st_size > 500_000
    base = (TEMPLATES / "base.html").read_text(encoding="utf-8")
    assert "http" not in "".join(re.findall(r'src="([^"]+)"', base))
