"""`python -m shared promote | promotion | failback | drill`: a regional outage from a terminal.

- `promote [--project P]... [--target T] --reason TEXT [--by WHO]`: the target becomes the acting
  primary (nothing is written to it until failback; callers' failover clients prefer it);
- `promotion`: the current promotion record, if any;
- `failback [--project P]... [--prefer acting|original] [--dry-run] [--no-wait]`: once the original
  primary answers, bring the acting primary's work back (durable runs, followed in the foreground like
  `replicate`), then return to normal direction;
- `drill [--project P]...`: the DR drill (shared.outage.drill); exit 1 when it failed.

Exit codes as the rest of the CLI: 0 done, 1 failed, 2 usage, 3 a choice is needed (changed on both
sides), 4 timed out.
"""

from __future__ import annotations

import argparse
import getpass
import json
from collections.abc import Callable, Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.engine import ReplicationEngine

OUTAGE_COMMANDS = frozenset({"promote", "promotion", "failback", "drill"})
EXIT_OK, EXIT_FAILED, EXIT_CHOICE, EXIT_TIMEOUT = 0, 1, 3, 4
# (project, target, run id) of each run to follow -> the final status of every run followed (those and
# the ones their success started, e.g. the orchestrations waiting for a CLU project), None on timeout.
Follow = Callable[[Sequence[tuple[str, str, str]]], "Mapping[str, str] | None"]


def add_outage_commands(commands: Any) -> None:
    promote = commands.add_parser("promote", help="make a target the acting primary during an outage")
    promote.add_argument("--target", help="the target to promote (default: the only one configured)")
    promote.add_argument("--project", action="append", metavar="P",
                         help="only this project (repeatable; default: every project replicated to it)")
    promote.add_argument("--reason", default="", help="why (required; recorded with who and when)")
    promote.add_argument("--by", help="who decides (default: the user running the command)")
    promote.add_argument("--json", action="store_true", help="print JSON")

    promotion = commands.add_parser("promotion", help="show the current promotion, if any")
    promotion.add_argument("--json", action="store_true", help="print JSON")

    failback = commands.add_parser(
        "failback", help="replicate the acting primary back to the original one, then return to normal")
    failback.add_argument("--project", action="append", metavar="P", help="only this project (repeatable)")
    failback.add_argument("--prefer", choices=("acting", "original"),
                          help="for projects changed on both sides: whose changes win (the other side is "
                               "kept as a snapshot)")
    failback.add_argument("--dry-run", action="store_true", help="say what each needs; change nothing")
    failback.add_argument("--no-wait", action="store_true", help="start the runs and return")
    failback.add_argument("--json", action="store_true", help="print JSON")

    drill = commands.add_parser("drill", help="prove each target could serve now (writes to no resource)")
    drill.add_argument("--project", action="append", metavar="P", help="only this project (repeatable)")
    drill.add_argument("--json", action="store_true", help="print JSON")


def run_outage_command(args: argparse.Namespace, engine: ReplicationEngine, follow: Follow | None,
                         out: IO[str]) -> int:
    if args.command == "promotion":
        promotion = engine.promotion()
        data = {"promotion": promotion.to_json() if promotion else None}
        text = ("Normal direction: nothing is promoted." if promotion is None else
                "\n".join(f"{key}: {_plain(value)}" for key, value in promotion.to_json().items()))
        _print(out, args.json, data, text)
        return EXIT_OK
    if args.command == "drill":
        drill = engine.drill(args.project)
        _print(out, args.json, drill.to_json(), drill.to_text())
        return EXIT_OK if drill.passed else EXIT_FAILED
    if args.command == "promote":
        by = args.by or _user()
        report = engine.promote(target=args.target, projects=args.project, by=by, reason=args.reason)
        _print(out, args.json, report.to_json(), report.to_text())
        return EXIT_OK
    failback = engine.failback(projects=args.project, prefer=args.prefer, dry_run=args.dry_run)
    _print(out, args.json, failback.to_json(), failback.to_text())
    # The runs this command started, and those an earlier one left under way (followed, not judged).
    started = [(e.run.project, e.run.target, run_id) for e in failback.entries if e.run is not None
               and e.run.status in ("started", "already_active")
               and (run_id := e.run.run_id or e.run.active_run_id)]
    if started and follow is not None and not args.no_wait:
        for entry in failback.entries:
            if entry.run is not None and entry.run.status == "already_active" and entry.run.active_run_id:
                # Its message may be held invisible by the runner that left it: a fresh slice now (fenced).
                engine.resume_run(entry.project, entry.run.active_run_id)
        finished = follow(started)
        if finished is None:
            return EXIT_TIMEOUT
        if any(status != "succeeded" for status in finished.values()):
            return EXIT_FAILED
        promotion = engine.promotion()
        print("Normal direction restored." if promotion is None
              else f"Still promoted: {promotion.target} (run `failback` again for the rest)", file=out)
    errors = [e for e in failback.entries
              if e.change is None or (e.run is not None and e.run.status == "error")]
    if errors:
        return EXIT_FAILED
    return EXIT_CHOICE if failback.needs_choice and not args.dry_run else EXIT_OK


def _user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in a container
        return "cli"


def _print(out: IO[str], as_json: bool, data: Any, text: str) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False, default=str) if as_json else text, file=out)


def _plain(value: object) -> str:
    """A promotion field as text: a nested record as `name value` pairs, not a Python dict."""
    if isinstance(value, dict):
        return ", ".join(f"{key} {item}" for key, item in value.items())
    return str(value)
