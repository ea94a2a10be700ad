"""`python -m shared snapshots | restore | retention | expiry` against Azurite and two emulated regions."""

from __future__ import annotations

import io
import json

import pytest

from localdev.demo import scaled_engine, scaled_runner
from localdev.sample_project import ner_project
from shared.cli.backup import EXIT_WARNINGS
from shared.cli.main import EXIT_OK, EXIT_USAGE, main
from shared.settings import Settings
from tests.shared.engine.support import control, predict, seed, settings_values

TIME_SCALE = 0.001  # the regions fixture's


@pytest.fixture
def cli(regions, azurite):
    project = ner_project(documents=12)
    seed(regions.primary, azurite.connection_string("primarydocs"), project, label="model1",
         deployment="production")
    values = settings_values(regions, azurite, project="*", SNAPSHOT_RETENTION_COUNT="1")

    def engine_factory(settings: Settings):
        return scaled_engine(settings, TIME_SCALE)

    def run(*argv: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        code = main(list(argv), environ=values, out=out, err=err, engine_factory=engine_factory,
                    runner_factory=scaled_runner)
        return code, out.getvalue(), err.getvalue()

    run.project = project  # type: ignore[attr-defined]
    return run


def test_catalogue_restore_retention_and_expiry_from_the_terminal(cli, regions):
    project = cli.project
    assert cli("replicate")[0] == EXIT_OK

    code, out, _ = cli("snapshots", "list", project.name)
    assert code == EXIT_OK and "model:model1" in out and "working-copy" in out
    listed = json.loads(cli("snapshots", "list", project.name, "--json")[1])["snapshots"]
    model_snapshot = next(s["name"] for s in listed if s["reason"] == "model:model1")
    working = next(s["name"] for s in listed if s["reason"] == "working-copy")
    shown = json.loads(cli("snapshots", "show", f"{project.name}@latest", "--json")[1])
    assert shown["verified"] is True and shown["documents"] == 12
    code, out, _ = cli("snapshots", "diff", model_snapshot, working)
    assert code == EXIT_OK and out.startswith(f"{model_snapshot} -> {working}")

    code, out, err = cli("restore", model_snapshot, "--target", "secondary", "--train")
    assert code == EXIT_OK, (out, err)
    assert "train:model1: succeeded" in out and "deploy:production: succeeded" in out
    assert f"restored {model_snapshot} into {project.name} on secondary" in out
    texts = list(project.documents.values())[:3]
    assert predict(regions.secondary, project.name, "production", project.kind, texts) == predict(
        regions.primary, project.name, "production", project.kind, texts)

    code, out, _ = cli("restore", "no-such-reference")
    assert code == EXIT_USAGE
    # A working copy has no trained label: the error names the flag that gives one.
    code, out, err = cli("restore", working, "--target", "secondary", "--project", "Copy", "--train")
    assert code == EXIT_USAGE, (out, err)
    assert "without a trained model label: give --model-label to train" in err

    code, out, _ = cli("retention", "--dry-run", "--json")
    report = json.loads(out)
    assert code == EXIT_OK and report["dryRun"] is True
    assert model_snapshot not in {item["name"] for item in report["removed"]}   # deployed from it

    assert cli("expiry")[0] == EXIT_OK
    control(regions.secondary, "/_emulator/expiry/deployments",
            {"project": project.name, "deployment": "production", "inDays": 2})
    code, out, _ = cli("expiry")
    assert code == EXIT_WARNINGS and "secondary: " in out and "deployment production" in out

    code, out, _ = cli("upkeep", "--json")
    upkeep = json.loads(out)
    assert code == EXIT_OK and upkeep["expiry"]["warnings"] and upkeep["retention"]["removed"] == []
    assert [n["kind"] for n in upkeep["notifications"]] == ["expiry-warning"]


def legacy_region(region: dict) -> dict:
    return {"regionOffset": region["regionOffset"], "regionLength": region["regionLength"],
            "labels": [{"extractorName": label["category"], "offset": label["offset"],
                        "length": label["length"]} for label in region["labels"]]}


def legacy_export_of(project) -> dict:
    """The project as a 2021-11-01-preview export (what the 2022 recipe saved)."""
    current = project.export
    return {
        "api-version": "2021-11-01-preview",
        "metadata": {"name": current["metadata"]["projectName"], "multiLingual": False, "description": "",
                     "modelType": "Extraction", "language": "en",
                     "storageInputContainerName": current["metadata"]["storageInputContainerName"],
                     "settings": {}},
        "assets": {
            "extractors": [{"name": e["category"]} for e in current["assets"]["entities"]],
            "documents": [{"location": d["location"], "language": d["language"], "dataset": d.get("dataset"),
                           "extractors": [legacy_region(r) for r in d["entities"]]}
                          for d in current["assets"]["documents"]]},
    }


def test_a_seed_era_export_is_checked_stored_and_restored_like_any_snapshot(cli, regions, tmp_path):
    from tests.shared.engine.support import authoring, export_of

    project = cli.project
    legacy = tmp_path / "legacy.json"
    legacy.write_text(json.dumps(legacy_export_of(project)), encoding="utf-8")
    code, out, err = cli("snapshots", "import-legacy", str(legacy), "--project", "OldLoans", "--json")
    assert code == EXIT_OK, err
    result = json.loads(out)
    assert result["spansChecked"] is True and result["snapshot"]["reason"] == "legacy-import"
    assert result["snapshot"]["documents"] == 12

    code, out, err = cli("restore", "OldLoans@latest", "--target", "primary")
    assert code == EXIT_OK, (out, err)
    restored = export_of(authoring(regions.primary), "OldLoans")
    assert restored["assets"]["documents"] == project.export["assets"]["documents"]


def test_a_seed_era_span_that_does_not_fit_its_document_is_refused_naming_it(cli, tmp_path):
    body = legacy_export_of(cli.project)
    document = body["assets"]["documents"][3]
    document["extractors"][0]["labels"][0]["length"] = 10**6
    legacy = tmp_path / "legacy.json"
    legacy.write_text(json.dumps(body), encoding="utf-8")
    code, _, err = cli("snapshots", "import-legacy", str(legacy), "--project", "OldLoans")
    assert code == 1
    assert f"document {document['location']!r}" in err and "outside the document" in err
    assert cli("snapshots", "list", "OldLoans", "--json")[1].count('"name"') == 0  # nothing stored
