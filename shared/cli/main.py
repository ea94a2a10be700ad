"""`python -m shared`: the replication engine from a terminal (drift, replicate, runs, cancel, doctor).

The CLI is the same engine the Functions app runs, over the same storage queue: `replicate` starts
runs and then consumes the step queue on this machine with the host's semantics (shared.runs.scheduler's
LocalRunner) until every run it follows has finished, printing progress as the run manifests change.
Interrupted, nothing is lost: the messages stay in the queue and the next `replicate` (or the
deployed app) resumes the runs.

Settings come from the environment, else from local.settings.json `Values`, like `func start`.
Before a command works, `preflight` checks that the services it needs answer at all, so a typo in a
setting is one line naming it within seconds, not minutes of SDK retries.

Exit codes: 0 success / in sync; 1 a run or check failed; 2 bad settings or usage; 3 drift or
divergence found (and, for `replicate`, left in place); 4 timed out with runs still active;
130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import requests
from azure.core.exceptions import AzureError

from shared.cli.backup import BACKUP_COMMANDS, add_backup_commands, run_backup_command
from shared.cli.outage import OUTAGE_COMMANDS, add_outage_commands, run_outage_command
from shared.cli.status import add_status_command, status_command
from shared.errors import ConfigurationError, InvalidRequest, ReplicatorError, UnknownRun
from shared.language.retry import RetryLater
from shared.redaction import install_log_redaction, redact
from shared.settings import HOST_STORAGE_CONNECTION, Settings, load_settings

if TYPE_CHECKING:
    from shared.engine import ReplicationEngine, RunStart
    from shared.runs.manifest import RunManifest
    from shared.runs.scheduler.local_runner import LocalRunner, QueueHostSettings

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_DRIFT = 3
EXIT_TIMEOUT = 4
EXIT_INTERRUPTED = 130

REPO_HOST_JSON = Path(__file__).resolve().parent.parent / "host.json"
RUN_SUCCEEDED = "succeeded"
RUN_TERMINAL = frozenset({"succeeded", "failed", "cancelled"})
DEFAULT_REPLICATE_TIMEOUT = 4 * 3600.0

EngineFactory = Callable[[Settings], "ReplicationEngine"]
RunnerFactory = Callable[[Settings, "ReplicationEngine"], "LocalRunner"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m shared",
        description="Disaster-recovery replication of Azure AI Language custom projects.",
        epilog="Settings come from the environment, else from local.settings.json Values. "
               "Exit codes: 0 ok/in sync, 1 failed, 2 bad settings or usage, 3 drift or divergence, "
               "4 timed out, 130 interrupted.",
    )
    parser.add_argument("--settings", type=Path, metavar="FILE",
                        help="a local.settings.json to read Values from (default: ./local.settings.json)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    drift = commands.add_parser("drift", help="compare every replicated project with its replica")
    drift.add_argument("--json", action="store_true", help="print the report as JSON")

    replicate = commands.add_parser(
        "replicate", help="replicate drifted projects in the foreground, resuming unfinished runs")
    replicate.add_argument("--project", action="append", metavar="P",
                           help="only this project (repeatable; default: every replicated project)")
    replicate.add_argument("--force", action="store_true",
                           help="replicate even when in sync, and overwrite a diverged replica")
    replicate.add_argument("--dry-run", action="store_true", help="print the plan; change nothing")
    replicate.add_argument("--timeout", type=float, default=DEFAULT_REPLICATE_TIMEOUT, metavar="SECONDS",
                           help="stop following after this long (runs continue later; default 4 h)")

    runs = commands.add_parser("runs", help="list recent runs")
    runs.add_argument("--project", action="append", metavar="P", help="only this project (repeatable)")
    runs.add_argument("--limit", type=int, default=10, help="runs per project (default 10)")
    runs.add_argument("--json", action="store_true", help="print the runs as JSON")

    cancel = commands.add_parser("cancel", help="cancel an active run")
    cancel.add_argument("run_id", metavar="RUN", help="the run id, as `runs` prints it")
    cancel.add_argument("--project", metavar="P", help="the run's project (default: looked up)")
    doctor = commands.add_parser(
        "doctor", help="check, without changing anything, what a first real deployment needs")
    doctor.add_argument("--json", action="store_true", help="print the checks as JSON")
    add_backup_commands(commands)
    add_outage_commands(commands)
    add_status_command(commands)
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    out: IO[str] | None = None,
    err: IO[str] | None = None,
    engine_factory: EngineFactory | None = None,
    runner_factory: RunnerFactory | None = None,
    check_first: bool | None = None,
) -> int:
    """`check_first` (default: when the engine is the real one) runs `preflight` before the command."""
    out = out or sys.stdout
    err = err or sys.stderr
    install_log_redaction()
    args = build_parser().parse_args(argv)
    # azure-identity logs every credential it tried, many lines; MissingCredential says what to set.
    logging.getLogger("azure.identity").addHandler(logging.NullHandler())
    logging.getLogger("azure.identity").propagate = False
    try:
        settings = _load(environ, args.settings)
        engine = (engine_factory or default_engine)(settings)
        if args.command == "doctor":
            return doctor_command(engine, as_json=args.json, out=out)
        if engine_factory is None if check_first is None else check_first:
            preflight(engine, {**(os.environ if environ is None else environ), **settings.values},
                      every_service=args.command in NEEDS_EVERY_SERVICE)
        if args.command in OUTAGE_COMMANDS:
            follower = None
            if args.command == "failback" and not (args.no_wait or args.dry_run):
                failback_runner = (runner_factory or default_runner)(settings, engine)

                def follower(runs: Sequence[tuple[str, str, str]]) -> bool:
                    return follow_runs(engine, failback_runner, [_Followed(*run) for run in runs],
                                       timeout=DEFAULT_REPLICATE_TIMEOUT, out=out)
            return run_outage_command(args, engine, follower, out)
        if args.command in BACKUP_COMMANDS:
            return run_backup_command(args, engine, settings, runner_factory or default_runner, out)
        if args.command == "status":
            return status_command(args, engine, out)
        if args.command == "drift":
            return drift_command(engine, as_json=args.json, out=out)
        if args.command == "replicate":
            runner = None if args.dry_run else (runner_factory or default_runner)(settings, engine)
            return replicate_command(engine, runner, projects=args.project, force=args.force,
                                     dry_run=args.dry_run, timeout=args.timeout, out=out)
        if args.command == "runs":
            return runs_command(engine, settings, projects=args.project, limit=args.limit, as_json=args.json,
                                out=out)
        return cancel_command(engine, settings, args.run_id, project=args.project, out=out)
    except (ConfigurationError, InvalidRequest) as error:
        print(f"error: {redact(error.message)}", file=err)
        return EXIT_USAGE
    except ReplicatorError as error:
        print(f"error: {redact(error.message)}", file=err)
        return EXIT_FAILED
    except (AzureError, requests.RequestException) as error:
        # A service we depend on is unreachable or refused us: say which, without a traceback.
        summary = str(error).strip().splitlines()[0] if str(error).strip() else ""
        print(f"error: {type(error).__name__}: {redact(summary)}", file=err)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("interrupted: active runs keep their place in the step queue; run `python -m shared "
              "replicate` again to resume them", file=err)
        return EXIT_INTERRUPTED


# Commands that talk to every Language resource. The others read or change our own state, or one
# chosen resource, and must keep working while a region (its Language resource and the storage linked
# to it) is down: before them only the state storage is checked.
NEEDS_EVERY_SERVICE = frozenset({"drift", "replicate", "expiry", "upkeep"})


def preflight(engine: ReplicationEngine, values: Mapping[str, str], *, every_service: bool = True) -> None:
    """Stop before any work, with one line naming the setting, when a service cannot be reached or a
    resource without a key has no credential (instead of minutes of SDK retries or a credential chain)."""
    from shared.reachability import STATE_SETTINGS, engine_endpoints, host_storage_url, require_reachable

    endpoints = engine_endpoints(engine, host_storage_url=host_storage_url(values))
    if not every_service:
        endpoints = [endpoint for endpoint in endpoints if endpoint.setting in STATE_SETTINGS]
    require_reachable(endpoints)
    if every_service:
        engine.primary.check_credential()
        for target in engine.targets.values():
            target.authoring.check_credential()


def doctor_command(engine: ReplicationEngine, *, as_json: bool, out: IO[str]) -> int:
    from shared.doctor import run_doctor

    report = run_doctor(engine)
    print(json.dumps(report.to_json(), indent=2) if as_json else report.to_text(), file=out)
    return EXIT_OK if report.ok else EXIT_FAILED


def _load(environ: Mapping[str, str] | None, local_settings: Path | None) -> Settings:
    if environ is None and local_settings is None:
        return load_settings()
    return load_settings(os.environ if environ is None else environ, local_settings)


def default_engine(settings: Settings) -> ReplicationEngine:
    from shared.engine import ReplicationEngine

    return ReplicationEngine.from_settings(settings)


def default_runner(settings: Settings, engine: ReplicationEngine, *, host_json: Path | None = REPO_HOST_JSON,
                   queue_settings: QueueHostSettings | None = None) -> LocalRunner:
    """A LocalRunner on the host's step queue (AzureWebJobsStorage), with host.json's queue settings."""
    from shared.runs.scheduler.local_runner import LocalRunner, QueueHostSettings
    from shared.runs.scheduler.messages import POISON_QUEUE_NAME, QUEUE_NAME
    from shared.runs.scheduler.storage_queue import step_queue_client_from_service
    from shared.storage.clients import queue_service_client

    values = {**os.environ, **settings.values}
    if not (values.get(HOST_STORAGE_CONNECTION) or any(
            name.startswith(f"{HOST_STORAGE_CONNECTION}__") for name in values)):
        raise ConfigurationError(
            f"{HOST_STORAGE_CONNECTION}: is not set: the step queue lives in the Functions host's storage "
            "(UseDevelopmentStorage=true with Azurite)")
    service = queue_service_client(HOST_STORAGE_CONNECTION, values, setting=HOST_STORAGE_CONNECTION)
    if queue_settings is None:
        queue_settings = QueueHostSettings.from_host_json(host_json) if host_json else QueueHostSettings()
    return LocalRunner(
        step_queue_client_from_service(service, QUEUE_NAME),
        step_queue_client_from_service(service, POISON_QUEUE_NAME),
        engine.advance,
        engine.fail_poisoned,
        settings=queue_settings,
    )


# -- drift -------------------------------------------------------------------------------------------


def drift_command(engine: ReplicationEngine, *, as_json: bool, out: IO[str]) -> int:
    report = engine.drift_report()
    if as_json:
        print(json.dumps(report.to_json(), indent=2), file=out)
    else:
        print(report.to_text(), file=out)
    if report.attention_needed:
        return EXIT_DRIFT
    return EXIT_FAILED if report.has_errors else EXIT_OK


# -- replicate ---------------------------------------------------------------------------------------


@dataclass
class _Followed:
    project: str
    target: str
    run_id: str
    started: float = field(default_factory=time.monotonic)
    status: str = ""
    steps: dict[str, str] = field(default_factory=dict)
    manifest: RunManifest | None = None

    @property
    def label(self) -> str:
        return f"{self.project} -> {self.target}"


def replicate_command(
    engine: ReplicationEngine,
    runner: LocalRunner | None,
    *,
    projects: Sequence[str] | None = None,
    force: bool = False,
    dry_run: bool = False,
    timeout: float = DEFAULT_REPLICATE_TIMEOUT,
    out: IO[str],
    idle_sleep: float = 0.05,
    max_idle_sleep: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Start (or resume) runs and drive the step queue until each has finished."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            starts = engine.start_runs(list(projects) if projects else None, force=force, dry_run=dry_run,
                                       trigger="cli")
            break
        except RetryLater as later:
            # Listing the projects was throttled: wait like the steps do, while the budget lasts.
            if time.monotonic() + later.delay >= deadline:
                raise
            sleep(later.delay)
    starts = [_settled(engine, start, force=force, dry_run=dry_run, deadline=deadline, sleep=sleep,
                       idle_sleep=idle_sleep, max_idle_sleep=max_idle_sleep) for start in starts]
    if not starts:
        print("Nothing to replicate: no replicated project found on the primary.", file=out)
        return EXIT_OK
    followed: list[_Followed] = []
    refused = False
    while starts:
        wave, waiting, refused_now = _announce(engine, starts, dry_run=dry_run, out=out)
        followed += wave
        refused = refused or refused_now
        if dry_run:
            print("Dry run: nothing was changed.", file=out)
            return EXIT_OK
        if wave:
            assert runner is not None, "a runner drives the runs"
            if not follow_runs(engine, runner, wave, timeout=max(0.0, deadline - time.monotonic()), out=out,
                               idle_sleep=idle_sleep, max_idle_sleep=max_idle_sleep):
                active = ", ".join(f.run_id for f in followed if f.status not in RUN_TERMINAL)
                print(f"Timed out after {timeout:.0f} s; still active: {active}. "
                      "Run `python -m shared replicate` again to resume.", file=out)
                return EXIT_TIMEOUT
        # An orchestration that waited for its CLU projects: their runs have finished (and started it).
        starts = [again for start in waiting
                  for again in engine.start_runs([start.project], force=force, trigger="cli",
                                                 targets={start.target})] if wave else []
        if waiting and not wave:
            refused = True  # waiting on runs this command does not drive: asked again by the timer
    failed = [f for f in followed if f.status != RUN_SUCCEEDED]
    if failed:
        return EXIT_FAILED
    if refused:
        print("Some replicas were left alone (see above); --force replaces them.", file=out)
        return EXIT_DRIFT
    print("All replicated projects are in sync.", file=out)
    return EXIT_OK


def _announce(engine: ReplicationEngine, starts: Sequence[RunStart], *, dry_run: bool, out: IO[str]
              ) -> tuple[list[_Followed], list[RunStart], bool]:
    """Print each start; return the runs to follow, the orchestrations waiting for CLU projects, and
    whether a replica was left alone."""
    followed: list[_Followed] = []
    waiting: list[RunStart] = []
    refused = False
    for start in starts:
        where = f"{start.project} -> {start.target}"
        if start.status == "in_sync":
            print(f"{where}: in sync, nothing to do", file=out)
        elif start.status == "planned":
            print(_format_plan(where, start.plan), file=out)
        elif start.status == "already_active":
            active_run = start.active_run_id or start.run_id
            print(f"{where}: resuming run {active_run}, which was already under way", file=out)
            if active_run:
                if not dry_run:
                    # Its message may be held invisible by an interrupted runner for minutes: hand the run
                    # a fresh slice now (fenced, so the old message is dropped when it reappears).
                    engine.resume_run(start.project, active_run)
                followed.append(_Followed(start.project, start.target, active_run))
        elif start.status == "started" and start.run_id:
            print(f"{where}: run {start.run_id} started", file=out)
            for reason in _plan_reasons(start.plan):
                print(f"    because {reason}", file=out)
            followed.append(_Followed(start.project, start.target, start.run_id))
        elif start.status == "waiting" and not dry_run:
            # An orchestration after the CLU projects it routes to: started once their runs finish.
            print(f"{where}: waiting", file=out)
            for reason in _plan_reasons(start.plan):
                print(f"    {reason}", file=out)
            waiting.append(start)
        else:
            # e.g. a diverged replica, which is never overwritten without --force.
            refused = True
            print(f"{where}: {start.status}", file=out)
            for reason in _plan_reasons(start.plan):
                print(f"    {reason}", file=out)
    return followed, waiting, refused


def _settled(engine: ReplicationEngine, start: RunStart, *, force: bool, dry_run: bool, deadline: float,
             sleep: Callable[[float], None], idle_sleep: float, max_idle_sleep: float) -> RunStart:
    """Ask again until the start is decided, within the command's time budget, as the steps do:
    planning throttled (or the request budget spent) waits the service's delay; a run another
    `replicate` is starting is followed once its manifest exists, or planned again if it never runs."""
    pause = idle_sleep
    while time.monotonic() < deadline:
        if start.status == "error" and start.retry_after is not None:
            sleep(min(start.retry_after, max(0.0, deadline - time.monotonic())))
        elif start.status == "already_active" and start.active_run_id and not dry_run:
            try:
                engine.get_run(start.project, start.active_run_id)
                return start
            except UnknownRun:
                pass
            if engine.lock.holder(start.target, start.project) == start.active_run_id:
                # The winner holds the lock and is still planning: its manifest comes in a moment.
                sleep(pause)
                pause = min(pause * 2, max_idle_sleep)
                continue
        else:
            return start
        # Throttled, or the winner released the lock without a run (it found nothing to do): ask again.
        [start] = engine.start_runs([start.project], force=force, dry_run=dry_run, trigger="cli",
                                    targets={start.target})
    return start


def follow_runs(engine: ReplicationEngine, runner: LocalRunner, runs: list[_Followed], *, timeout: float,
                out: IO[str], idle_sleep: float = 0.05, max_idle_sleep: float = 2.0) -> bool:
    """Consume the step queue and report each step as it moves, until every run is terminal.

    While nothing is due (a training job runs for minutes) the queue and the manifests are polled less
    and less often, up to every `max_idle_sleep` seconds, so following a long run stays cheap.
    Returns False on timeout (the runs stay resumable).
    """
    deadline = time.monotonic() + timeout
    pause = idle_sleep
    while True:
        handled = runner.run_once()
        for run in runs:
            if run.status not in RUN_TERMINAL:
                _report_progress(engine, run, out)
        if all(run.status in RUN_TERMINAL for run in runs):
            return True
        if time.monotonic() >= deadline:
            return False
        if handled:
            pause = idle_sleep
        else:
            time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
            pause = min(pause * 2, max_idle_sleep)


def _report_progress(engine: ReplicationEngine, run: _Followed, out: IO[str]) -> None:
    manifest = engine.get_run(run.project, run.run_id)
    run.manifest = manifest
    total = len(manifest.steps)
    for index, step in enumerate(manifest.steps, start=1):
        previous = run.steps.get(step.name)
        if step.status == previous or (previous is None and step.status == "pending"):
            continue
        run.steps[step.name] = step.status
        line = f"[{run.label}] {index:>2}/{total} {step.name}: {step.status}"
        why = step.detail.get("why") if isinstance(step.detail, dict) else None
        if why:
            line += f" ({why})"
        if step.status == "running" and step.job_url and step.job_state:
            line += f" - job {step.job_state}"
        print(line, file=out)
        for warning in step.warnings:
            print(f"[{run.label}]       warning: {warning}", file=out)
        for error in step.errors:
            print(f"[{run.label}]       error: {error.get('code', '')}: {error.get('message', '')}", file=out)
    if manifest.status != run.status:
        run.status = manifest.status
        elapsed = time.monotonic() - run.started
        if manifest.status in RUN_TERMINAL:
            print(f"[{run.label}] run {run.run_id} {manifest.status} after {elapsed:.1f} s", file=out)
            for warning in manifest.warnings:
                print(f"[{run.label}]   warning: {warning}", file=out)
            if manifest.error:
                print(f"[{run.label}]   error: {manifest.error.get('code', '')}: "
                      f"{manifest.error.get('message', '')}", file=out)


def _plan_json(plan: Any) -> dict[str, Any]:
    if plan is None:
        return {}
    if hasattr(plan, "to_json"):
        data = plan.to_json()
        return data if isinstance(data, dict) else {}
    return dict(plan) if isinstance(plan, Mapping) else {}


def _plan_reasons(plan: Any) -> list[str]:
    return [str(reason) for reason in _plan_json(plan).get("reasons") or []]


def _format_plan(where: str, plan: Any) -> str:
    data = _plan_json(plan)
    lines = [f"{where}: would replicate ({data.get('state', 'planned')})"]
    lines += [f"    because {reason}" for reason in data.get("reasons") or []]
    lines += [f"    warning: {warning}" for warning in data.get("warnings") or []]
    for step in data.get("steps") or []:
        status = step.get("status", "pending")
        what = "skip" if status == "skipped" else "do"
        why = f" ({step['why']})" if step.get("why") else ""
        lines.append(f"    {what:<4} {step.get('name')}{why}")
    return "\n".join(lines)


# -- runs and cancel ---------------------------------------------------------------------------------


def _project_names(engine: ReplicationEngine, settings: Settings,
                   projects: Sequence[str] | None) -> list[str]:
    """The projects to look at: those asked for, else every project with runs recorded.

    Read from our own state, not the primary: during a primary outage is when runs matter most.
    """
    if projects:
        return list(dict.fromkeys(projects))
    recorded = set(engine.manifests.projects())
    if not settings.replicate_all:
        recorded |= set(settings.replicated_projects)
    return sorted(recorded)


def runs_command(engine: ReplicationEngine, settings: Settings, *, projects: Sequence[str] | None, limit: int,
                 as_json: bool, out: IO[str]) -> int:
    manifests: list[RunManifest] = []
    for project in _project_names(engine, settings, projects):
        manifests += engine.list_runs(project, limit=limit)
    manifests.sort(key=lambda m: m.created_at, reverse=True)
    if as_json:
        print(json.dumps([m.to_json() for m in manifests], indent=2), file=out)
        return EXIT_OK
    if not manifests:
        print("No runs yet.", file=out)
        return EXIT_OK
    rows = [("RUN", "PROJECT", "TARGET", "STATUS", "TRIGGER", "STEPS", "STARTED", "CURRENT / ERROR")]
    for manifest in manifests:
        done = sum(1 for step in manifest.steps if step.done)
        current = manifest.current_step()
        note = ""
        if manifest.error:
            note = str(manifest.error.get("message", ""))[:80]
        elif manifest.active and current is not None:
            note = f"{current.name} {current.status}"
        started = manifest.created_at.strftime("%Y-%m-%d %H:%M:%S")
        rows.append((manifest.run_id, manifest.project, manifest.target, manifest.status, manifest.trigger,
                     f"{done}/{len(manifest.steps)}", started, note))
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip(), file=out)
    return EXIT_OK


def cancel_command(engine: ReplicationEngine, settings: Settings, run_id: str, *, project: str | None,
                   out: IO[str]) -> int:
    from shared.runs.manifest import check_run_id

    check_run_id(run_id)
    candidates = [project] if project else _project_names(engine, settings, None)
    for name in candidates:
        try:
            manifest = engine.cancel_run(name, run_id)
        except UnknownRun:
            continue
        if manifest.status == "cancelled":
            print(f"run {run_id} of {manifest.project} -> {manifest.target}: cancelled", file=out)
        else:
            print(f"run {run_id} of {manifest.project} -> {manifest.target} had already {manifest.status}; "
                  "nothing to cancel", file=out)
        return EXIT_OK
    looked = ", ".join(candidates) or "none recorded"
    raise ReplicatorError(f"no run {run_id} (projects searched: {looked})")
