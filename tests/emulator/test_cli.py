"""`python -m emulator` as users start it: argument checks, and HTTPS with bearer tokens from an SDK."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request

import pytest
from azure.ai.textanalytics.authoring import TextAuthoringClient
from azure.core.exceptions import HttpResponseError

from emulator.__main__ import parse_args
from emulator.tokens import EmulatorTokenCredential
from localdev.services import Azurite, EmulatorRegion


def test_arguments_as_documented() -> None:
    args = parse_args(
        [
            "--port",
            "1",
            "--key",
            "k",
            "--storage-connection-string",
            "c",
            "--time-scale",
            "0.5",
            "--control-port",
            "2",
            "--secondary-key",
            "k2",
            "--region",
            "westus2",
        ]
    )
    assert (args.host, args.port, args.control_port, args.time_scale) == ("127.0.0.1", 1, 2, 0.5)
    assert (args.post_per_minute, args.get_per_minute) == (10, 100)
    assert args.state_dir is None and args.tls_cert is None


@pytest.mark.parametrize("extra", [["--tls-cert", "c.pem"], ["--time-scale", "0"], []])
def test_bad_arguments_exit_with_usage(extra: list[str]) -> None:
    required = ["--port", "1", "--key", "k"] + (["--storage-connection-string", "c"] if extra else [])
    result = subprocess.run(
        [sys.executable, "-m", "emulator", *required, *extra], capture_output=True, timeout=30
    )
    assert result.returncode == 2
    assert b"usage:" in result.stderr


def test_https_process_accepts_sdk_bearer_tokens_and_enforces_roles(
    azurite: Azurite, tls_files: dict[str, str]
) -> None:
    region = EmulatorRegion(
        azurite.connection_string("primarydocs"),
        time_scale=0.001,
        extra_args=["--tls-cert", tls_files["cert"], "--tls-key", tls_files["key"]],
    )
    try:
        region.start()
        endpoint = f"https://127.0.0.1:{region.port}"
        reader = TextAuthoringClient(
            endpoint,
            EmulatorTokenCredential("Reader"),
            api_version="2023-04-01",
            connection_verify=tls_files["ca"],
        )
        assert list(reader.list_projects()) == []
        with pytest.raises(HttpResponseError) as refused:
            reader.begin_delete_project("Loans", polling_interval=0.01).result()
        assert refused.value.status_code == 403  # roles are checked before the project is looked up
        credential = EmulatorTokenCredential("Owner")
        owner = TextAuthoringClient(
            endpoint, credential, api_version="2023-04-01", connection_verify=tls_files["ca"]
        )
        assert list(owner.list_training_config_versions(project_kind="CustomEntityRecognition"))
        assert credential.scopes_requested[0] == ("https://cognitiveservices.azure.com/.default",)
    finally:
        region.stop()


def test_behaviour_flags_are_parsed_and_checked() -> None:
    args = parse_args(
        [
            "--port",
            "1",
            "--key",
            "k",
            "--storage-connection-string",
            "c",
            "--behaviour",
            "importKeepsModels=false",
            "--behaviour",
            "projectKindCase=strict",
        ]
    )
    assert args.behaviour == {"importKeepsModels": False, "projectKindCase": "strict"}
    for bad in ("importKeepsModels=maybe", "noSuchSwitch=1", "novalue"):
        with pytest.raises(SystemExit):
            parse_args(["--port", "1", "--key", "k", "--storage-connection-string", "c", "--behaviour", bad])


def test_a_process_keeps_its_startup_behaviour_across_resets(azurite: Azurite) -> None:
    region = EmulatorRegion(
        azurite.connection_string("primarydocs"),
        time_scale=0.001,
        extra_args=["--behaviour", "trainingConflictStatus=400"],
    )
    try:
        region.start()
        region.control("/_emulator/behaviour", b'{"trainingConflictStatus": 409}')
        region.reset()
        behaviour = json.loads(
            urllib.request.urlopen(f"{region.control_url}/_emulator/behaviour", timeout=5).read()
        )
        assert behaviour["trainingConflictStatus"] == 400
    finally:
        region.stop()
