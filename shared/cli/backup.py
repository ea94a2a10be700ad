"""`python -m shared snapshots | restore | retention | expiry`: backup and recovery from a terminal.

- `snapshots list PROJECT`, `snapshots show SNAPSHOT`, `snapshots diff OLD NEW` (the catalogue);
- `snapshots import-legacy FILE --project NAME [--container C]`: a 2021-11-01-preview export, converted,
  checked and stored as a snapshot (reason `legacy-import`) that `restore` uses like any other;
- `restore SNAPSHOT --target primary|<target> [--project NAME] [--train [--model-label L]
  [--deployment D ...]]`: starts a restore run and, unless `--no-wait`, drives it in the foreground
  over the same storage queue as the deployed app, printing each step;
- `retention [--dry-run]`: the sweep the daily timer runs;
- `expiry`: the expiry watch on every side;
- `upkeep`: the whole daily pass the timer runs after its drift check (retention, expiry, removed
  projects, notifications to NOTIFY_WEBHOOK_URL).

Each takes `--json`. Exit codes as the rest of the CLI: 0 ok, 1 failed, 2 usage, 3 expiry warnings
found (`expiry`), 4 timed out.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

from shared.clock import utc_iso
from shared.errors import InvalidRequest, MissingParameter

if TYPE_CHECKING:
    from shared.engine import ReplicationEngine
    from shared.runs.scheduler.local_runner import LocalRunner
    from shared.settings import Settings

BACKUP_COMMANDS = frozenset({"snapshots", "restore", "retention", "expiry", "upkeep"})
EXIT_OK, EXIT_FAILED, EXIT_WARNINGS, EXIT_TIMEOUT = 0, 1, 3, 4
TERMINAL = frozenset({"succeeded", "failed", "cancelled"})


def add_backup_commands(commands: Any) -> None:
    """Add the backup-and-recovery subcommands to the CLI's subparsers."""
    snapshots = commands.add_parser("snapshots", help="list, show and diff a project's snapshots")
    actions = snapshots.add_subparsers(dest="snapshots_action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="a project's snapshots, newest first")
    listing.add_argument("project", metavar="PROJECT")
    show = actions.add_parser("show", help="one snapshot, its bytes verified")
    show.add_argument("snapshot", metavar="SNAPSHOT", help="name, unique prefix, or PROJECT@latest")
    diff = actions.add_parser("diff", help="documents (a CLU project's utterances) and labels added, removed "
                                           "and changed")
    diff.add_argument("old", metavar="OLD")
    diff.add_argument("new", metavar="NEW")
    legacy = actions.add_parser("import-legacy",
                                help="store a 2021-11-01-preview export as a snapshot, converted and checked")
    legacy.add_argument("file", metavar="FILE", help="the old export (JSON)")
    legacy.add_argument("--project", required=True, help="the project name to restore it as")
    legacy.add_argument("--container", help="the documents' container (default: the file's)")
    for parser in (listing, show, diff, legacy):
        parser.add_argument("--json", action="store_true", help="print JSON")

    restore = commands.add_parser("restore", help="import a snapshot into a project (a durable run)")
    restore.add_argument("snapshot", metavar="SNAPSHOT", help="name, unique prefix, or PROJECT@latest")
    restore.add_argument("--target", default="primary",
                         help="primary (default) or a configured target's name, e.g. secondary")
    restore.add_argument("--project", help="restore under this project name (default: the snapshot's)")
    restore.add_argument("--train", action="store_true", help="train the model label and redeploy")
    restore.add_argument("--model-label", help="label to train (default: the snapshot's trained label)")
    restore.add_argument("--deployment", action="append", metavar="D",
                         help="deployment to point at the label (repeatable; default: those serving it now)")
    restore.add_argument("--training-config-version", help="default: the label's current one, else newest")
    restore.add_argument("--no-wait", action="store_true", help="start the run and return")
    restore.add_argument("--timeout", type=float, default=4 * 3600.0, metavar="SECONDS")
    restore.add_argument("--json", action="store_true", help="print the run as JSON when done")

    retention = commands.add_parser("retention", help="apply the snapshot retention settings now")
    retention.add_argument("--dry-run", action="store_true", help="say what would be removed; remove nothing")
    retention.add_argument("--json", action="store_true", help="print JSON")

    expiry = commands.add_parser("expiry", help="models, deployments and training configs expiring soon")
    expiry.add_argument("--json", action="store_true", help="print JSON")

    upkeep = commands.add_parser("upkeep", help="the daily pass: retention, expiry, removed projects, notify")
    upkeep.add_argument("--json", action="store_true", help="print JSON")


def run_backup_command(args: argparse.Namespace, engine: ReplicationEngine, settings: Settings,
                       runner_factory: Callable[[Settings, ReplicationEngine], LocalRunner],
                       out: IO[str]) -> int:
    if args.command == "snapshots":
        return snapshots_command(engine, args, out)
    if args.command == "restore":
        runner = None if args.no_wait else runner_factory(settings, engine)
        return restore_command(engine, runner, args, out)
    if args.command == "retention":
        from shared.recovery.upkeep import Maintenance

        report = Maintenance(engine).retention(dry_run=args.dry_run)
        _print(out, args.json, report.to_json(), report.to_text())
        return EXIT_FAILED if report.errors else EXIT_OK
    from shared.recovery.upkeep import Maintenance

    if args.command == "upkeep":
        upkeep = Maintenance(engine).run()
        _print(out, args.json, upkeep.to_json(), upkeep.to_text())
        return EXIT_FAILED if upkeep.delivery.failed or upkeep.retention.errors else EXIT_OK
    expiry = Maintenance(engine).expiry()
    _print(out, args.json, expiry.to_json(), expiry.to_text())
    if expiry.errors:
        return EXIT_FAILED
    return EXIT_WARNINGS if expiry.warnings else EXIT_OK


def snapshots_command(engine: ReplicationEngine, args: argparse.Namespace, out: IO[str]) -> int:
    from shared.recovery.catalogue import SnapshotCatalogue, snapshots_text

    catalogue = SnapshotCatalogue(engine.snapshots)
    if args.snapshots_action == "import-legacy":
        return import_legacy_command(engine, args, out)
    if args.snapshots_action == "list":
        infos = catalogue.list(args.project)
        _print(out, args.json, {"project": args.project, "snapshots": [i.to_json() for i in infos]},
               snapshots_text(infos, engine.clock.now()))
    elif args.snapshots_action == "show":
        shown = catalogue.show(args.snapshot)
        _print(out, args.json, shown, "\n".join(f"{key}: {value}" for key, value in shown.items()))
    else:
        diff = catalogue.diff(args.old, args.new)
        _print(out, args.json, diff.to_json(), diff.to_text())
    return EXIT_OK


def import_legacy_command(engine: ReplicationEngine, args: argparse.Namespace, out: IO[str]) -> int:
    from pathlib import Path

    from shared.recovery.legacy_import import import_legacy

    path = Path(args.file)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InvalidRequest(f"cannot read {path.name}: {error.strerror}") from None
    result = import_legacy(data, project=args.project, source=f"legacy-file:{path.name}",
                           snapshots=engine.snapshots, documents=engine.primary_documents,
                           container=args.container)
    _print(out, args.json, result.to_json(), result.to_text())
    return EXIT_OK


# How `restore` spells the service's parameters (shared.errors.MissingParameter names them in Python).
RESTORE_FLAGS = {"model_label": "--model-label"}


def restore_command(engine: ReplicationEngine, runner: LocalRunner | None, args: argparse.Namespace,
                    out: IO[str], *, idle_sleep: float = 0.05, max_idle_sleep: float = 2.0) -> int:
    from shared.recovery.restore import RestoreRequest, RestoreService

    request = RestoreRequest(args.snapshot, target=args.target, project=args.project, train=args.train,
                             model_label=args.model_label, deployments=args.deployment,
                             training_config_version=args.training_config_version)
    try:
        start = RestoreService(engine).start(request, trigger="cli")
    except MissingParameter as missing:
        flag = RESTORE_FLAGS.get(missing.parameter, missing.parameter)
        raise InvalidRequest(missing.naming(flag)) from None
    if not args.json:
        print(f"restore run {start.run_id} started: {start.snapshot} -> {start.project} on {start.target}",
              file=out)
        print(f"    steps: {', '.join(start.steps)}", file=out)
    if runner is None:
        if args.json:
            print(json.dumps(start.to_json(), indent=2), file=out)
        return EXIT_OK
    deadline = time.monotonic() + args.timeout
    reported: dict[str, str] = {}
    pause = idle_sleep
    while True:
        handled = runner.run_once()
        manifest = engine.get_run(start.project, start.run_id)
        for step in manifest.steps:
            if reported.get(step.name) != step.status and not args.json:
                print(f"    {utc_iso(engine.clock.now())} {step.name}: {step.status}", file=out)
            reported[step.name] = step.status
        if manifest.status in TERMINAL:
            break
        if time.monotonic() >= deadline:
            print(f"Timed out; run {start.run_id} goes on when the queue is next consumed.", file=out)
            return EXIT_TIMEOUT
        if handled:
            pause = idle_sleep
        else:
            time.sleep(pause)
            pause = min(pause * 2, max_idle_sleep)
    if args.json:
        print(json.dumps(manifest.to_json(), indent=2), file=out)
    else:
        for warning in manifest.warnings:
            print(f"    warning: {warning}", file=out)
        if manifest.status == "succeeded":
            backup = (manifest.context.get("result") or {}).get("backup")
            print(f"restored {start.snapshot} into {start.project} on {start.target}"
                  + (f"; the previous state is in {backup}" if backup else ""), file=out)
        else:
            print(f"restore {manifest.status}: {(manifest.error or {}).get('message', '')}", file=out)
    return EXIT_OK if manifest.status == "succeeded" else EXIT_FAILED


def _print(out: IO[str], as_json: bool, data: Any, text: str) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False, default=str) if as_json else text, file=out)
