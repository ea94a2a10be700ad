"""Switches for behaviours the public reference leaves open (see docs/reference/emulator-fidelity.md).

Each has the default we judged most plausible; product tests can flip one through
`POST /_emulator/behaviour` to prove they work either way.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from emulator.errors import ServiceError

_CHOICES: dict[str, tuple[Any, ...]] = {
    "importKeepsModels": (True, False),
    "trainingConflictStatus": (409, 400),
    "projectKindCase": ("insensitive", "strict"),
    "importMissingContainer": ("job", "sync"),
    "deployMissingModelStatus": (404, 400),
    "runtimeMissingDeployment": ("reject", "fail-task"),
    "trainingBlocksDataChanges": (False, True),
}


@dataclass
class Behaviour:
    # Import over an existing project keeps its trained models and deployments (False: drops them).
    importKeepsModels: bool = True
    # A second :train while one runs: 409 Conflict (or 400 InvalidRequest).
    trainingConflictStatus: int = 409
    # assets.projectKind compared to metadata.projectKind ignoring letter case (Microsoft's movie sample).
    projectKindCase: str = "insensitive"
    # Import into a missing container: the job fails ("job") or the POST is refused with 400 ("sync").
    importMissingContainer: str = "job"
    # PUT deployment of a model label that does not exist: 404 NotFound (or 400 InvalidRequest).
    deployMissingModelStatus: int = 404
    # Runtime job naming an unknown project/deployment: refused with 404 ("reject") or accepted with
    # the task failing ("fail-task"); applied by emulator/runtime.py.
    runtimeMissingDeployment: str = "reject"
    # While a training job runs, import, :load-snapshot and project deletion are refused with 409
    # ("nothing else can start meanwhile", read strictly). Default: only a second training is refused.
    trainingBlocksDataChanges: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def update(self, changes: dict[str, Any]) -> None:
        known = {f.name for f in fields(self)}
        for name, value in changes.items():
            if name not in known:
                raise ServiceError("InvalidArgument", f"Unknown behaviour '{name}'. Known: {sorted(known)}.")
            if value not in _CHOICES[name]:
                raise ServiceError(
                    "InvalidArgument",
                    f"Behaviour '{name}' takes one of {list(_CHOICES[name])}, not {value!r}.",
                )
        for name, value in changes.items():
            setattr(self, name, value)
