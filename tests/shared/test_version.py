"""One source for the version: shared/_version.py, read by pyproject, the engine and the changelog."""

from __future__ import annotations

import re
import tomllib
import warnings
from pathlib import Path

from setuptools.config.pyprojecttoml import read_configuration

from shared import engine
from shared._version import __version__

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_pyproject_reads_the_version_from_shared_version_and_repeats_it_nowhere() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"]
    assert project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "shared._version.__version__"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # setuptools calls [tool.setuptools] "beta"
        built = read_configuration(REPO_ROOT / "pyproject.toml")
    assert built["project"]["version"] == __version__


def test_the_engine_reports_the_same_version() -> None:
    assert engine.VERSION is __version__  # the same object: imported, not repeated


def test_the_changelog_newest_release_is_this_version() -> None:
    releases = re.findall(r"^## \[(\d+\.\d+\.\d+)\] - \d{4}-\d{2}-\d{2}$",
                          (REPO_ROOT / "CHANGELOG.md").read_text(encoding="utf-8"), re.M)
    assert releases and releases[0] == __version__


def test_the_version_module_imports_nothing() -> None:
    # The deployed app installs requirements.txt, not this package, and setuptools reads the literal:
    # both need a module with nothing to import.
    source = (REPO_ROOT / "shared" / "_version.py").read_text(encoding="utf-8")
    assert not re.search(r"^\s*(import|from)\s", source, re.M)
    assert re.search(r'^__version__ = "\d+\.\d+\.\d+"$', source, re.M)
