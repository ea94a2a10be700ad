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
import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
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
from shared.outage.failback import FAILBACK_KIND
from shared.redaction import install_log_redaction, redact
from shared.runs.kinds import kind_name
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

                def follower(runs: Sequence[tuple[str, str, str]]) -> dict[str, str] | None:
                    return follow_with_dependants(engine, failback_runner, [_Followed(*run) for run in runs],
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
    """Start (or resume) runs and drive the step queue until each has finished, and with them the
    orchestration runs their successful CLU runs start (trigger `dependency`)."""
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
    if dry_run:
        _announce(engine, starts, dry_run=True, out=out)
        print("Dry run: nothing was changed.", file=out)
        return EXIT_OK
    assert runner is not None, "a runner drives the runs"
    with _listening(engine, out) as dependants:
        return _replicate(engine, runner, starts, dependants, projects=projects, force=force,
                          timeout=timeout, deadline=deadline, out=out, idle_sleep=idle_sleep,
                          max_idle_sleep=max_idle_sleep)


@contextlib.contextmanager
def _listening(engine: ReplicationEngine, out: IO[str]) -> Iterator[_DependantRuns]:
    """Hear the runs that successful runs start in this process while the command follows them."""
    dependants = _DependantRuns(out)
    engine.dependant_start_listeners.append(dependants.heard)
    try:
        yield dependants
    finally:
        engine.dependant_start_listeners.remove(dependants.heard)


def follow_with_dependants(engine: ReplicationEngine, runner: LocalRunner, runs: list[_Followed], *,
                           timeout: float, out: IO[str]) -> dict[str, str] | None:
    """Follow `runs` and the runs their success starts (a failback run's orchestrations): every followed
    run id -> its final status, or None on timeout (the runs stay resumable)."""
    with _listening(engine, out) as dependants:
        dependants.followed += runs
        if not follow_runs(engine, runner, runs, timeout=timeout, out=out, joined=dependants.drain):
            return None
        return {run.run_id: run.status for run in dependants.followed}


def _replicate(engine: ReplicationEngine, runner: LocalRunner, starts: list[RunStart],
               dependants: _DependantRuns, *, projects: Sequence[str] | None, force: bool, timeout: float,
               deadline: float, out: IO[str], idle_sleep: float, max_idle_sleep: float) -> int:
    followed = dependants.followed
    left: list[RunStart] = []
    while starts:
        wave, waiting, left_now = _announce(engine, starts, dry_run=False, out=out,
                                            followed=dependants.run_ids())
        followed += wave
        left += left_now
        if wave and not follow_runs(engine, runner, wave, timeout=max(0.0, deadline - time.monotonic()),
                                    out=out, idle_sleep=idle_sleep, max_idle_sleep=max_idle_sleep,
                                    joined=dependants.drain):
            active = ", ".join(f.run_id for f in followed if f.status not in RUN_TERMINAL)
            print(f"Timed out after {timeout:.0f} s; still active: {active}. "
                  "Run `python -m shared replicate` again to resume.", file=out)
            return EXIT_TIMEOUT
        # An orchestration that waited for its CLU projects: their runs have finished; the run they started
        # was followed above, else (started elsewhere, or not at all) it is asked for again.
        starts = [again for start in waiting if not dependants.covers(start.project, start.target)
                  for again in engine.start_runs([start.project], force=force, trigger="cli",
                                                 targets={start.target})] if wave else []
        if waiting and not wave:
            left += waiting  # waiting on runs this command does not drive: asked again by the timer
    left += dependants.left + dependants.still_waiting()
    if any(f.status != RUN_SUCCEEDED for f in followed):
        return EXIT_FAILED
    if left:
        print(_left_alone_line(left, force=force), file=out)
        return EXIT_DRIFT
    print(_in_sync_line(projects, dependants), file=out)
    return EXIT_OK


def _left_alone_line(left: Sequence[RunStart], *, force: bool) -> str:
    """The closing line when replicas were left as they are: --force is suggested only where it helps
    (a diverged replica, when it was not given); waiting, blocked or misconfigured ones it cannot move."""
    from shared.replication.plan import DIVERGED

    if not force and any(start.status == DIVERGED for start in left):
        return "Some replicas were left alone (see above); --force replaces a diverged one."
    return "Some replicas were left alone (see above); --force does not change that: see the reasons."


def _in_sync_line(projects: Sequence[str] | None, dependants: _DependantRuns) -> str:
    """The closing line of a successful `replicate`: every project when none were named, else exactly the
    projects it looked at and the orchestrations their runs started."""
    if not projects:
        return "All replicated projects are in sync."
    names = list(dict.fromkeys([*projects, *(f.project for f in dependants.followed)]))
    return f"In sync: {', '.join(names)}."


class _DependantRuns:
    """The orchestration runs that successful CLU runs of this command started (told by the engine, in
    this process): announced and followed like the command's own."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.heard_starts: list[tuple[RunManifest, RunStart]] = []
        self.followed: list[_Followed] = []   # every run the command follows, its own included
        self.joined: list[_Followed] = []     # those a dependency started
        self.left: list[RunStart] = []        # dependants it started none for, and why
        self.waiting: dict[tuple[str, str], RunStart] = {}

    def still_waiting(self) -> list[RunStart]:
        """Dependants told to wait whose run never came within this command."""
        return [start for (project, target), start in self.waiting.items()
                if not self.covers(project, target)]

    def heard(self, manifest: RunManifest, starts: Sequence[RunStart]) -> None:
        self.heard_starts += [(manifest, start) for start in starts]

    def run_ids(self) -> set[str]:
        return {f.run_id for f in self.followed}

    def covers(self, project: str, target: str) -> bool:
        return any(f.project == project and f.target == target for f in self.joined)

    def drain(self) -> list[_Followed]:
        """The runs started since the last call, each announced once."""
        heard, self.heard_starts = self.heard_starts, []
        new: list[_Followed] = []
        for manifest, start in heard:
            where = f"{start.project} -> {start.target}"
            run_id = start.run_id or start.active_run_id
            failback = kind_name(manifest) == FAILBACK_KIND
            trigger = "failback" if failback else "dependency"
            cause = (f"the {'failback ' if failback else ''}run {manifest.run_id} of CLU project "
                     f"{manifest.project!r}, which it routes to")
            if start.status in ("started", "already_active") and run_id:
                if run_id in self.run_ids() | {f.run_id for f in new}:
                    continue
                verb = "started by" if start.status == "started" else "already under way; followed after"
                print(f"{where}: run {run_id} {verb} {cause} (trigger {trigger})", file=self.out)
                for reason in _plan_reasons(start.plan):
                    print(f"    because {reason}", file=self.out)
                followed = _Followed(start.project, start.target, run_id)
                new.append(followed)
                self.joined.append(followed)
            elif start.status == "in_sync":
                print(f"{where}: in sync after {cause}, nothing to do", file=self.out)
            elif start.status == "waiting":
                # Another CLU project it routes to is not replicated yet: that one's success starts it.
                print(f"{where}: waiting after {cause}", file=self.out)
                for reason in _plan_reasons(start.plan):
                    print(f"    {reason}", file=self.out)
                self.waiting[start.project, start.target] = start
            else:
                print(f"{where}: {start.status} after {cause}", file=self.out)
                for reason in _plan_reasons(start.plan):
                    print(f"    {reason}", file=self.out)
                self.left.append(start)
        self.followed += new
        return new


def _announce(engine: ReplicationEngine, starts: Sequence[RunStart], *, dry_run: bool, out: IO[str],
              followed: Collection[str] = ()) -> tuple[list[_Followed], list[RunStart], list[RunStart]]:
    """Print each start; return the runs to follow (none already in `followed`), the orchestrations
    waiting for CLU projects, and the replicas left alone."""
    wave: list[_Followed] = []
    waiting: list[RunStart] = []
    left: list[RunStart] = []
    for start in starts:
        where = f"{start.project} -> {start.target}"
        if start.status == "in_sync":
            print(f"{where}: in sync, nothing to do", file=out)
        elif start.status == "planned":
            print(_format_plan(where, start.plan), file=out)
        elif start.status == "already_active":
            active_run = start.active_run_id or start.run_id
            if active_run in followed:
                continue
            print(f"{where}: {_already_under_way(engine, start.project, active_run, dry_run=dry_run)}",
                  file=out)
            if active_run:
                if not dry_run:
                    # Its message may be held invisible by an interrupted runner for minutes: hand the run
                    # a fresh slice now (fenced, so the old message is dropped when it reappears).
                    engine.resume_run(start.project, active_run)
                wave.append(_Followed(start.project, start.target, active_run))
        elif start.status == "started" and start.run_id:
            print(f"{where}: run {start.run_id} started", file=out)
            for reason in _plan_reasons(start.plan):
                print(f"    because {reason}", file=out)
            wave.append(_Followed(start.project, start.target, start.run_id))
        elif start.status == "waiting" and not dry_run:
            # An orchestration after the CLU projects it routes to: started once their runs finish.
            print(f"{where}: waiting", file=out)
            for reason in _plan_reasons(start.plan):
                print(f"    {reason}", file=out)
            waiting.append(start)
        else:
            # e.g. a diverged replica, which is never overwritten without --force.
            left.append(start)
            print(f"{where}: {start.status}", file=out)
            for reason in _plan_reasons(start.plan):
                print(f"    {reason}", file=out)
    return wave, waiting, left


def _already_under_way(engine: ReplicationEngine, project: str, run_id: str | None, *, dry_run: bool) -> str:
    """What a start that found a run under way says: who started that run, when its manifest tells."""
    if run_id is None:
        return "a run is already under way"
    trigger = ""
    with contextlib.suppress(UnknownRun):
        trigger = engine.get_run(project, run_id).trigger
    follows = "would follow" if dry_run else "following"
    if trigger == "dependency":
        return (f"{follows} run {run_id}, which the successful run of a CLU project it routes to started "
                "(trigger dependency)")
    if dry_run:
        return f"run {run_id} is already under way (trigger {trigger or 'unknown'})"
    return f"resuming run {run_id}, which was already under way (trigger {trigger or 'unknown'})"


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
                out: IO[str], idle_sleep: float = 0.05, max_idle_sleep: float = 2.0,
                joined: Callable[[], list[_Followed]] | None = None) -> bool:
    """Consume the step queue and report each step as it moves, until every run is terminal.

    While nothing is due (a training job runs for minutes) the queue and the manifests are polled less
    and less often, up to every `max_idle_sleep` seconds, so following a long run stays cheap.
    `joined`: runs to follow from now on too (those the followed runs started). Returns False on timeout
    (the runs stay resumable).
    """
    deadline = time.monotonic() + timeout
    pause = idle_sleep
    while True:
        handled = runner.run_once()
        for run in runs:
            if run.status not in RUN_TERMINAL:
                _report_progress(engine, run, out)
        # After the runs that started them have told how they ended, so the lines read in order.
        for run in joined() if joined is not None else []:
            runs.append(run)
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
