"""The MkDocs site (mkdocs.yml over docs/): every page in the navigation, every check on, nothing fetched.

`./scripts/test` builds the site with `mkdocs build --strict`; these tests say why that build is
trustworthy and fail faster, inside pytest, when a page is added without a place in the navigation.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mkdocs.config import load_config

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCS = REPO_ROOT / "docs"


@pytest.fixture(scope="module")
def config() -> Any:
    return load_config(str(REPO_ROOT / "mkdocs.yml"))


def _pages(nav: Any) -> Iterator[str]:
    """Every page path a navigation (nested lists of {title: path or list}, or bare paths) names."""
    for entry in nav:
        values = entry.values() if isinstance(entry, dict) else [entry]
        for value in values:
            if isinstance(value, list):
                yield from _pages(value)
            else:
                yield value


def test_the_navigation_lists_every_page_once(config: Any) -> None:
    listed = list(_pages(config["nav"]))
    on_disk = sorted(path.relative_to(DOCS).as_posix() for path in DOCS.rglob("*.md"))
    assert sorted(listed) == on_disk
    assert len(listed) == len(set(listed))


def test_strict_fails_on_omitted_pages_broken_links_and_missing_anchors(config: Any) -> None:
    assert config["strict"] is True
    validation = config["validation"]
    assert validation["nav"]["omitted_files"] == logging.WARNING
    assert validation["nav"]["absolute_links"] == logging.WARNING
    for check in ("not_found", "anchors", "absolute_links", "unrecognized_links"):
        assert validation["links"][check] == logging.WARNING, check


def test_the_site_fetches_nothing_from_the_network(config: Any) -> None:
    assert config["theme"]["font"] is False  # no Google Fonts
    assert [name for name in config["plugins"] if not name.endswith("search")] == []
    assert config["extra_javascript"] == [] and config["extra_css"] == []


def test_the_decision_records_have_context_decision_and_consequences() -> None:
    records = sorted((DOCS / "decisions").glob("0*.md"))
    assert [record.name[:4] for record in records] == [f"{n:04d}" for n in range(1, len(records) + 1)]
    assert len(records) >= 4
    for record in records:
        text = record.read_text(encoding="utf-8")
        for heading in ("## Context", "## Decision", "## Consequences"):
            assert heading in text, f"{record.name}: {heading}"
        assert f"]({record.name})" in (DOCS / "decisions" / "index.md").read_text(encoding="utf-8")
