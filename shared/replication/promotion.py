"""The promotion record: which target is the acting primary during an outage, decided by whom and why.

It lives in its own blob container (ROUTING_CONTAINER, default `routing`) as one small JSON document,
because prediction callers read it too (the failover client prefers the acting primary while it exists)
and must be granted Blob Data Reader on that container alone, never on the snapshot storage's state.
Nothing secret is written here: target names, the acting primary's endpoint, project names, times and
the operator's words.

Its absence means normal direction. Replication asks `view()(target, project)` (one read per check or
start): a promoted (target, project) is classified `promoted` (shared.replication.verdict) and never
written to.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from shared.clock import parse_iso, utc_iso
from shared.errors import ConcurrentUpdate
from shared.storage.json_blobs import JsonBlobs

PROMOTION_BLOB = "promotion.json"
ALL_PROJECTS = "*"
PROMOTED = "promoted"
FAILING_BACK = "failing-back"


@dataclass(frozen=True)
class Promotion:
    target: str                          # the configured target acting as primary
    endpoint: str                        # its Language endpoint: what the failover client matches
    projects: tuple[str, ...] | None     # None: every replicated project
    promoted_at: datetime
    promoted_by: str
    reason: str
    state: str = PROMOTED                # promoted | failing-back
    # Projects already returned to normal direction by failback (replicated from the primary again).
    returned: tuple[str, ...] = field(default_factory=tuple)

    def covers(self, target: str, project: str) -> bool:
        """Whether (target, project) is still served by the acting primary."""
        if target != self.target or project in self.returned:
            return False
        return self.projects is None or project in self.projects

    def to_json(self) -> dict[str, Any]:
        return {
            "actingPrimary": {"target": self.target, "endpoint": self.endpoint},
            "projects": ALL_PROJECTS if self.projects is None else list(self.projects),
            "promotedAt": utc_iso(self.promoted_at), "promotedBy": self.promoted_by, "reason": self.reason,
            "state": self.state, "returned": list(self.returned),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Promotion:
        projects = data.get("projects", ALL_PROJECTS)
        acting = data["actingPrimary"]
        return cls(
            target=str(acting["target"]), endpoint=str(acting.get("endpoint", "")),
            projects=None if projects == ALL_PROJECTS else tuple(str(p) for p in projects),
            promoted_at=parse_iso(data["promotedAt"]), promoted_by=str(data.get("promotedBy", "")),
            reason=str(data.get("reason", "")), state=str(data.get("state", PROMOTED)),
            returned=tuple(str(p) for p in data.get("returned", ())))


class PromotionStore:
    """The one promotion record, written under an ETag condition (two operators cannot both win)."""

    def __init__(self, blobs: JsonBlobs) -> None:
        self.blobs = blobs

    def get(self) -> Promotion | None:
        found = self.blobs.read(PROMOTION_BLOB)
        return Promotion.from_json(found.data) if found else None

    def view(self) -> Callable[[str, str], bool]:
        """`is_promoted` bound to one read of the record: a drift check asks per (target, project)."""
        promotion = self.get()
        return lambda target, project: promotion is not None and promotion.covers(target, project)

    def create(self, promotion: Promotion) -> None:
        """Store a new promotion; ConcurrentUpdate when one already exists."""
        self.blobs.create(PROMOTION_BLOB, promotion.to_json())

    def update(self, *, state: str | None = None, returned: Sequence[str] = ()) -> Promotion | None:
        """Mark projects returned (and set the state); the record is deleted once nothing is promoted."""
        for _ in range(5):
            found = self.blobs.read(PROMOTION_BLOB)
            if found is None:
                return None
            current = Promotion.from_json(found.data)
            merged = tuple(dict.fromkeys((*current.returned, *returned)))
            updated = replace(current, state=state or current.state, returned=merged)
            try:
                self.blobs.replace(PROMOTION_BLOB, updated.to_json(), found.etag)
                return updated
            except ConcurrentUpdate:
                continue
        raise ConcurrentUpdate(f"the promotion record {PROMOTION_BLOB} kept changing")

    def clear(self) -> None:
        """Back to normal direction."""
        found = self.blobs.read(PROMOTION_BLOB)
        if found is not None:
            self.blobs.delete(PROMOTION_BLOB, found.etag)


__all__ = ["ALL_PROJECTS", "FAILING_BACK", "PROMOTED", "PROMOTION_BLOB", "Promotion", "PromotionStore"]
