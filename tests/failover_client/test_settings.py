"""The failover client reads the replicator's Language settings the way the replicator does.

language_failover restates those rules so that it installs without the replicator; these tests hold the
two copies together: same target names accepted, same setting names, same regions in the same order.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from language_failover.settings import (
    TARGET_NAME_PATTERN,
    ConfiguredRegion,
    regions_from_settings,
    regions_from_values,
    target_setting,
)
from shared import settings as replicator
from tests.hypothesis_budget import examples
from tests.shared.setting_values import offline_values

# Mostly valid target names, with the characters and lengths the pattern refuses.
names = st.one_of(
    st.from_regex(TARGET_NAME_PATTERN, fullmatch=True),
    st.text(st.sampled_from("ab9-_ AZ.,"), min_size=1, max_size=3),
    st.sampled_from(["primary", "a" * 40, "a" * 41, "-a"]),
)
FEW = settings(max_examples=examples(60), deadline=None)


def with_targets(target_names: list[str], *, single_secondary: bool) -> dict[str, str]:
    """Replicator settings listing `target_names`, each its own resource and storage account."""
    single = single_secondary
    values = offline_values(
        SECONDARY_TARGETS=",".join(target_names),
        SECONDARY_LANGUAGE_ENDPOINT="https://secondary.cognitiveservices.azure.com" if single else "",
        SECONDARY_DOCUMENTS_STORAGE="https://secondarydocs.blob.core.windows.net" if single else "",
        SECONDARY_REGION="westus" if single else "",
        SECONDARY_LANGUAGE_KEY="k-secondary" if single else "",
    )
    for index, name in enumerate(target_names):
        values[target_setting(name, "LANGUAGE_ENDPOINT")] = f"https://t{index}.cognitiveservices.azure.com"
        values[target_setting(name, "DOCUMENTS_STORAGE")] = f"https://t{index}docs.blob.core.windows.net"
        if index % 2:
            values[target_setting(name, "LANGUAGE_KEY")] = f"k{index}"
    return values


def test_the_target_rules_are_the_replicators() -> None:
    assert TARGET_NAME_PATTERN.pattern == replicator.TARGET_NAME_PATTERN.pattern
    for suffix in replicator.TARGET_SETTING_SUFFIXES:
        assert target_setting("west-eu-2", suffix) == replicator.target_setting("west-eu-2", suffix)


@FEW
@given(name=names, suffix=st.sampled_from(["LANGUAGE_ENDPOINT", "LANGUAGE_KEY", "REGION"]))
def test_a_target_settings_name_is_the_replicators(name: str, suffix: str) -> None:
    assert target_setting(name, suffix) == replicator.target_setting(name, suffix)


@FEW
@given(
    # "secondary" beside the single secondary: the replicator refuses the name, the client needs only
    # distinct region names (SECONDARY_REGION names the single secondary here).
    target_names=st.lists(names.filter(lambda n: n != "secondary"), min_size=1, max_size=3),
    single_secondary=st.booleans(),
)
def test_both_read_the_same_regions_in_the_same_order_or_both_refuse(
    target_names: list[str], single_secondary: bool
) -> None:
    values = with_targets(target_names, single_secondary=single_secondary)
    try:
        loaded = replicator.settings_from_values(values)
    except replicator.SettingsError as refused:
        with pytest.raises(ValueError, match=re.escape(refused.setting)):
            regions_from_values(values)
        return
    assert regions_from_values(values) == regions_from_settings(loaded)


def test_the_single_secondary_keeps_its_place_before_the_listed_targets() -> None:
    values = with_targets(["westus2", "north-eu"], single_secondary=True) | {
        target_setting("north-eu", "REGION"): "northeurope",
    }
    assert regions_from_values(values) == [
        ConfiguredRegion("primary", "https://primary.cognitiveservices.azure.com"),
        ConfiguredRegion("westus", "https://secondary.cognitiveservices.azure.com", "k-secondary"),
        ConfiguredRegion("westus2", "https://t0.cognitiveservices.azure.com"),
        ConfiguredRegion("northeurope", "https://t1.cognitiveservices.azure.com", "k1"),
    ]
    assert regions_from_settings(replicator.settings_from_values(values)) == regions_from_values(values)


def test_a_region_never_shows_its_key() -> None:
    region = ConfiguredRegion("primary", "https://primary.example", "s3cr3t-key")
    assert "s3cr3t-key" not in repr(region)
    assert "s3cr3t-key" not in str(region)
