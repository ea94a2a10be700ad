"""README.md is a landing page: short, its links resolve, and its commands are the ones CI runs."""

from __future__ import annotations

import re
from pathlib import Path

from tests.docs.markdown_links import anchors, broken_links, github_slug, links

REPO_ROOT = Path(__file__).resolve().parents[1]
README = REPO_ROOT / "README.md"
MAX_README_BYTES = 15_000


def _section(text: str, heading: str) -> str:
    """The body of a `## heading` section, up to the next heading of that level or higher."""
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^#{{1,2}} |\Z)", text, re.M | re.S)
    assert match, f"no section '## {heading}'"
    return match.group(1)


def test_readme_is_a_landing_page_of_at_most_15_kb() -> None:
    size = len(README.read_bytes())
    assert size <= MAX_README_BYTES, f"README.md is {size} bytes; move detail into docs/"


def test_every_link_of_the_readme_and_the_changelog_resolves() -> None:
    for document in (README, REPO_ROOT / "CHANGELOG.md"):
        assert broken_links(document) == []


def test_the_readme_links_every_part_of_the_documentation() -> None:
    targets = {link.target.partition("#")[0] for link in links(README.read_text(encoding="utf-8"))}
    for part in ("tutorial", "how-to", "reference", "explanation", "decisions"):
        assert any(target.startswith(f"docs/{part}/") for target in targets), part


def test_the_readme_gives_the_two_commands_and_the_test_command_is_what_ci_runs() -> None:
    readme = README.read_text(encoding="utf-8")
    assert "```bash\n./scripts/demo\n./scripts/test\n```" in readme
    assert "exec ./scripts/test" in (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_the_readme_and_the_docs_home_page_show_the_same_at_a_glance_table() -> None:
    def table(path: Path) -> list[str]:
        return [line for line in _section(path.read_text(encoding="utf-8"), "At a glance").splitlines()
                if line.startswith("|")]

    assert table(README) == table(REPO_ROOT / "docs" / "index.md")


def test_broken_files_and_anchors_are_reported(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Where things run\n\n## `POST /api/x` — start\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text(
        "# Title\n[ok](other.md#where-things-run) [ok](other.md#post-apix--start) [ok](#title)\n"
        "[gone](missing.md) [no anchor](other.md#nowhere) [web](https://example.com/x)\n"
        "```\n[in code](missing-too.md)\n```\n`[inline](missing-three.md)`\n",
        encoding="utf-8",
    )
    assert broken_links(page) == [
        "page.md:3: missing.md: no such file",
        "page.md:3: other.md#nowhere: no such heading",
    ]


def test_github_slugs_drop_punctuation_and_keep_each_space() -> None:
    assert github_slug("`drift`: is every replica current?") == "drift-is-every-replica-current"
    assert github_slug("Option 2: `az deployment group create`, then `func`") == (
        "option-2-az-deployment-group-create-then-func"
    )
    assert anchors("# A\n## A\n") == {"a", "a-1"}


def _site_pages() -> list[str]:
    """Every page of the site but the home page and each decision record (their index lists them)."""
    docs = REPO_ROOT / "docs"
    return sorted(path.relative_to(docs).as_posix() for path in docs.rglob("*.md")
                  if path.name != "index.md" or path.parent != docs
                  if not re.fullmatch(r"\d{4}-.*\.md", path.name))


def test_the_readme_and_the_docs_home_page_link_every_page_of_the_site() -> None:
    def targets(path: Path) -> set[str]:
        return {link.target.partition("#")[0] for link in links(path.read_text(encoding="utf-8"))}

    home, readme = targets(REPO_ROOT / "docs" / "index.md"), targets(README)
    for page in _site_pages():
        assert page in home, f"docs/index.md does not link {page}"
        assert f"docs/{page}" in readme, f"README.md does not link docs/{page}"


def test_the_docs_home_page_opens_as_the_readme_does() -> None:
    """Everything up to "## Two commands" (the README's own part) is the README's, links made relative."""
    readme = README.read_text(encoding="utf-8")
    shared_part = readme[:readme.index("## Two commands")].replace("](docs/", "](")
    assert (REPO_ROOT / "docs" / "index.md").read_text(encoding="utf-8").startswith(shared_part)
