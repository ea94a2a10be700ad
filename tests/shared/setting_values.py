"""App settings that load without any service behind them, for tests that never reach one."""

from __future__ import annotations


def offline_values(**overrides: str) -> dict[str, str]:
    """A valid configuration of public-looking endpoints; an override of "" removes that setting."""
    values = {
        "PRIMARY_LANGUAGE_ENDPOINT": "https://primary.cognitiveservices.azure.com",
        "SECONDARY_LANGUAGE_ENDPOINT": "https://secondary.cognitiveservices.azure.com",
        "PRIMARY_DOCUMENTS_STORAGE": "https://primarydocs.blob.core.windows.net",
        "SECONDARY_DOCUMENTS_STORAGE": "https://secondarydocs.blob.core.windows.net",
        "SNAPSHOT_STORAGE": "UseDevelopmentStorage=true",
        "REPLICATED_PROJECTS": "*",
    }
    values.update(overrides)
    return {name: value for name, value in values.items() if value}
