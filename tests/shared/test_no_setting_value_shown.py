"""No setting's value is ever printed, logged or returned, only its name (issue 11).

Every setting in turn holds a canary, in the shapes that used to leak (a mistyped connection string, an
AccountKey that is not base64, a SAS URL, a SAS connection string, a key, garbage); then every CLI
command (found from the parser) and every HTTP route (found from function_app) runs, with every logger
at DEBUG, and the canary must appear nowhere: not in stdout, stderr, a log line, a body or a header.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
from typing import Any

import pytest

from shared.cli.main import build_parser, main
from shared.functions.engine_provider import engines
from shared.settings import (
    KNOWN_SETTINGS,
    SECRET_SETTINGS,
    TARGET_SETTING_SUFFIXES,
    SettingsError,
    settings_from_values,
    target_setting,
)
from tests.shared.engine.support import settings_values
from tests.shared.functions.host import http_request, registered
from tests.shared.functions.http_routes import http_routes

CANARY = "Zq9Kanary7"
VALID_ARGUMENTS = {"run_id": "20260101T000000Z-deadbeef", "project": "LoanAgreements"}
VALID_ROUTE_PARAMS = {"project": "LoanAgreements", "runId": "20260101T000000Z-deadbeef", "step": "train",
                      "snapshot": "latest"}
EVERY_SETTING = (*KNOWN_SETTINGS, "AzureWebJobsStorage")
# Secrets take any well-formed value too; the other settings' well-formed values (a project, a region)
# are what reports are about, so only malformed ones must stay unshown.
SECRETS = (*SECRET_SETTINGS, "AzureWebJobsStorage")


def canary_values(azurite: Any, setting: str) -> dict[str, str]:
    blob = azurite.blob_url()
    queue = blob.replace(str(azurite.blob_port), str(azurite.queue_port))
    shapes = {
        "mistyped connection string": f"DefaultEndpointsProtocol=https;AcountName={CANARY};"
                                      f"AccountKey={CANARY}==;EndpointSuffix=core.windows.net",
        "AccountKey not base64": f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
                                 f"AccountKey={CANARY}!*;BlobEndpoint={blob};QueueEndpoint={queue}",
        "SAS URL": f"https://{CANARY}.blob.core.windows.net/c?sv=2022-11-02&sig={CANARY}%2F",
        "garbage": f" {CANARY} ;={CANARY}\t",
    }
    if setting in SECRETS:
        shapes["SAS connection string"] = (f"BlobEndpoint={blob};QueueEndpoint={queue};"
                                           f"SharedAccessSignature=sv=2022-11-02&ss=bq&srt=sco&sp=rl&sig={CANARY}")
        shapes["key"] = CANARY * 4
        shapes["loopback webhook"] = f"http://127.0.0.1:9/hook/{CANARY}?sig={CANARY}"
    return shapes


def cli_commands() -> list[list[str]]:
    """Every leaf command of `python -m shared`, with its positionals filled and its waits bounded."""
    commands: list[list[str]] = []

    def walk(parser: argparse.ArgumentParser, prefix: list[str]) -> None:
        subparsers = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if subparsers:
            for name, child in subparsers[0].choices.items():
                walk(child, [*prefix, name])
            return
        argv = list(prefix)
        for action in parser._actions:
            if not action.option_strings and action.dest != "help":
                argv.append(VALID_ARGUMENTS.get(action.dest, "LoanAgreements@latest"))
            elif action.required:   # a required option, e.g. `snapshots import-legacy --project`
                argv += [action.option_strings[0], VALID_ARGUMENTS.get(action.dest, "LoanAgreements")]
            elif "--timeout" in action.option_strings:
                argv += ["--timeout", "1"]
            elif "--no-wait" in action.option_strings:
                argv.append("--no-wait")
        commands.append(argv)

    walk(build_parser(), [])
    return commands


def run_everything(values: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> str:
    """All CLI output and every HTTP answer, for settings `values`."""
    seen = []
    for argv in cli_commands():
        out, err = io.StringIO(), io.StringIO()
        main(argv, environ=values, out=out, err=err)
        seen += [out.getvalue(), err.getvalue()]
    for name in EVERY_SETTING:
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    engines.clear()
    try:
        for route in http_routes():
            params = {name: VALID_ROUTE_PARAMS[name] for name in route.route_params}
            path = route.route
            for name, value in params.items():
                path = path.replace(f"{{{name}}}", value)
            for method in route.methods:
                response = registered(route.function)(http_request(method, path, route_params=params))
                seen += [response.get_body().decode("utf-8", "replace"), repr(dict(response.headers))]
    finally:
        engines.clear()
    return "\n".join(seen)


@pytest.mark.parametrize("setting", EVERY_SETTING)
def test_a_settings_value_never_shows_in_output_logs_or_answers(
    setting: str, regions: Any, azurite: Any, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture, tmp_path: Any,
) -> None:
    monkeypatch.chdir(tmp_path)  # no developer's local.settings.json
    caplog.set_level(logging.DEBUG)  # every logger, the SDKs' and urllib3's included
    for shape, value in canary_values(azurite, setting).items():
        values = {**settings_values(regions, azurite), setting: value}
        shown = run_everything(values, monkeypatch)
        logged = caplog.text + "".join(record.exc_text or "" for record in caplog.records)
        assert CANARY not in shown, (shape, [line for line in shown.splitlines() if CANARY in line][:3])
        assert CANARY not in logged, (shape, [line for line in logged.splitlines() if CANARY in line][:3])
        caplog.clear()


@pytest.mark.parametrize("suffix", TARGET_SETTING_SUFFIXES)
def test_a_listed_targets_setting_is_named_never_shown(suffix: str, regions: Any, azurite: Any) -> None:
    valid = {"LANGUAGE_ENDPOINT": "https://extra.cognitiveservices.azure.com", "LANGUAGE_KEY": "k",
             "DOCUMENTS_STORAGE": azurite.connection_string(), "DOCUMENTS_CONTAINER": "docs",
             "REGION": "westus3"}
    for value in canary_values(azurite, "").values():
        values = {**settings_values(regions, azurite), "SECONDARY_TARGETS": "extra",
                  **{target_setting("extra", name): text for name, text in valid.items()},
                  target_setting("extra", suffix): value}
        with pytest.raises(SettingsError) as refused:
            settings_from_values(values)
        assert refused.value.setting == target_setting("extra", suffix)
        assert CANARY not in str(refused.value)


def test_the_cli_commands_are_found_from_the_parser() -> None:
    names = {argv[0] for argv in cli_commands()}
    assert {"drift", "replicate", "runs", "cancel", "snapshots", "restore", "retention"} <= names
    assert os.sep not in "".join(names)


# Well-formed values that reports used to quote as NAME=value (a warning, a risk, a doctor line).
WELL_FORMED = {"LANGUAGE_API_VERSION": "2022-05-01", "CLU_DEFAULT_TRAINING_MODE": "advanced",
               "DOCUMENTS_SHARED": "true", "DELETE_REMOVED_PROJECTS": "true", "REPLICATED_PROJECTS": "*",
               "RECOVERY_POINT_MAX_AGE_HOURS": "1"}


def test_a_well_formed_value_is_never_paired_with_its_name(
    regions: Any, azurite: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
    tmp_path: Any,
) -> None:
    monkeypatch.chdir(tmp_path)
    caplog.set_level(logging.DEBUG)
    values = {**settings_values(regions, azurite), **WELL_FORMED}
    del values["SECONDARY_DOCUMENTS_STORAGE"]   # so DOCUMENTS_SHARED applies and is warned about
    text = run_everything(values, monkeypatch) + caplog.text
    paired = [f"{name}={value}" for name, value in values.items() if f"{name}={value}" in text]
    assert paired == []
    assert "DOCUMENTS_SHARED is on" in text and "LANGUAGE_API_VERSION names" in text   # they are named
