"""What the Functions host indexes from function_app.py, read the way the Python worker reads it."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest

from tests.shared.functions.host import host_index

REPO_ROOT = Path(__file__).resolve().parents[1]

EXPECTED_HTTP_ROUTES = {
    # function name: (route, methods, auth level)
    "start_replications": ("replications", ["POST"], "FUNCTION"),
    "list_replications": ("replications/{project}", ["GET"], "FUNCTION"),
    "get_replication": ("replications/{project}/{runId}", ["GET"], "FUNCTION"),
    "redrive_replication_step": ("replications/{project}/{runId}/steps/{step}", ["POST"], "FUNCTION"),
    "cancel_replication": ("replications/{project}/{runId}/cancel", ["POST"], "FUNCTION"),
    "get_drift": ("drift", ["GET"], "FUNCTION"),
    "get_doctor": ("doctor", ["GET"], "FUNCTION"),
    "get_health": ("health", ["GET"], "ANONYMOUS"),
    "get_health_details": ("health/details", ["GET"], "FUNCTION"),
    "list_snapshots": ("snapshots/{project}", ["GET"], "FUNCTION"),
    "show_snapshot": ("snapshots/{project}/{snapshot}", ["GET"], "FUNCTION"),
    "diff_snapshots": ("snapshot-diffs/{project}", ["GET"], "FUNCTION"),
    "start_restore": ("restores", ["POST"], "FUNCTION"),
    "get_restore": ("restores/{project}/{runId}", ["GET"], "FUNCTION"),
    "run_retention": ("retention", ["POST"], "FUNCTION"),
    "get_expiry": ("expiry", ["GET"], "FUNCTION"),
    "get_promotion": ("promotion", ["GET"], "FUNCTION"),
    "promote": ("promotion", ["POST"], "FUNCTION"),
    "failback": ("failback", ["POST"], "FUNCTION"),
    "start_drill": ("drills", ["POST"], "FUNCTION"),
    "get_status_page": ("status", ["GET"], "FUNCTION"),
}
# Modules that must wait for the first invocation: loading them at index time costs start-up time
# (Flex Consumption allows 30 s) and, for the engine and settings, could fail the whole index.
HEAVY_MODULES = (
    "shared.engine",
    "shared.settings",
    "shared.runs.scheduler.storage_queue",   # the queue names come from shared.runs.scheduler (cheap)
    "azure.storage.blob",
    "azure.storage.queue",
    "azure.identity",
    "requests",
)


def indexed() -> dict[str, Any]:
    return host_index()


def bindings_of(function: Any) -> list[dict[str, Any]]:
    """The bindings exactly as the worker sends them to the host (JSON strings)."""
    return [json.loads(raw) for raw in function.get_raw_bindings()]


def trigger_of(function: Any) -> dict[str, Any]:
    triggers = [binding for binding in bindings_of(function) if binding["type"].endswith("Trigger")]
    assert len(triggers) == 1, triggers
    return triggers[0]


def test_the_app_exposes_exactly_the_expected_functions() -> None:
    assert sorted(indexed()) == sorted(
        ["drift_timer", "replication_step", "replication_step_poison", *EXPECTED_HTTP_ROUTES]
    )


def test_the_timer_runs_on_the_drift_schedule_setting_monitored_and_not_on_startup() -> None:
    trigger = trigger_of(indexed()["drift_timer"])
    assert trigger == {
        "direction": "IN",
        "type": "timerTrigger",
        "name": "timer",
        "schedule": "%DRIFT_SCHEDULE%",
        "runOnStartup": False,
        "useMonitor": True,
    }


@pytest.mark.parametrize(
    ("name", "queue"),
    [("replication_step", "replication-steps"), ("replication_step_poison", "replication-steps-poison")],
)
def test_the_queue_triggers_read_the_step_queues_on_the_hosts_storage(name: str, queue: str) -> None:
    trigger = trigger_of(indexed()[name])
    assert trigger["type"] == "queueTrigger"
    assert trigger["queueName"] == queue
    # The bare name resolves as a connection string or as AzureWebJobsStorage__queueServiceUri.
    assert trigger["connection"] == "AzureWebJobsStorage"
    # No dataType: the worker hands the decoded body to a func.QueueMessage parameter.
    assert "dataType" not in trigger


def test_the_queue_names_are_the_producers() -> None:
    from shared.functions import steps_queue
    from shared.runs.scheduler import POISON_QUEUE_NAME, QUEUE_NAME

    assert (steps_queue.STEP_QUEUE, steps_queue.POISON_QUEUE) == (QUEUE_NAME, POISON_QUEUE_NAME)
    # The host names the poison queue after the trigger's queue; the poison trigger must listen there.
    assert POISON_QUEUE_NAME == QUEUE_NAME + "-poison"


@pytest.mark.parametrize("name", sorted(EXPECTED_HTTP_ROUTES))
def test_each_http_function_has_its_route_methods_and_auth_level(name: str) -> None:
    route, methods, auth_level = EXPECTED_HTTP_ROUTES[name]
    bindings = bindings_of(indexed()[name])
    trigger = trigger_of(indexed()[name])
    assert trigger["type"] == "httpTrigger"
    assert (trigger["route"], trigger["methods"], trigger["authLevel"]) == (route, methods, auth_level)
    assert {"direction": "OUT", "type": "http", "name": "$return"} in bindings


def test_no_two_http_functions_claim_the_same_route_and_method() -> None:
    claims = [
        (trigger_of(function)["route"], method)
        for function in indexed().values()
        if trigger_of(function)["type"] == "httpTrigger"
        for method in trigger_of(function)["methods"]
    ]
    assert len(claims) == len(set(claims))


@pytest.mark.parametrize("name", sorted(["drift_timer", "replication_step", "replication_step_poison",
                                         *EXPECTED_HTTP_ROUTES]))
def test_binding_names_match_the_handler_parameters(name: str) -> None:
    """The worker passes each input binding by name; a mismatch fails every invocation at run time."""
    function = indexed()[name]
    parameters = inspect.signature(function.get_user_function()).parameters
    inputs = [binding["name"] for binding in bindings_of(function) if binding["direction"] == "IN"]
    assert list(parameters) == inputs
    # The worker converts the trigger's payload by the parameter's annotation, and a function without
    # an output binding must return None.
    hints = typing.get_type_hints(function.get_user_function())
    trigger = trigger_of(function)
    expected = {"timerTrigger": func.TimerRequest, "queueTrigger": func.QueueMessage,
                "httpTrigger": func.HttpRequest}[trigger["type"]]
    assert hints[trigger["name"]] is expected
    assert hints["return"] is (func.HttpResponse if trigger["type"] == "httpTrigger" else type(None))


def test_route_parameters_are_spelled_as_the_handlers_read_them() -> None:
    source = "".join((REPO_ROOT / "shared" / "functions" / name).read_text(encoding="utf-8")
                     for name in ("http_api.py", "snapshots_api.py"))
    for route, _, _ in EXPECTED_HTTP_ROUTES.values():
        for segment in route.split("/"):
            if segment.startswith("{"):
                assert f'"{segment.strip("{}")}"' in source, segment


def run_python(code: str, env: dict[str, str]) -> str:
    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


def test_function_app_imports_and_indexes_with_no_settings_at_all(tmp_path: Path) -> None:
    # No app settings, and a working directory without local.settings.json, as on a fresh host.
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO_ROOT)}
    code = (
        "import json, sys, function_app\n"
        "names = [f.get_function_name() for f in function_app.app.get_functions()]\n"
        f"heavy = [m for m in {HEAVY_MODULES!r} if m in sys.modules]\n"
        "print(json.dumps({'names': names, 'heavy': heavy}))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout)
    assert len(result["names"]) == 3 + len(EXPECTED_HTTP_ROUTES)
    assert result["heavy"] == [], "imported at index time instead of on first use"


def host_json() -> dict[str, Any]:
    document: dict[str, Any] = json.loads((REPO_ROOT / "host.json").read_text(encoding="utf-8"))
    return document


def test_host_json_pins_the_v4_extension_bundle_and_a_plan_safe_timeout() -> None:
    document = host_json()
    assert document["version"] == "2.0"
    assert document["extensionBundle"] == {
        "id": "Microsoft.Azure.Functions.ExtensionBundle",
        "version": "[4.*, 5.0.0)",
    }
    # Ten minutes is the Consumption plan's ceiling; a slice is bounded well below it.
    assert document["functionTimeout"] == "00:10:00"
    assert document["logging"]["logLevel"]["Function"] == "Information"


def test_host_json_queue_settings_are_deliberate_and_keep_base64() -> None:
    from shared.functions.steps_queue import MAX_DEQUEUE_COUNT
    from shared.runs.scheduler.local_runner import QueueHostSettings

    queues = host_json()["extensions"]["queues"]
    assert set(queues) == {"maxDequeueCount", "visibilityTimeout", "batchSize", "newBatchThreshold",
                           "maxPollingInterval"}
    # Absent means the default, base64, which is what StorageQueueScheduler writes.
    assert "messageEncoding" not in queues
    assert queues["maxDequeueCount"] == MAX_DEQUEUE_COUNT
    assert 1 <= queues["batchSize"] <= 4
    assert queues["newBatchThreshold"] < queues["batchSize"]
    # The local runner reads the same file, so local runs fail and poison like the host does.
    settings = QueueHostSettings.from_host_json(REPO_ROOT / "host.json")
    assert settings.max_dequeue_count == MAX_DEQUEUE_COUNT
    assert settings.visibility_timeout.total_seconds() == 60
    assert settings.batch_size == queues["batchSize"]


def test_funcignore_keeps_the_app_and_leaves_out_everything_else() -> None:
    patterns = [
        line.strip()
        for line in (REPO_ROOT / ".funcignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for left_out in ("tests/", "emulator/", "localdev/", "failover_client/", "bench/", "scripts/",
                     "node_modules/", ".venv/", "docs/", "site/", "mkdocs.yml", "infra/",
                     "local.settings.json", "requirements-dev.txt"):
        assert left_out in patterns, left_out
    for kept in ("function_app.py", "host.json", "requirements.txt", "shared", "shared/"):
        assert kept not in patterns, kept


def test_funcignore_leaves_out_bytecode_caches_at_every_depth() -> None:
    from tests.infra.test_published_files import published  # Core Tools' own matching, replayed

    caches = [
        "__pycache__/function_app.cpython-311.pyc",
        "shared/__pycache__/engine.cpython-311.pyc",
        "shared/functions/__pycache__/timer.cpython-311.pyc",
        "shared/runs/scheduler/__pycache__/messages.cpython-311.pyc",
        "shared/stray.pyc",
    ]
    assert published(caches) == []
    assert published(["shared/engine.py", "shared/functions/timer.py"]) == [
        "shared/engine.py", "shared/functions/timer.py"
    ]


def test_requirements_hold_what_the_app_imports_and_nothing_for_tests() -> None:
    requirements = (REPO_ROOT / "requirements.txt").read_text(encoding="utf-8").lower()
    assert "azure-functions" in requirements
    for dev_only in ("pytest", "flask", "mypy", "ruff"):
        assert dev_only not in requirements, dev_only
