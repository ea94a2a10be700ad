"""Under pytest-xdist the slowest files are handed out first (tests/conftest.py), and the list stays true."""

from __future__ import annotations

import pytest

from tests.conftest import SLOWEST_FILES, slowest_first


def test_the_slowest_files_listed_for_xdist_exist_and_go_first(request: pytest.FixtureRequest) -> None:
    root = request.config.rootpath
    assert [path for path in SLOWEST_FILES if not (root / path).is_file()] == []

    class Item:
        def __init__(self, nodeid: str) -> None:
            self.nodeid = nodeid

    items = [Item("tests/a_test.py::first"), Item(f"{SLOWEST_FILES[1]}::t"), Item("tests/b_test.py::x"),
             Item(f"{SLOWEST_FILES[0]}::t")]
    slowest_first(items)  # type: ignore[arg-type]
    assert [item.nodeid for item in items] == [f"{SLOWEST_FILES[0]}::t", f"{SLOWEST_FILES[1]}::t",
                                                "tests/a_test.py::first", "tests/b_test.py::x"]
