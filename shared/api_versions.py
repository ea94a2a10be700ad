"""Api-versions of the Language APIs we call, one enum per API family, with what each can do.

The only place that knows version strings: everything else asks a capability
(`version.supports_model_scoped_export`) instead of comparing strings, so a new version is added here,
with its capabilities, and is never silently treated like another one. Members are `str`s (the
`api-version` query value). Custom NER and custom text classification are the text family; the
conversations family (CLU, orchestration) has its own enum beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Self

from shared.errors import SettingsError


@dataclass(frozen=True)
class Capabilities:
    # `:export?trainedModelLabel=`: the data a model was trained on, not only the working copy.
    model_scoped_export: bool
    # The api-version of the prediction (runtime) API used beside this authoring version.
    runtime_version: str
    # `models/{label}/:load-snapshot`: a model's training data becomes the working copy again.
    load_snapshot: bool = False


class ApiVersion(StrEnum):
    """An api-version of one API family (the members live in the family's subclass)."""

    @property
    def capabilities(self) -> Capabilities:
        return _CAPABILITIES[self]

    @property
    def supports_model_scoped_export(self) -> bool:
        return self.capabilities.model_scoped_export

    @property
    def supports_load_snapshot(self) -> bool:
        return self.capabilities.load_snapshot

    @property
    def runtime_version(self) -> str:
        return self.capabilities.runtime_version

    @classmethod
    def supported(cls) -> list[str]:
        return [member.value for member in cls]

    @classmethod
    def from_setting(cls, value: str, setting: str) -> Self:
        """The version a setting names; an unknown one is a configuration error naming the setting."""
        try:
            return cls(value.strip())
        except ValueError:
            supported = ", ".join(cls.supported())
            problem = f"names an api-version that is not supported; use one of {supported}"
            raise SettingsError(setting, problem) from None


class TextApiVersion(ApiVersion):
    """Authoring and runtime (analyze-text) of custom NER and custom text classification."""

    V2023_04_01 = "2023-04-01"
    V2022_05_01 = "2022-05-01"


class ConversationsApiVersion(ApiVersion):
    """Authoring and runtime (analyze-conversations) of CLU and orchestration workflow projects."""

    V2023_04_01 = "2023-04-01"
    V2022_05_01 = "2022-05-01"


DEFAULT_TEXT_API_VERSION = TextApiVersion.V2023_04_01
DEFAULT_CONVERSATIONS_API_VERSION = ConversationsApiVersion.V2023_04_01

_CAPABILITIES: dict[ApiVersion, Capabilities] = {
    TextApiVersion.V2023_04_01: Capabilities(model_scoped_export=True, runtime_version="2023-04-01",
                                             load_snapshot=True),
    TextApiVersion.V2022_05_01: Capabilities(model_scoped_export=False, runtime_version="2022-05-01"),
    ConversationsApiVersion.V2023_04_01: Capabilities(model_scoped_export=True, runtime_version="2023-04-01",
                                                      load_snapshot=True),
    ConversationsApiVersion.V2022_05_01: Capabilities(model_scoped_export=False,
                                                      runtime_version="2022-05-01"),
}

__all__ = ["DEFAULT_CONVERSATIONS_API_VERSION", "DEFAULT_TEXT_API_VERSION", "ApiVersion", "Capabilities",
           "ConversationsApiVersion", "TextApiVersion"]
