"""Conventions every template keeps: tables scroll inside their card on a phone instead of
widening the page, and dates and times are written one way on every page."""

import re
from pathlib import Path

from django.conf import settings

TEMPLATE_TAG = re.compile(r"\{%.*?%\}|\{#.*?#\}", re.S)
LAST_TAG = re.compile(r"<[^<>]+>\s*\Z")


def _openings_before_tables(text: str):
    """The HTML tag just before each <table>, template tags ({% if %} ...) left out."""
    for match in re.finditer(r"<table\b", text):
        before = TEMPLATE_TAG.sub("", text[: match.start()])
        last = LAST_TAG.search(before)
        yield last.group(0).strip() if last else before[-60:]


def test_every_table_sits_in_a_table_responsive_wrapper():
    templates = Path(settings.BASE_DIR) / "templates"
    unwrapped = [
        f"{path.relative_to(templates)}: {opening}"
        for path in sorted(templates.rglob("*.html"))
        for opening in _openings_before_tables(path.read_text())
        if "table-responsive" not in opening
    ]
    assert unwrapped == []


def test_dates_are_written_one_way_on_every_page():
    """ "6 Des 2026" and "6 Des 2026 17:09" everywhere, not the locale's several formats."""
    templates = Path(settings.BASE_DIR) / "templates"
    named = re.compile(r'\|date:"[A-Z_]+FORMAT"')
    found = [
        f"{path.relative_to(templates)}: {match}"
        for path in sorted(templates.rglob("*.html"))
        for match in named.findall(path.read_text())
    ]
    assert found == []
