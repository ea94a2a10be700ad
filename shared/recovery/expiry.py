"""Expiry watch: models, deployments and training configs that expire soon, on every side.

The service retires training configs on fixed dates: a model trained with one expires with it, and an
expired deployment stops answering. Each warning names the side (primary or a target), what expires,
when, and what to do. A training config a side no longer offers is a warning too: replication then
trains the target with the newest offered (the fallback), so the two sides no longer match exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

import requests

from shared.clock import parse_iso
from shared.errors import ConcurrentUpdate, ReplicatorError
from shared.language.retry import describe_exception
from shared.storage.json_blobs import JsonBlobs

# The last expiry watch, kept so the status page needs no Language request (state container).
LATEST_BLOB = "expiry/latest.json"


class ExpiryReader(Protocol):
    def get_project(self, project: str) -> dict[str, Any] | None: ...

    def list_models(self, project: str) -> list[dict[str, Any]]: ...

    def list_deployments(self, project: str) -> list[dict[str, Any]]: ...

    def training_config_versions(self, project_kind: str) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class ExpiryWarning:
    side: str
    project: str
    subject: str          # "model v1", "deployment prod", "training config <version>"
    expires: date | None  # None: no longer offered
    days_left: int | None
    action: str

    @property
    def message(self) -> str:
        if self.expires is None:
            when = "is no longer offered"
        elif self.days_left is not None and self.days_left < 0:
            when = f"expired on {self.expires.isoformat()}"
        else:
            when = f"expires on {self.expires.isoformat()} (in {self.days_left} day(s))"
        return f"{self.side}: {self.project}: {self.subject} {when}: {self.action}"

    def to_json(self) -> dict[str, Any]:
        return {"side": self.side, "project": self.project, "subject": self.subject,
                "expires": self.expires.isoformat() if self.expires else None, "daysLeft": self.days_left,
                "action": self.action, "message": self.message}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExpiryWarning:
        days_left = data.get("daysLeft")
        return cls(str(data["side"]), str(data["project"]), str(data["subject"]), _date(data.get("expires")),
                   None if days_left is None else int(days_left), str(data.get("action", "")))


@dataclass
class ExpiryReport:
    checked_at: datetime
    warning_days: int
    warnings: list[ExpiryWarning]
    errors: list[str]

    def to_json(self) -> dict[str, Any]:
        return {"checkedAt": self.checked_at.isoformat(), "warningDays": self.warning_days,
                "warnings": [w.to_json() for w in self.warnings], "errors": self.errors}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExpiryReport:
        return cls(parse_iso(str(data["checkedAt"])), int(data.get("warningDays", 0)),
                   [ExpiryWarning.from_json(w) for w in data.get("warnings", [])],
                   [str(error) for error in data.get("errors", [])])

    def to_text(self) -> str:
        if not self.warnings and not self.errors:
            return f"nothing expires within {self.warning_days} day(s)"
        return "\n".join([w.message for w in self.warnings] + [f"error: {e}" for e in self.errors])


def check_expiry(sides: Mapping[str, ExpiryReader], projects: Sequence[str], now: datetime,
                 warning_days: int) -> ExpiryReport:
    """`sides`: "primary" and each target's name -> its authoring client."""
    today = now.date()
    horizon = today + timedelta(days=warning_days)
    warnings: list[ExpiryWarning] = []
    errors: list[str] = []
    offered_by_side: dict[tuple[str, str], dict[str, date | None]] = {}
    for side, client in sides.items():
        for checked, project in enumerate(projects):
            try:
                metadata = client.get_project(project)
                if metadata is None:
                    continue
                kind = str(metadata.get("projectKind", ""))
                key = (side, kind)
                if key not in offered_by_side:
                    offered_by_side[key] = {
                        str(item.get("trainingConfigVersion")): _date(item.get("modelExpirationDate"))
                        for item in client.training_config_versions(kind)}
                offered = offered_by_side[key]
                warnings += _project_warnings(side, project, client, offered, today, horizon)
            except requests.RequestException as error:
                # The side is unreachable (its client already retried): one error, not a slow one per project.
                errors.append(f"{side}: unreachable ({describe_exception(error)}); "
                              f"{len(projects) - checked} project(s) not checked")
                break
            except ReplicatorError as error:
                errors.append(f"{side}: {project}: {error.message}")
    seen: set[tuple[str, str]] = set()
    for (side, _kind), offered in sorted(offered_by_side.items()):
        for version, expires in sorted(offered.items()):
            if expires is not None and expires <= horizon and (side, version) not in seen:
                seen.add((side, version))
                newer = sorted(v for v, e in offered.items() if v > version and (e is None or e > expires))
                action = (f"retrain with {newer[-1]} before then" if newer else
                          "no newer config is offered yet; watch for one")
                warnings.append(ExpiryWarning(side, "*", f"training config {version}", expires,
                                              (expires - today).days, action))
    return ExpiryReport(now, warning_days, warnings, errors)


def _project_warnings(side: str, project: str, client: ExpiryReader, offered: Mapping[str, date | None],
                      today: date, horizon: date) -> list[ExpiryWarning]:
    warnings: list[ExpiryWarning] = []
    newest = max(offered) if offered else None
    retrain = f"retrain with training config {newest} and redeploy" if newest else "retrain and redeploy"
    models = client.list_models(project)
    for model in sorted(models, key=lambda m: str(m.get("label"))):
        expires = _date(model.get("modelExpirationDate"))
        label = str(model.get("label"))
        if expires is not None and expires <= horizon:
            warnings.append(ExpiryWarning(side, project, f"model {label}", expires, (expires - today).days,
                                          retrain + (" (on the primary: replication then follows)"
                                                     if side == "primary" else "")))
        config = str(model.get("modelTrainingConfigVersion") or "")
        if config and offered and config not in offered:
            warnings.append(ExpiryWarning(
                side, project, f"training config {config} of model {label}", None, None,
                f"replication trains this label with {newest} instead (the fallback); retrain on the primary "
                f"with {newest} so both sides match"))
    for deployment in sorted(client.list_deployments(project), key=lambda d: str(d.get("deploymentName"))):
        expires = _date(deployment.get("deploymentExpirationDate"))
        name = str(deployment.get("deploymentName"))
        if expires is not None and expires <= horizon:
            days_left = (expires - today).days
            warnings.append(ExpiryWarning(side, project, f"deployment {name}", expires, days_left,
                                          f"{retrain} {name} before then, or it stops answering"))
    return warnings


def _date(value: Any) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def keep_latest(blobs: JsonBlobs, report: ExpiryReport, attempts: int = 5) -> None:
    """Store `report` as the latest expiry watch (the newest check wins a race)."""
    for _ in range(attempts):
        found = blobs.read(LATEST_BLOB)
        try:
            if found is None:
                blobs.create(LATEST_BLOB, report.to_json())
            elif parse_iso(str(found.data.get("checkedAt"))) <= report.checked_at:
                blobs.replace(LATEST_BLOB, report.to_json(), found.etag)
            return
        except ConcurrentUpdate:
            continue


def latest(blobs: JsonBlobs) -> ExpiryReport | None:
    found = blobs.read(LATEST_BLOB)
    return None if found is None else ExpiryReport.from_json(found.data)
