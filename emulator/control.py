"""The emulator's own API under /_emulator/: health, reset, job inspection, faults, switches.

Served on the control port (when given) and on the service port; never authenticated,
never throttled, never subject to the faults it injects.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from flask import Blueprint, Response, jsonify, request

from emulator.behaviour import Behaviour
from emulator.config import EmulatorConfig
from emulator.errors import ServiceError
from emulator.faults import FaultState
from emulator.resource import LanguageResource
from emulator.throttling import RateLimiter
from emulator.timefmt import format_date, parse_date
from emulator.web import json_body

CONTROL_PREFIX = "/_emulator"


def _object() -> dict[str, Any]:
    body = json_body(required=False)
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise ServiceError("InvalidRequest", "The body must be a JSON object.")
    return body


def _string(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise ServiceError("InvalidArgument", f"'{key}' is required.", target=key)
    return value


def _when(
    body: dict[str, Any], resource: LanguageResource, key: str, *, required: bool = True
) -> date | None:
    """A date from `<key>` (YYYY-MM-DD) or `inDays` (relative to the emulator's today; negative = past)."""
    if key in body:
        try:
            return parse_date(str(body[key]))
        except ValueError as exc:
            raise ServiceError(
                "InvalidArgument", f"'{key}' must be a date (YYYY-MM-DD).", target=key
            ) from exc
    if "inDays" in body:
        days = body["inDays"]
        if isinstance(days, bool) or not isinstance(days, int | float):
            raise ServiceError("InvalidArgument", "'inDays' must be a number.", target="inDays")
        return resource.now().date() + timedelta(days=days)
    if required:
        raise ServiceError("InvalidArgument", f"Give '{key}' or 'inDays'.", target=key)
    return None


def create_control_blueprint(
    *,
    config: EmulatorConfig,
    resource: LanguageResource,
    faults: FaultState,
    limiter: RateLimiter,
    behaviour: Behaviour,
    reset_hooks: list[Callable[[], None]],
    behaviour_hooks: list[Callable[[], None]],
    conversations: LanguageResource | None = None,
) -> Blueprint:
    blueprint = Blueprint("control", __name__, url_prefix=CONTROL_PREFIX)
    text_resource = resource

    def resource_for(api: Any) -> LanguageResource:
        """Jobs, state and expiry controls address the text projects unless `api` is "conversations"."""
        if api in (None, "text"):
            return text_resource
        if api == "conversations" and conversations is not None:
            return conversations
        raise ServiceError("InvalidArgument", "'api' must be 'text' or 'conversations'.", target="api")

    @blueprint.get("/health")
    def health() -> Response:
        return jsonify(
            {
                "status": "healthy",
                "region": config.region,
                "timeScale": config.time_scale,
                "persistent": config.state_dir is not None,
                "outage": faults.outage(),
            }
        )

    @blueprint.post("/reset")
    def reset() -> Response:
        resource.reset()
        faults.clear()
        limiter.configure(
            limits={
                "post": config.post_per_minute,
                "get": config.get_per_minute,
                "runtime": config.runtime_per_minute,
            },
            window=config.throttle_window(),
            enabled=True,
        )
        initial = Behaviour()
        initial.update(config.behaviour)
        for name, value in initial.to_json().items():
            setattr(behaviour, name, value)
        for hook in [*behaviour_hooks, *reset_hooks]:
            hook()
        return jsonify({"status": "reset"})

    @blueprint.get("/jobs")
    def jobs() -> Response:
        # Optional filters, e.g. ?project=Loans&kind=train&status=running
        wanted = {key: request.args[key] for key in ("project", "kind", "status") if key in request.args}
        jobs_of = resource_for(request.args.get("api")).inspect_jobs()
        listed = [job for job in jobs_of if all(job[k] == v for k, v in wanted.items())]
        return jsonify({"value": listed})

    @blueprint.post("/jobs/expire")
    def expire_jobs() -> Response:
        body = _object()
        return jsonify({"expired": resource_for(body.get("api")).expire_jobs(_string(body, "project"))})

    @blueprint.get("/state")
    def state() -> Response:
        selected = resource_for(request.args.get("api"))
        with selected.lock:
            selected.settle()
            return jsonify(selected.state.to_json())

    # -- faults ----------------------------------------------------------------------------------
    @blueprint.get("/faults")
    def list_faults() -> Response:
        return jsonify(faults.to_json())

    @blueprint.post("/faults/outage")
    def outage() -> Response:
        body = _object()
        mode = body.get("mode")
        seconds = body.get("seconds")
        if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, int | float)):
            raise ServiceError("InvalidArgument", "'seconds' must be a number.")
        faults.set_outage(None if mode in (None, "none") else str(mode), seconds)
        return jsonify(faults.to_json())

    @blueprint.post("/faults/errors")
    def errors() -> Response:
        return jsonify(faults.add_error_burst(_object()).to_json())

    @blueprint.post("/faults/refuse")
    def refuse() -> Response:
        return jsonify(faults.add_refusal(_object()).to_json())

    @blueprint.post("/faults/latency")
    def latency() -> Response:
        return jsonify(faults.add_latency(_object()).to_json())

    @blueprint.post("/faults/throttle")
    def throttle() -> Response:
        return jsonify(faults.add_forced_throttle(_object()).to_json())

    @blueprint.post("/faults/jobs")
    def failing_jobs() -> Response:
        return jsonify(vars(faults.add_job_failure(_object())))

    @blueprint.post("/faults/clear")
    def clear() -> Response:
        faults.clear()
        return jsonify(faults.to_json())

    # -- throttling, behaviour, durations --------------------------------------------------------
    @blueprint.post("/throttling")
    def throttling() -> Response:
        body = _object()
        limits = {}
        for key, bucket in (
            ("postPerMinute", "post"),
            ("getPerMinute", "get"),
            ("runtimePerMinute", "runtime"),
        ):
            if key in body:
                value = body[key]
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise ServiceError("InvalidArgument", f"'{key}' must be a non-negative integer.")
                limits[bucket] = value
        window = None
        if "windowSeconds" in body:
            seconds = body["windowSeconds"]
            if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds <= 0:
                raise ServiceError("InvalidArgument", "'windowSeconds' must be a positive number.")
            window = timedelta(seconds=seconds)
        enabled = body.get("enabled")
        limiter.configure(limits=limits, window=window, enabled=None if enabled is None else bool(enabled))
        return jsonify(
            {
                "enabled": limiter.enabled,
                "limits": limiter.limits,
                "windowSeconds": limiter.window.total_seconds(),
            }
        )

    @blueprint.get("/behaviour")
    def get_behaviour() -> Response:
        return jsonify(behaviour.to_json())

    @blueprint.post("/behaviour")
    def set_behaviour() -> Response:
        behaviour.update(_object())
        for hook in behaviour_hooks:
            hook()
        return jsonify(behaviour.to_json())

    @blueprint.post("/durations")
    def durations() -> Response:
        for kind, seconds in _object().items():
            if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
                raise ServiceError(
                    "InvalidArgument", f"The duration of '{kind}' must be a number of seconds."
                )
            config.job_seconds[kind] = float(seconds)
        return jsonify(config.job_seconds)

    # -- expiry ----------------------------------------------------------------------------------
    @blueprint.post("/expiry/models")
    def model_expiry() -> Response:
        body = _object()
        resource = resource_for(body.get("api"))
        when = _when(body, resource, "modelExpirationDate")
        assert when is not None
        model = resource.set_model_expiration(_string(body, "project"), _string(body, "label"), when)
        return jsonify({"label": model.label, "modelExpirationDate": format_date(model.expiration)})

    @blueprint.post("/expiry/deployments")
    def deployment_expiry() -> Response:
        body = _object()
        resource = resource_for(body.get("api"))
        when = _when(body, resource, "deploymentExpirationDate")
        assert when is not None
        deployment = resource.set_deployment_expiration(
            _string(body, "project"), _string(body, "deployment"), when
        )
        return jsonify(
            {
                "deploymentName": deployment.name,
                "deploymentExpirationDate": format_date(deployment.expiration),
            }
        )

    @blueprint.post("/expiry/training-configs")
    def training_config_expiry() -> Response:
        body = _object()
        resource = resource_for(body.get("api"))
        when = _when(body, resource, "modelExpirationDate", required=False)
        offered = body.get("offered")
        if offered is not None and not isinstance(offered, bool):
            raise ServiceError("InvalidArgument", "'offered' must be a boolean.")
        config_version = resource.set_training_config(_string(body, "trainingConfigVersion"), when, offered)
        return jsonify(
            {
                "trainingConfigVersion": config_version.version,
                "modelExpirationDate": format_date(config_version.model_expiration),
                "offered": config_version.offered,
            }
        )

    return blueprint
