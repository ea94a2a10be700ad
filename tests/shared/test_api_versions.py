"""Api-versions: capabilities decide behaviour; an unknown version is a configuration error by setting."""

from __future__ import annotations

import pytest

from shared.api_versions import DEFAULT_TEXT_API_VERSION, TextApiVersion
from shared.errors import SettingsError
from shared.settings import settings_from_values
from tests.shared.test_settings import minimal


def test_each_text_version_states_its_capabilities() -> None:
    assert DEFAULT_TEXT_API_VERSION.supports_model_scoped_export
    assert not TextApiVersion.V2022_05_01.supports_model_scoped_export
    for version in TextApiVersion:
        assert version.runtime_version   # every version pairs with a prediction api-version
        assert version == version.value  # the member is the query value


def test_an_unknown_version_names_the_setting_and_the_supported_ones_not_the_value() -> None:
    with pytest.raises(SettingsError) as raised:
        TextApiVersion.from_setting("2031-13-99-preview", "LANGUAGE_API_VERSION")
    assert raised.value.setting == "LANGUAGE_API_VERSION"
    assert "2031-13-99" not in str(raised.value)
    assert all(version.value in str(raised.value) for version in TextApiVersion)


def test_settings_hold_the_version_and_refuse_an_unknown_one() -> None:
    assert settings_from_values(minimal()).api_version is DEFAULT_TEXT_API_VERSION
    older = settings_from_values(minimal(LANGUAGE_API_VERSION="2022-05-01"))
    assert older.api_version is TextApiVersion.V2022_05_01
    with pytest.raises(SettingsError, match=r"^LANGUAGE_API_VERSION: .*not supported") as raised:
        settings_from_values(minimal(LANGUAGE_API_VERSION="2024-11-15-preview"))
    assert "2024-11-15" not in str(raised.value)
