"""One name rule for every way a name enters: `.`, `..` and `...` are refused everywhere."""

from __future__ import annotations

import io
from typing import Any

import pytest

from shared.cli.main import EXIT_USAGE, main
from shared.errors import InvalidRequest
from shared.functions.routes import checked_name
from shared.names import IDENTIFIER, PROJECT_NAME, is_valid_name
from shared.runs.manifest import check_name
from shared.settings import SettingsError, settings_from_values, validate_project_name
from tests.shared.engine.support import settings_values

DOTS = [".", "..", "...", "." * 50]


@pytest.mark.parametrize("name", DOTS)
def test_a_name_of_only_dots_is_refused_by_every_entry(name: str) -> None:
    assert not is_valid_name(name)
    assert not is_valid_name(name, IDENTIFIER)
    with pytest.raises(SettingsError):
        validate_project_name(name)
    with pytest.raises(InvalidRequest):
        check_name("project", name)
    with pytest.raises(InvalidRequest):
        checked_name("project", name, PROJECT_NAME)


@pytest.mark.parametrize("name", ["a.b", ".env", "v1.0", "..a", "A_b-c", "x" * 50])
def test_dots_inside_a_name_are_still_fine(name: str) -> None:
    assert is_valid_name(name)
    assert validate_project_name(name) == name


@pytest.mark.parametrize("value", ["", "x" * 101, "a/b", "é", "a b", None, 7, ["a"]])
def test_anything_else_off_the_pattern_is_refused(value: object) -> None:
    assert not is_valid_name(value)


@pytest.mark.parametrize(
    "argv",
    [
        ["replicate", "--project", "..", "--dry-run"],
        ["runs", "--project", "."],
        ["cancel", "20260101T000000Z-deadbeef", "--project", "..."],
        ["snapshots", "list", ".."],
        ["snapshots", "show", "..@latest"],
        ["restore", "..@latest", "--no-wait"],
    ],
)
def test_the_cli_refuses_a_name_of_only_dots_as_bad_usage(
    argv: list[str], regions: Any, azurite: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    out, err = io.StringIO(), io.StringIO()
    status = main(argv, environ=settings_values(regions, azurite), out=out, err=err)
    assert status == EXIT_USAGE, err.getvalue()
    assert "invalid" in err.getvalue()


def test_a_setting_listing_a_name_of_only_dots_is_refused_by_name(regions: Any, azurite: Any) -> None:
    values = {**settings_values(regions, azurite), "REPLICATED_PROJECTS": "LoanAgreements,.."}
    with pytest.raises(SettingsError) as refused:
        settings_from_values(values)
    assert refused.value.setting == "REPLICATED_PROJECTS"
