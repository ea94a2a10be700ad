"""`python -m shared` itself: what the entry point adds around the CLI."""

from __future__ import annotations

import subprocess
import sys

from localdev.services import REPO_ROOT

# The CLI patched to print far more than a pipe holds, as `status` does for a large estate.
LOUD = ("import runpy, shared.cli.main as cli; "
        "cli.main = lambda: [print('x' * 100) for _ in range(20000)] and 0; "
        "runpy.run_module('shared', run_name='__main__')")


def test_a_reader_that_stops_early_gets_no_traceback_and_exit_0() -> None:
    process = subprocess.Popen([sys.executable, "-c", LOUD], cwd=REPO_ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.readline()   # `| head -1`
    process.stdout.close()
    errors = process.stderr.read().decode()
    assert process.wait(timeout=60) == 0, errors
    assert "Traceback" not in errors and "BrokenPipeError" not in errors
