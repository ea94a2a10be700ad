"""The product's error vocabulary: what callers (HTTP API, CLI, queue handlers) can tell apart.

Every error's message is safe to show: no keys, tokens or connection strings.
"""

from __future__ import annotations


class ReplicatorError(Exception):
    """Base of every error the product raises on purpose."""

    code = "ReplicatorError"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


class ConfigurationError(ReplicatorError):
    """A setting is missing or malformed; the message names the setting."""

    code = "ConfigurationError"


class SettingsError(ConfigurationError):
    """A setting is missing or malformed. The message names the setting, never a secret value."""

    def __init__(self, setting: str, problem: str) -> None:
        super().__init__(f"{setting}: {problem}")
        self.setting = setting
        self.problem = problem


class InvalidRequest(ReplicatorError):
    """The caller asked for something malformed (bad name, unknown step, bad body)."""

    code = "InvalidRequest"


class MissingParameter(InvalidRequest):
    """A request lacks a value it needs. The service names the parameter as Python spells it
    (`model_label`); each surface says it as its callers type it (`--model-label`, `'modelLabel'`)
    with `naming`, since a flag quoted to an HTTP caller (or a JSON field to a CLI user) misleads."""

    def __init__(self, parameter: str, template: str) -> None:
        self.parameter = parameter
        self.template = template   # holds "{parameter}" where the name goes
        super().__init__(self.naming(parameter))

    def naming(self, spelled: str) -> str:
        return self.template.format(parameter=spelled)


class RequestTooLarge(InvalidRequest):
    """The request body is larger than any request of ours needs."""

    code = "RequestTooLarge"


class UnknownProject(ReplicatorError):
    code = "UnknownProject"

    def __init__(self, project: str) -> None:
        super().__init__(f"project {project!r} is not replicated or does not exist on the primary")
        self.project = project


class UnknownRun(ReplicatorError):
    code = "UnknownRun"

    def __init__(self, project: str, run_id: str) -> None:
        super().__init__(f"no run {run_id!r} for project {project!r}")
        self.project = project
        self.run_id = run_id


class RunConflict(ReplicatorError):
    """Another run is active for the same (target, project)."""

    code = "RunConflict"

    def __init__(self, message: str, active_run_id: str | None) -> None:
        super().__init__(message)
        self.active_run_id = active_run_id


class ConcurrentUpdate(ReplicatorError):
    """A blob changed under us (ETag condition failed); re-read and decide again."""

    code = "ConcurrentUpdate"


class UnsafeImport(ReplicatorError):
    """An export must not reach the secondary (kind mismatch, empty, unparsable, documents missing)."""

    code = "UnsafeImport"


class BudgetExhausted(ReplicatorError):
    """A guard on cost (trainings per day) or rate refused the work."""

    code = "BudgetExhausted"
