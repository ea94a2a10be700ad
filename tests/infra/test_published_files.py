"""What `func azure functionapp publish` uploads: .funcignore applied the way Core Tools applies it.

Core Tools (GitIgnoreParser, a port of codemix/gitignore-parser) does not implement full gitignore semantics:
each pattern becomes a regular expression anchored at the start of the path relative to the app root, `**`
matching anything and `*` anything but "/", a leading "!" re-including. It also always leaves out .git/ and
.vscode/ and the files .funcignore, .gitignore, local.settings.json and project.lock.json. This test replays
exactly that over the repository's files, so the package holds the app and nothing else of ours.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.infra.templates import REPO_ROOT

PUBLISHED_TOP_LEVEL = {"function_app.py", "host.json", "requirements.txt", "shared"}
ALWAYS_IGNORED_DIRECTORIES = {".git", ".vscode"}
ALWAYS_IGNORED_FILES = {
    ".funcignore",
    ".gitignore",
    "appsettings.json",
    "local.settings.json",
    "project.lock.json",
}
_REGEX_SPECIALS = re.compile(r"[\-\[\]/{}()+?.\\^$|]")

# Files a developer's checkout has that git does not track: none of them may be published.
LOCAL_FILES = [
    ".venv/bin/python",
    ".venv-checkov/bin/checkov",
    "node_modules/azurite/package.json",
    ".azurite/__azurite_db_blob__.json",
    "__azurite_db_blob__.json",
    "__blobstorage__/abc",
    "__queuestorage__/abc",
    ".azure/dev/.env",
    ".mypy_cache/3.11/x.json",
    ".ruff_cache/0.5/x",
    ".pytest_cache/v/cache/nodeids",
    "__pycache__/function_app.cpython-311.pyc",
    "bench/results/run.json",
    "site/index.html",
    "local.settings.json",
    ".vscode/settings.json",
]


class FuncIgnore:
    """Core Tools' GitIgnoreParser: Accepts(path) = re-included by a "!" pattern, or matched by none."""

    def __init__(self, text: str) -> None:
        positive: list[str] = []
        negative: list[str] = []
        for raw in text.split("\n"):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            target = positive
            if line.startswith("!"):
                target, line = negative, line[1:]
            target.append(self._regex(line.removeprefix("/")))
        self._positive = self._compile(positive)
        self._negative = self._compile(negative)

    @staticmethod
    def _regex(pattern: str) -> str:
        escaped = _REGEX_SPECIALS.sub(lambda m: "\\" + m.group(0), pattern)
        return escaped.replace("**", "(.+)").replace("*", "([^\\/]+)")

    @staticmethod
    def _compile(patterns: list[str]) -> re.Pattern[str]:
        return re.compile("^((" + ")|(".join(sorted(patterns)) + "))") if patterns else re.compile("$^")

    def accepts(self, path: str) -> bool:
        return bool(self._negative.match(path)) or not self._positive.match(path)


def published(paths: list[str]) -> list[str]:
    funcignore = FuncIgnore((REPO_ROOT / ".funcignore").read_text())
    kept = []
    for path in paths:
        parts = path.split("/")
        if ALWAYS_IGNORED_DIRECTORIES & set(parts[:-1]) or parts[-1] in ALWAYS_IGNORED_FILES:
            continue
        if funcignore.accepts(path):
            kept.append(path)
    return kept


def tracked_files() -> list[str]:
    try:
        listing = subprocess.run(
            ["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True, timeout=30
        ).stdout
    except (OSError, subprocess.CalledProcessError) as error:
        pytest.skip(f"needs a git checkout: {error}")
    return [name for name in listing.decode().split("\0") if name]


def test_funcignore_parser_matches_core_tools_semantics() -> None:
    rules = FuncIgnore("# comment\ntests/\n*.md\n.git*\ndocs/\n!docs/keep.md\n/scripts\n")
    assert not rules.accepts("tests/infra/test_x.py")
    assert not rules.accepts("README.md")
    assert rules.accepts("shared/notes.md")  # "*" never crosses "/": patterns are anchored at the root
    assert not rules.accepts(".github/workflows/ci.yml")  # a prefix match, like Core Tools
    assert not rules.accepts("scripts/test")
    assert not rules.accepts("docs/other.md")
    assert rules.accepts("docs/keep.md")  # "!" re-includes
    assert rules.accepts("function_app.py")


def test_the_package_holds_the_app_and_nothing_else_of_ours() -> None:
    if not (REPO_ROOT / ".funcignore").is_file():
        pytest.fail(".funcignore is missing: Core Tools would publish tests, the emulator and node_modules")
    kept = published(tracked_files())
    top_level = {path.split("/")[0] for path in kept}
    assert top_level == PUBLISHED_TOP_LEVEL, f"published: {sorted(top_level)}"
    for required in ("function_app.py", "host.json", "requirements.txt"):
        assert required in kept
    assert any(path.startswith("shared/") and path.endswith(".py") for path in kept)


def test_local_files_are_never_published() -> None:
    leaked = published(LOCAL_FILES)
    assert not leaked, f"would be published: {leaked}"
