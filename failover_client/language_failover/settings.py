"""The regions a failover client uses, read from the replicator's Language app settings.

This package installs and runs without the replicator, so the few rules it shares with the
replicator's `shared/settings.py` (setting names, target names, the order of regions) are restated
here; tests/failover_client/test_settings.py checks that both read the same settings the same way.
Errors name the setting, never its value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "DEFAULT_SECONDARY_REGION_NAME",
    "PRIMARY_REGION_NAME",
    "TARGET_NAME_PATTERN",
    "ConfiguredRegion",
    "regions_from_settings",
    "regions_from_values",
    "target_setting",
]

PRIMARY_REGION_NAME = "primary"
DEFAULT_SECONDARY_REGION_NAME = "secondary"
# A name listed in SECONDARY_TARGETS: lower-case letters, digits and '-', at most 40 characters.
TARGET_NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


@dataclass(frozen=True)
class ConfiguredRegion:
    """One region as the settings describe it. No key means Microsoft Entra ID."""

    name: str
    endpoint: str
    key: str | None = field(default=None, repr=False)


class _LanguageResourceLike(Protocol):
    name: str
    endpoint: str
    key: str | None
    region: str | None


class _TargetLike(Protocol):
    name: str

    @property
    def language(self) -> _LanguageResourceLike: ...


class SettingsLike(Protocol):
    """The part of the replicator's loaded settings (`shared.settings.Settings`) read here."""

    @property
    def primary(self) -> _LanguageResourceLike: ...

    @property
    def targets(self) -> Sequence[Any]: ...


def target_setting(name: str, suffix: str) -> str:
    """The name of one of a listed target's settings: target_setting("west-eu", "LANGUAGE_KEY")."""
    # App settings allow '_' but not '-' in names.
    return f"SECONDARY__{name.upper().replace('-', '_')}__{suffix}"


def regions_from_settings(settings: SettingsLike) -> list[ConfiguredRegion]:
    """The primary, then every target of the replicator's loaded settings, in its order."""
    targets: Sequence[_TargetLike] = settings.targets
    return [
        ConfiguredRegion(PRIMARY_REGION_NAME, settings.primary.endpoint, settings.primary.key),
        *(
            ConfiguredRegion(target.language.region or target.name, target.language.endpoint,
                             target.language.key)
            for target in targets
        ),
    ]


def regions_from_values(values: Mapping[str, str]) -> list[ConfiguredRegion]:
    """The primary, then each secondary, from raw app settings, in the order the replicator uses.

    Only the Language settings are read: PRIMARY_LANGUAGE_ENDPOINT and PRIMARY_LANGUAGE_KEY; the single
    secondary (SECONDARY_LANGUAGE_ENDPOINT, SECONDARY_LANGUAGE_KEY, SECONDARY_REGION); then each target
    listed in SECONDARY_TARGETS (SECONDARY__<NAME>__LANGUAGE_ENDPOINT, __LANGUAGE_KEY, __REGION).
    Raises ValueError naming the setting that is missing or malformed.
    """

    def optional(name: str) -> str | None:
        return (values.get(name) or "").strip() or None

    def required(name: str, why: str) -> str:
        value = optional(name)
        if value is None:
            raise ValueError(f"{name} is not set: {why}")
        return value

    regions = [ConfiguredRegion(
        PRIMARY_REGION_NAME,
        required("PRIMARY_LANGUAGE_ENDPOINT", "failover needs the primary's endpoint"),
        optional("PRIMARY_LANGUAGE_KEY"),
    )]
    listed_value = optional("SECONDARY_TARGETS")
    listed = [name.strip() for name in (listed_value or "").split(",") if name.strip()]
    if listed_value is not None and not listed:
        raise ValueError("SECONDARY_TARGETS lists no target")
    # SECONDARY_TARGETS alone configures every secondary; the single-secondary settings still work beside it.
    if not listed or optional("SECONDARY_LANGUAGE_ENDPOINT") is not None:
        regions.append(ConfiguredRegion(
            optional("SECONDARY_REGION") or DEFAULT_SECONDARY_REGION_NAME,
            required(
                "SECONDARY_LANGUAGE_ENDPOINT",
                "failover needs a secondary endpoint (or targets listed in SECONDARY_TARGETS)",
            ),
            optional("SECONDARY_LANGUAGE_KEY"),
        ))
    for name in dict.fromkeys(listed):
        if not TARGET_NAME_PATTERN.match(name) or name == PRIMARY_REGION_NAME:
            raise ValueError(
                "SECONDARY_TARGETS: holds a name that is not a valid target name "
                "(lower-case letters, digits and '-'; not 'primary')"
            )
        regions.append(ConfiguredRegion(
            optional(target_setting(name, "REGION")) or name,
            required(target_setting(name, "LANGUAGE_ENDPOINT"), f"SECONDARY_TARGETS lists {name!r}"),
            optional(target_setting(name, "LANGUAGE_KEY")),
        ))
    return regions
