"""`python -m shared status [--html FILE]`: the estate's verdict in the terminal, or the status page as
one self-contained file (the same page as `GET /api/status`; it opens offline, nothing is fetched).

Like the page, it reads state storage only, so it answers while the primary's region is down.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.engine import ReplicationEngine

EXIT_OK = 0


def add_status_command(commands: Any) -> None:
    status = commands.add_parser("status", help="is every project protected? (the status page)")
    status.add_argument("--html", type=Path, metavar="FILE",
                        help="write the status page to FILE (self-contained HTML) instead of printing")


def status_command(args: argparse.Namespace, engine: ReplicationEngine, out: IO[str]) -> int:
    from shared.replication.drift import format_age
    from shared.status.model import gather
    from shared.status.page import render

    status = gather(engine)
    if args.html is not None:
        args.html.write_text(render(status), encoding="utf-8")
        print(f"{status.verdict.label}: status page written to {args.html}", file=out)
        return EXIT_OK
    print(status.verdict.label, file=out)
    for reason in status.verdict_reasons:
        print(f"  {reason}", file=out)
    for project in status.projects:
        for replica in project.replicas:
            age = "-" if replica.age is None else format_age(replica.age)
            print(f"{project.project} -> {replica.target}: {replica.state.value}, "
                  f"{replica.protection.value.replace('_', ' ')}, recovery point age {age}", file=out)
    return EXIT_OK
