"""Where custom NER and custom text classification can be authored (import, train, deploy).

Only some Azure regions offer authoring for these project kinds; elsewhere a Language resource serves
predictions at most, so a replica there can never be imported, trained or deployed. This list is the
single source of truth: the Bicep's `@allowed` list on `secondaryLocation` is checked against it
(tests/infra), and the health endpoint and the drift report name a target configured in another region.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.settings import Settings

# Microsoft's "Azure Language region support" page, sections "Custom named entity recognition" and
# "Custom text classification", Authoring column: the regions that offer both.
REGION_SUPPORT_URL = (
    "https://learn.microsoft.com/azure/ai-services/language-service/concepts/regional-support"
)
AUTHORING_REGIONS: frozenset[str] = frozenset({
    "australiaeast",
    "canadacentral",
    "centralindia",
    "eastus",
    "eastus2",
    "northeurope",
    "southcentralus",
    "switzerlandnorth",
    "uksouth",
    "westeurope",
    "westus2",
    "westus3",
})

_SEPARATORS = re.compile(r"[\s_-]+")


def normalize_region(region: str) -> str:
    """The programmatic name of a region, from that name or its display name ("West US 2" -> "westus2")."""
    return _SEPARATORS.sub("", region).lower()


def can_author(region: str) -> bool:
    return normalize_region(region) in AUTHORING_REGIONS


def authoring_region_problem(target: str, region: str | None) -> str | None:
    """Why `target` cannot hold replicas, when its configured region offers no authoring; else None.

    An unknown region (none configured) is not a problem: only a region we know to be wrong is reported.
    """
    if region is None or not region.strip() or can_author(region):
        return None
    return (
        f"target {target!r} is in region {region!r}, where custom NER and custom text classification "
        f"cannot be authored: import, train and deploy fail there, so it can never hold a replica. Use a "
        f"Language resource in one of {', '.join(sorted(AUTHORING_REGIONS))} ({REGION_SUPPORT_URL}); if "
        f"{region!r} is not the resource's region, correct SECONDARY_REGION (or SECONDARY__<NAME>__REGION "
        f"for a target listed in SECONDARY_TARGETS, which defaults to the target's name)"
    )


def target_region_problems(settings: Settings) -> dict[str, str]:
    """Each configured target whose region cannot author, with why (see `authoring_region_problem`)."""
    problems = {}
    for target in settings.targets:
        problem = authoring_region_problem(target.name, target.language.region)
        if problem is not None:
            problems[target.name] = problem
    return problems
