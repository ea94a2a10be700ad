"""`python -m shared status [--html FILE]` against Azurite and the emulator."""

from __future__ import annotations

import io

from shared.cli.main import EXIT_OK, main
from tests.shared.engine.support import settings_values
from tests.shared.replicated_estate import ReplicatedEstate


def test_status_prints_the_verdict_and_writes_the_same_page_as_a_file(replicated_estate: ReplicatedEstate,
                                                                     regions, azurite, tmp_path):
    project, h = replicated_estate.project, replicated_estate.harness
    values = settings_values(regions, azurite)

    def cli(*argv: str) -> tuple[int, str]:
        out = io.StringIO()
        code = main(list(argv), environ=values, out=out, err=out, engine_factory=lambda settings: h.engine)
        return code, out.getvalue()

    code, out = cli("status")
    assert code == EXIT_OK
    assert out.splitlines()[0] == "All protected"
    assert f"{project.name} -> secondary: in_sync, protected, recovery point age " in out

    page = tmp_path / "status.html"
    code, out = cli("status", "--html", str(page))
    assert code == EXIT_OK and out == f"All protected: status page written to {page}\n"
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>") and "✓ All protected" in html and project.name in html
    assert 'http-equiv="Content-Security-Policy"' in html
