"""The quick start (docs/tutorial/quick-start.md) run as a newcomer would: its sample output and its
"explore" commands, and the CLI reference's doctor sample.

One demo (`--free-ports --keep-running`, as a second demo on a busy machine would pick) serves both
tests; it is stopped by its PID with SIGTERM, which the demo unwinds like Ctrl-C.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
QUICK_START = REPO / "docs" / "tutorial" / "quick-start.md"
CLI_REFERENCE = REPO / "docs" / "reference" / "cli.md"
SETTINGS_IN_DOCS = ".demo/local.settings.json"
READY = "Ctrl-C stops everything."
TIMESTAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


@dataclass
class RunningDemo:
    process: subprocess.Popen[str]
    settings_file: Path
    lines: list[str]

    def output(self) -> str:
        return "\n".join(self.lines)


def _block_after(page: Path, marker: str, fence: str) -> str:
    text = page.read_text(encoding="utf-8")
    start = text.index(fence, text.index(marker)) + len(fence)
    return text[start:text.index("```", start)]


def _pump(process: subprocess.Popen[str], lines: list[str], ready: threading.Event) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line.rstrip("\n"))
        if line.strip() == READY:
            ready.set()
    ready.set()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDemo]:
    settings_file = tmp_path_factory.mktemp("demo") / "local.settings.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "localdev.demo", "--free-ports", "--keep-running", "--time-scale", "0.002",
         "--settings-file", str(settings_file)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, encoding="utf-8",
    )
    lines: list[str] = []
    ready = threading.Event()
    reader = threading.Thread(target=_pump, args=(process, lines, ready), daemon=True)
    reader.start()
    try:
        assert ready.wait(180), "\n".join(lines)
        assert process.poll() is None, "\n".join(lines)
        yield RunningDemo(process, settings_file, lines)
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=60)
        reader.join(timeout=10)


def test_the_readme_explore_commands_answer_against_a_demo_on_free_ports(demo: RunningDemo,
                                                                          tmp_path: Path):
    block = _block_after(QUICK_START, "To explore after the demo", "```bash\n")
    commands = [line.split("#", 1)[0].strip() for line in block.splitlines()
                if line.startswith(".venv/bin/python -m shared")]
    assert len(commands) >= 2 and all(SETTINGS_IN_DOCS in command for command in commands)
    assert f"--settings {demo.settings_file}" in demo.output(), "the demo names its settings file"
    # Its closing text points at the status page and at where the control ports are documented.
    assert f"--settings {demo.settings_file} status --html status.html" in demo.output()
    assert "see docs/reference/emulator.md" in demo.output() and "README" not in demo.output()
    for command in commands:
        argv = shlex.split(command.replace(SETTINGS_IN_DOCS, str(demo.settings_file)))
        argv[0] = sys.executable
        # No ./local.settings.json to fall back on, and no inherited setting: only the file answers.
        environ = {name: value for name, value in os.environ.items()
                   if not name.startswith(("PRIMARY_", "SECONDARY_", "SNAPSHOT_", "AzureWebJobs"))}
        # Run from a scratch folder (files a command writes, like status.html, land there, not in the
        # repository), with the repository on the path as running from its root would put it.
        environ["PYTHONPATH"] = str(REPO)
        result = subprocess.run(argv, cwd=tmp_path, env=environ,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
        if command.endswith(" drift"):
            assert re.search(r"LoanAgreements\s+secondary\s+in_sync", result.stdout)
        if command.endswith(" status --html status.html"):
            assert "status page written to status.html" in result.stdout
            assert "<td>CLU</td>" in (tmp_path / "status.html").read_text(encoding="utf-8")
        if command.endswith(" snapshots list CoffeeOrders"):
            assert re.match(r"NAME\s+AGE\s+SIZE\s+UTTERANCES\s", result.stdout), result.stdout
    assert any(command.endswith(" status --html status.html") for command in commands)
    assert any(" snapshots list CoffeeOrders" in command for command in commands)


def assert_sample_printed(sample: str, printed: str, *, stop_at: str | None = None) -> None:
    """Each line of a documented sample (but "..." lines) is printed, in order; timestamps, timings,
    column padding and "(e.g. ...)" tails may differ."""
    output = printed.splitlines()
    position = 0
    for line in sample.splitlines():
        if not line.strip() or line.strip() == "...":
            continue
        if stop_at is not None and line.startswith(stop_at):
            break
        pattern = re.escape(line)
        pattern = pattern.replace(re.escape("(e.g. ...)"), r"\(e\.g\. .*\)")
        pattern = re.sub(r"\d{4}\\-\d\d\\-\d\dT\d\d:\d\d:\d\dZ", lambda _: TIMESTAMP, pattern)
        pattern = re.sub(r"(?:\\ )+", lambda _: r"\s+", pattern)
        pattern = re.sub(r"\d+\\\.\d", lambda _: r"\d+\.\d", pattern)  # timings
        found = next((index for index in range(position, len(output))
                      if re.fullmatch(pattern, output[index])), None)
        assert found is not None, f"documented line not printed (in this order): {line!r}\n{printed}"
        position = found + 1


def test_the_readme_sample_output_is_what_the_demo_prints(demo: RunningDemo):
    # The demo is still running: the sample is compared up to the stop, which comes after the tests.
    assert_sample_printed(_block_after(QUICK_START, "It ends with (abridged", "```text\n"), demo.output(),
                          stop_at="== Stopping")


def test_the_readme_doctor_sample_is_what_the_doctor_prints_against_the_demo(demo: RunningDemo):
    result = subprocess.run([sys.executable, "-m", "shared", "--settings", str(demo.settings_file), "doctor"],
                            cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    sample = _block_after(CLI_REFERENCE, "Against the demo's services every check", "```text\n")
    assert_sample_printed(sample, result.stdout)
