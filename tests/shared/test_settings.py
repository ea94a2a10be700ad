"""Settings: one clear message per bad setting, secrets never shown, targets as a list."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from shared.settings import (
    KNOWN_SETTINGS,
    SECRET_SETTINGS,
    LanguageResource,
    SettingsError,
    load_settings,
)

SECRET = "s3cr3t-key-value"
CONNECTION = (
    "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=QUNDT1VOVEtFWQ==;"
    "EndpointSuffix=core.windows.net"
)


def minimal(**overrides: str) -> dict[str, str]:
    values = {
        "PRIMARY_LANGUAGE_ENDPOINT": "https://primary.cognitiveservices.azure.com/",
        "PRIMARY_LANGUAGE_KEY": SECRET,
        "PRIMARY_DOCUMENTS_STORAGE": CONNECTION,
        "SECONDARY_LANGUAGE_ENDPOINT": "https://secondary.cognitiveservices.azure.com",
        "SECONDARY_DOCUMENTS_STORAGE": "https://secondarydocs.blob.core.windows.net",
        "REPLICATED_PROJECTS": "LoanAgreements, Tickets",
        "SNAPSHOT_STORAGE": "SnapshotConnection",
        "SnapshotConnection__blobServiceUri": "https://snapshots.blob.core.windows.net",
    }
    values.update(overrides)
    return {name: value for name, value in values.items() if value != "<unset>"}


def error_for(values: dict[str, str]) -> SettingsError:
    with pytest.raises(SettingsError) as caught:
        load_settings(values)
    return caught.value


def test_minimal_settings_have_documented_defaults() -> None:
    settings = load_settings(minimal())
    assert settings.primary.endpoint == "https://primary.cognitiveservices.azure.com"
    assert settings.primary.key == SECRET
    assert settings.replicated_projects == ("LoanAgreements", "Tickets")
    assert not settings.replicate_all
    assert settings.snapshot_container == "snapshots"
    assert settings.api_version == "2023-04-01"
    assert settings.max_trainings_per_project_per_day == 3
    assert settings.verify_agreement_threshold == 1.0
    assert settings.verify_agreement_threshold_resampled == 0.8
    assert settings.verify_evaluation_tolerance == 0.02
    assert settings.training_split == "exact"
    assert settings.run_stall_timeout == timedelta(minutes=30)
    assert settings.warnings == ()
    [target] = settings.targets
    assert target.name == "secondary"
    assert target.language.key is None  # no key: Entra ID
    assert target.documents_storage == "https://secondarydocs.blob.core.windows.net"
    assert settings.target("secondary") is target
    assert target.documents_container("loans") == "loans"


def test_every_known_setting_is_read() -> None:
    settings = load_settings(
        minimal(
            SECONDARY_LANGUAGE_KEY="other",
            SECONDARY_REGION="westus2",
            SNAPSHOT_CONTAINER="dr-snapshots",
            DRIFT_SCHEDULE="0 */30 * * * *",
            LANGUAGE_API_VERSION="2022-05-01",
            MAX_TRAININGS_PER_PROJECT_PER_DAY="5",
            VERIFY_AGREEMENT_THRESHOLD="0.9",
            RUN_STALL_TIMEOUT_MINUTES="45",
            REPLICATED_PROJECTS="*",
        )
    )
    assert settings.targets[0].language.region == "westus2"
    assert settings.snapshot_container == "dr-snapshots"
    assert settings.drift_schedule == "0 */30 * * * *"
    assert settings.api_version == "2022-05-01"
    assert any("LANGUAGE_API_VERSION names has no model-scoped export" in said for said in settings.warnings)
    assert not any("2022-05-01" in warning for warning in settings.warnings)
    assert settings.max_trainings_per_project_per_day == 5
    assert settings.verify_agreement_threshold == 0.9
    assert settings.run_stall_timeout == timedelta(minutes=45)
    assert settings.replicate_all and settings.is_replicated("Anything")
    assert set(KNOWN_SETTINGS) >= {name for name in minimal() if "__" not in name} | {"SECONDARY_REGION"}
    assert set(SECRET_SETTINGS) <= set(KNOWN_SETTINGS)


@pytest.mark.parametrize(
    ("setting", "value", "expected"),
    [
        ("PRIMARY_LANGUAGE_ENDPOINT", "<unset>", "is not set"),
        ("PRIMARY_LANGUAGE_ENDPOINT", "http://primary.cognitiveservices.azure.com", "https"),
        ("PRIMARY_LANGUAGE_ENDPOINT", "primary.cognitiveservices.azure.com", "absolute URL"),
        (
            "SECONDARY_LANGUAGE_ENDPOINT",
            "https://secondary.cognitiveservices.azure.com/language",
            "without a path",
        ),
        ("SECONDARY_LANGUAGE_ENDPOINT", "https://primary.cognitiveservices.azure.com", "same resource"),
        ("LANGUAGE_API_VERSION", "2023-04-15-preview", "not supported"),
        ("REPLICATED_PROJECTS", "<unset>", "is not set"),
        ("REPLICATED_PROJECTS", "good, bad name", "not a valid name"),
        ("REPLICATED_PROJECTS", "a" * 101, "not a valid name"),
        ("REPLICATED_PROJECTS", "a,*", "alone"),
        ("SNAPSHOT_STORAGE", "<unset>", "is not set"),
        ("SNAPSHOT_STORAGE", "Dangling", "resolves to nothing"),
        ("SNAPSHOT_STORAGE", "https://acct.blob.core.windows.net", "is a URL"),
        ("SNAPSHOT_CONTAINER", "Snapshots", "container name"),
        ("PRIMARY_DOCUMENTS_STORAGE", "<unset>", "is not set"),
        ("PRIMARY_DOCUMENTS_STORAGE", "ftp://x", "connection string"),
        ("SECONDARY_DOCUMENTS_STORAGE", "<unset>", "DOCUMENTS_SHARED"),
        ("DOCUMENTS_SHARED", "maybe", "true or false"),
        ("MAX_TRAININGS_PER_PROJECT_PER_DAY", "three", "whole number"),
        ("MAX_TRAININGS_PER_PROJECT_PER_DAY", "-1", "at least 0"),
        ("VERIFY_AGREEMENT_THRESHOLD", "1.5", "between 0 and 1"),
        ("VERIFY_AGREEMENT_THRESHOLD_RESAMPLED", "2", "between 0 and 1"),
        ("VERIFY_EVALUATION_TOLERANCE", "-0.1", "between 0 and 1"),
        ("TRAINING_SPLIT", "random", "exact, service"),
        ("CONVERSATIONS_API_VERSION", "2024-11-15-preview", "not supported"),
        ("CLU_DEFAULT_TRAINING_MODE", "premium-s3cr3t", "standard, advanced"),
        ("RUN_STALL_TIMEOUT_MINUTES", "0", "at least 1"),
        ("DRIFT_SCHEDULE", "0 3 * * *", "six-field"),
    ],
)
def test_bad_settings_name_the_setting(setting: str, value: str, expected: str) -> None:
    error = error_for(minimal(**{setting: value}))
    assert error.setting == setting
    assert str(error).startswith(f"{setting}: ")
    assert expected in str(error)


def test_conversation_settings_default_to_the_free_mode_and_the_newest_version() -> None:
    settings = load_settings(minimal())
    assert settings.conversations_api_version == "2023-04-01"
    assert settings.clu_default_training_mode == "standard"
    chosen = load_settings(minimal(CONVERSATIONS_API_VERSION="2022-05-01",
                                   CLU_DEFAULT_TRAINING_MODE="Advanced"))
    assert chosen.conversations_api_version == "2022-05-01"
    assert chosen.clu_default_training_mode == "advanced"
    assert chosen.to_json()["cluDefaultTrainingMode"] == "advanced"


def test_a_bad_training_mode_is_named_by_its_setting_not_its_value() -> None:
    error = error_for(minimal(CLU_DEFAULT_TRAINING_MODE="premium-s3cr3t"))
    assert "premium-s3cr3t" not in str(error)


def test_loopback_http_is_accepted_for_the_emulator() -> None:
    settings = load_settings(
        minimal(
            PRIMARY_LANGUAGE_ENDPOINT="http://127.0.0.1:5000",
            SECONDARY_LANGUAGE_ENDPOINT="http://localhost:5001",
        )
    )
    assert settings.primary.endpoint == "http://127.0.0.1:5000"
    assert settings.primary.budget_key != settings.targets[0].language.budget_key


def test_shared_documents_are_allowed_but_flagged_as_a_dr_risk() -> None:
    settings = load_settings(minimal(SECONDARY_DOCUMENTS_STORAGE="<unset>", DOCUMENTS_SHARED="true"))
    target = settings.targets[0]
    assert target.documents_shared and settings.documents_shared
    assert target.documents_storage == CONNECTION
    assert target.documents_storage_setting == "PRIMARY_DOCUMENTS_STORAGE"
    assert any("DR risk" in warning for warning in settings.warnings)


def test_secrets_never_appear_in_reprs_errors_or_json() -> None:
    settings = load_settings(minimal(SECONDARY_LANGUAGE_KEY="second-secret"))
    for text in (repr(settings), str(settings), json.dumps(settings.to_json()), repr(settings.targets[0])):
        assert SECRET not in text
        assert "second-secret" not in text
        assert "AccountKey" not in text
    assert "'***'" in repr(LanguageResource("primary", "https://x.cognitiveservices.azure.com", SECRET))
    error = error_for(minimal(PRIMARY_DOCUMENTS_STORAGE="AccountKey=" + SECRET))
    assert SECRET not in str(error)


def test_environment_wins_over_local_settings_values(tmp_path: Path) -> None:
    local = tmp_path / "local.settings.json"
    values = minimal(REPLICATED_PROJECTS="FromFile")
    local.write_text(
        json.dumps({"IsEncrypted": False, "Values": {**values, "MAX_TRAININGS_PER_PROJECT_PER_DAY": 7}})
    )
    from_file = load_settings({}, local)
    assert from_file.replicated_projects == ("FromFile",)
    assert from_file.max_trainings_per_project_per_day == 7
    overridden = load_settings({"REPLICATED_PROJECTS": "FromEnv"}, local)
    assert overridden.replicated_projects == ("FromEnv",)


def test_unreadable_local_settings_are_reported(tmp_path: Path) -> None:
    broken = tmp_path / "local.settings.json"
    broken.write_text("{not json")
    with pytest.raises(SettingsError, match="not readable JSON"):
        load_settings({}, broken)
    with pytest.raises(SettingsError, match="file not found"):
        load_settings({}, tmp_path / "absent.json")
    broken.write_text(json.dumps({"Values": {"REPLICATED_PROJECTS": ["a"]}}))
    with pytest.raises(SettingsError, match=r"REPLICATED_PROJECTS: in .* must be a string"):
        load_settings({}, broken)


def test_empty_values_count_as_unset() -> None:
    settings = load_settings(minimal(PRIMARY_LANGUAGE_KEY="  ", SNAPSHOT_CONTAINER=""))
    assert settings.primary.key is None
    assert settings.snapshot_container == "snapshots"
