"""Settings for backup and recovery: a list of targets with per-target settings, retention, notifications."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from shared.settings import SECRET_SETTINGS, SettingsError, settings_from_values

BASE = {
    "PRIMARY_LANGUAGE_ENDPOINT": "https://primary.cognitiveservices.azure.com",
    "PRIMARY_DOCUMENTS_STORAGE": "https://primarydocs.blob.core.windows.net",
    "SNAPSHOT_STORAGE": "UseDevelopmentStorage=true",
    "REPLICATED_PROJECTS": "*",
}
SINGLE = {
    "SECONDARY_LANGUAGE_ENDPOINT": "https://secondary.cognitiveservices.azure.com",
    "SECONDARY_DOCUMENTS_STORAGE": "https://secondarydocs.blob.core.windows.net",
}
LISTED = {
    "SECONDARY_TARGETS": "westus2, north-europe",
    "SECONDARY__WESTUS2__LANGUAGE_ENDPOINT": "https://lang-westus2.cognitiveservices.azure.com",
    "SECONDARY__WESTUS2__DOCUMENTS_STORAGE": "https://docswestus2.blob.core.windows.net",
    "SECONDARY__NORTH_EUROPE__LANGUAGE_ENDPOINT": "https://lang-neu.cognitiveservices.azure.com",
    "SECONDARY__NORTH_EUROPE__LANGUAGE_KEY": "neu-secret-key",
    "SECONDARY__NORTH_EUROPE__DOCUMENTS_STORAGE": "https://docsneu.blob.core.windows.net",
    "SECONDARY__NORTH_EUROPE__DOCUMENTS_CONTAINER": "loans-neu",
    "SECONDARY__NORTH_EUROPE__REGION": "northeurope",
}


def test_listed_targets_alone() -> None:
    settings = settings_from_values({**BASE, **LISTED})
    assert settings.target_names() == ["westus2", "north-europe"]
    west, north = settings.targets
    assert west.language.region == "westus2" and west.language.key is None
    assert west.documents_container("loans") == "loans"
    assert north.language.key == "neu-secret-key" and north.language.region == "northeurope"
    assert north.documents_container("loans") == "loans-neu"
    assert north.documents_storage_setting == "SECONDARY__NORTH_EUROPE__DOCUMENTS_STORAGE"
    assert "neu-secret-key" not in repr(settings) + json.dumps(settings.to_json())


def test_the_single_secondary_stays_beside_listed_targets() -> None:
    settings = settings_from_values({**BASE, **SINGLE, **LISTED})
    assert settings.target_names() == ["secondary", "westus2", "north-europe"]
    assert settings_from_values({**BASE, **SINGLE}).target_names() == ["secondary"]


@pytest.mark.parametrize(("change", "setting"), [
    ({"SECONDARY_TARGETS": "West_US"}, "SECONDARY_TARGETS"),
    ({"SECONDARY_TARGETS": "primary"}, "SECONDARY_TARGETS"),
    ({"SECONDARY_TARGETS": " , "}, "SECONDARY_TARGETS"),
    ({"SECONDARY__WESTUS2__LANGUAGE_ENDPOINT": ""}, "SECONDARY__WESTUS2__LANGUAGE_ENDPOINT"),
    ({"SECONDARY__WESTUS2__DOCUMENTS_STORAGE": ""}, "SECONDARY__WESTUS2__DOCUMENTS_STORAGE"),
    ({"SECONDARY__WESTUS2__LANGUAGE_ENDPOINT": BASE["PRIMARY_LANGUAGE_ENDPOINT"]},
     "SECONDARY__WESTUS2__LANGUAGE_ENDPOINT"),
    ({"SECONDARY__NORTH_EUROPE__LANGUAGE_ENDPOINT": LISTED["SECONDARY__WESTUS2__LANGUAGE_ENDPOINT"]},
     "SECONDARY__NORTH_EUROPE__LANGUAGE_ENDPOINT"),
    ({"SECONDARY__NORTH_EUROPE__DOCUMENTS_CONTAINER": "Bad_Name"},
     "SECONDARY__NORTH_EUROPE__DOCUMENTS_CONTAINER"),
    ({"SNAPSHOT_RETENTION_COUNT": "0"}, "SNAPSHOT_RETENTION_COUNT"),
    ({"SNAPSHOT_RETENTION_DAYS": "a week"}, "SNAPSHOT_RETENTION_DAYS"),
    ({"NOTIFY_FORMAT": "xml"}, "NOTIFY_FORMAT"),
    ({"NOTIFY_WEBHOOK_URL": "http://hooks.example.com/secret-path"}, "NOTIFY_WEBHOOK_URL"),
    ({"DELETE_REMOVED_PROJECTS": "sometimes"}, "DELETE_REMOVED_PROJECTS"),
])
def test_each_bad_value_names_its_setting(change: dict[str, str], setting: str) -> None:
    with pytest.raises(SettingsError) as raised:
        settings_from_values({**BASE, **LISTED, **change})
    assert raised.value.setting == setting
    assert "secret-path" not in str(raised.value)


def test_no_target_at_all_names_the_single_secondary_setting() -> None:
    with pytest.raises(SettingsError) as raised:
        settings_from_values(BASE)
    assert raised.value.setting == "SECONDARY_LANGUAGE_ENDPOINT"


def test_backup_settings_and_their_defaults() -> None:
    defaults = settings_from_values({**BASE, **SINGLE})
    assert (defaults.snapshot_retention_count, defaults.snapshot_retention_days) == (None, None)
    assert defaults.expiry_warning_days == 30 and defaults.recovery_point_max_age == timedelta(hours=36)
    assert defaults.notify_webhook_url is None and defaults.notify_format == "json"
    assert defaults.delete_removed_projects is False
    url = "https://hooks.slack.com/services/T0/B0/very-secret"
    settings = settings_from_values({**BASE, **SINGLE, "SNAPSHOT_RETENTION_COUNT": "10",
                                     "SNAPSHOT_RETENTION_DAYS": "90", "EXPIRY_WARNING_DAYS": "14",
                                     "RECOVERY_POINT_MAX_AGE_HOURS": "6", "NOTIFY_WEBHOOK_URL": url,
                                     "NOTIFY_FORMAT": "Teams", "DELETE_REMOVED_PROJECTS": "true"})
    assert (settings.snapshot_retention_count, settings.snapshot_retention_days) == (10, 90)
    assert settings.expiry_warning_days == 14 and settings.recovery_point_max_age == timedelta(hours=6)
    assert settings.notify_format == "teams" and settings.delete_removed_projects
    assert settings.notify_webhook_url == url and "NOTIFY_WEBHOOK_URL" in SECRET_SETTINGS
    assert "very-secret" not in repr(settings) + json.dumps(settings.to_json())
