"""The Flask app of one emulated Language resource, and the hooks every service route passes.

Order of the hooks, as the gateway and service apply them: injected 503 outage and error
bursts, injected latency, forced 429s, authentication and roles, rate limits. /_emulator/
routes skip them all.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from emulator.auth import Authenticator
from emulator.authoring import create_authoring_blueprint
from emulator.behaviour import Behaviour
from emulator.clock import Clock, SystemClock
from emulator.config import EmulatorConfig
from emulator.control import CONTROL_PREFIX, create_control_blueprint
from emulator.conversations.authoring import create_conversations_authoring_blueprint
from emulator.conversations.resource import ConversationResource
from emulator.conversations.runtime import ConversationAnalysis, create_conversations_runtime_blueprint
from emulator.documents import LinkedStorage
from emulator.errors import ServiceError
from emulator.faults import FaultState
from emulator.legacy import create_legacy_blueprint
from emulator.paths import is_authoring
from emulator.request_counts import RequestCounter, create_request_counts_blueprint
from emulator.resource import LanguageResource
from emulator.runtime import RESULT_RETENTION, DeployedModel, RuntimeService
from emulator.state import StateFile
from emulator.throttling import RateLimiter, throttled
from emulator.tokens import DEFAULT_TOKEN_SECRET

log = logging.getLogger("emulator")
EXTENSION = "language_emulator"


@dataclass
class EmulatorContext:
    """Everything one resource consists of; reachable as `app.extensions["language_emulator"]`."""

    config: EmulatorConfig
    clock: Clock
    resource: LanguageResource
    faults: FaultState
    limiter: RateLimiter
    behaviour: Behaviour
    authenticator: Authenticator
    runtime: RuntimeService | None = None
    conversations: ConversationResource | None = None
    reset_hooks: list[Any] = field(default_factory=list)
    behaviour_hooks: list[Any] = field(default_factory=list)
    requests: RequestCounter = field(default_factory=RequestCounter)


class _RuntimeBackend:
    """What the runtime routes (emulator/runtime.py) need from this resource."""

    def __init__(
        self, resource: LanguageResource, config: EmulatorConfig, clock: Clock, faults: FaultState
    ) -> None:
        self._resource = resource
        self._config = config
        self._clock = clock
        self._faults = faults

    def deployed_model(self, project_name: str, deployment_name: str) -> DeployedModel | None:
        served = self._resource.deployed_artifact(project_name, deployment_name)
        if served is None:
            return None
        kind, model = served
        return DeployedModel(project_kind=kind, model=model)

    def now(self) -> datetime:
        return self._clock.now()

    def runtime_job_duration(self) -> timedelta:
        return self._config.job_duration("runtime")

    def take_runtime_job_failure(self) -> dict[str, Any] | None:
        return self._faults.take_job_failure("runtime")


def _bucket(method: str, path: str) -> str:
    if is_authoring(path):
        return "get" if method in ("GET", "HEAD") else "post"
    return "runtime"


def _register_runtime(app: Flask, context: EmulatorContext) -> None:
    runtime = RuntimeService(
        _RuntimeBackend(context.resource, context.config, context.clock, context.faults),
        # Scaled like job durations, so tests can see results expire.
        result_retention=RESULT_RETENTION * context.config.time_scale,
    )
    context.runtime = runtime
    app.register_blueprint(runtime.blueprint)
    context.reset_hooks.append(runtime.reset)

    def apply_behaviour() -> None:
        runtime.missing_deployment = (
            "fail-task" if context.behaviour.runtimeMissingDeployment == "fail-task" else "reject"
        )

    context.behaviour_hooks.append(apply_behaviour)
    apply_behaviour()


def _register_conversations(app: Flask, context: EmulatorContext) -> None:
    """The analyze-conversations authoring and runtime APIs: their own projects, the same machinery."""
    conversations = context.conversations
    assert conversations is not None
    app.register_blueprint(create_conversations_authoring_blueprint(conversations))
    app.register_blueprint(create_conversations_runtime_blueprint(ConversationAnalysis(conversations)))
    context.reset_hooks.append(conversations.reset)


def create_app(
    config: EmulatorConfig,
    *,
    clock: Clock | None = None,
    storage: LinkedStorage | None = None,
) -> Flask:
    clock = clock or SystemClock()
    behaviour = Behaviour()
    behaviour.update(config.behaviour)
    faults = FaultState()
    limiter = RateLimiter(
        {"post": config.post_per_minute, "get": config.get_per_minute, "runtime": config.runtime_per_minute},
        config.throttle_window(),
    )
    storage = storage or LinkedStorage(config.storage_connection_string)
    resource = LanguageResource(
        config,
        clock,
        storage,
        behaviour,
        job_failures=faults.take_job_failure,
        state_file=StateFile(config.state_dir) if config.state_dir is not None else None,
    )
    conversations = ConversationResource(
        config,
        clock,
        storage,
        behaviour,
        job_failures=faults.take_job_failure,
        state_file=StateFile(config.state_dir, "conversations-state.json")
        if config.state_dir is not None
        else None,
    )
    context = EmulatorContext(
        config=config,
        clock=clock,
        resource=resource,
        conversations=conversations,
        faults=faults,
        limiter=limiter,
        behaviour=behaviour,
        authenticator=Authenticator(config.keys(), config.token_secret or DEFAULT_TOKEN_SECRET),
    )
    initial_durations = dict(config.job_seconds)

    def restore_durations() -> None:
        config.job_seconds.clear()
        config.job_seconds.update(initial_durations)

    context.reset_hooks.append(restore_durations)
    context.reset_hooks.append(context.requests.clear)

    app = Flask("emulator", static_folder=None)  # no /static route on the resource
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions[EXTENSION] = context
    app.register_blueprint(create_authoring_blueprint(resource))
    app.register_blueprint(create_legacy_blueprint())
    app.register_blueprint(
        create_control_blueprint(
            config=config,
            resource=resource,
            faults=faults,
            limiter=limiter,
            behaviour=behaviour,
            reset_hooks=context.reset_hooks,
            behaviour_hooks=context.behaviour_hooks,
            conversations=conversations,
        )
    )
    app.register_blueprint(create_request_counts_blueprint(context.requests))
    _register_runtime(app, context)
    _register_conversations(app, context)

    @app.before_request
    def gateway() -> Response | None:
        path, method = request.path, request.method
        if path.startswith(CONTROL_PREFIX + "/"):
            return None
        context.requests.record(method, path)
        if faults.outage() == "503":
            raise ServiceError("ServiceUnavailable", "The service is temporarily unavailable.", status=503)
        burst = faults.take_error(method, path)
        if burst is not None:
            raise ServiceError(
                burst.code or str(burst.status), burst.message or "Injected fault.", status=burst.status
            )
        # The gateway throttles on arrival, before any injected slowness: a request still sleeping out its
        # latency when the next test injects a throttle must not take that test's fault.
        forced = faults.take_forced_throttle(method, path)
        if forced is not None:
            raise throttled(forced.seconds, "authoring" if is_authoring(path) else "runtime")
        delay = faults.latency(method, path)
        if delay:
            time.sleep(delay)
        now = clock.now()
        context.authenticator.authorize(request.headers, method, path)
        limiter.check(_bucket(method, path), now)
        return None

    @app.errorhandler(ServiceError)
    def service_error(error: ServiceError) -> Response:
        return error.response()

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        # Unknown routes and methods answer like the gateway: the status as a string code.
        status = error.code or 500
        message = "Resource not found" if status == 404 else (error.description or error.name)
        response = jsonify({"error": {"code": str(status), "message": message}})
        response.status_code = status
        if status == 405 and error.get_response().headers.get("Allow"):
            response.headers["Allow"] = error.get_response().headers["Allow"]
        return response

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return ServiceError(
            "InternalServerError", f"An internal error occurred: {type(error).__name__}.", status=500
        ).response()

    return app


def emulator_context(app: Flask) -> EmulatorContext:
    context: EmulatorContext = app.extensions[EXTENSION]
    return context
