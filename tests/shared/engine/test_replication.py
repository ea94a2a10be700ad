"""Full replications against Azurite and two emulated regions."""

from localdev.sample_project import ner_project
from shared.runs.manifest import SUCCEEDED

from .support import authoring, emulator_jobs, export_of, harness, predict, seed


def without_container(export):
    export = dict(export)
    export["metadata"] = {k: v for k, v in export["metadata"].items() if k != "storageInputContainerName"}
    return export


def test_full_replication_makes_the_secondary_equal_and_a_second_run_submits_nothing(regions, azurite):
    project = ner_project()
    primary = seed(regions.primary, azurite.connection_string("primarydocs"), project)
    h = harness(regions, azurite)

    [start] = h.engine.start_runs()
    assert start.status == "started", start
    h.run()
    run = h.engine.get_run(project.name, start.run_id)
    assert run.status == SUCCEEDED, (run.to_json(), h.scheduler.poisoned)

    secondary = authoring(regions.secondary)
    assert without_container(export_of(secondary, project.name)) == without_container(
        export_of(primary, project.name))
    texts = list(project.documents.values())[:5]
    kind = project.kind
    assert predict(regions.secondary, project.name, "prod", kind, texts) == predict(
        regions.primary, project.name, "prod", kind, texts)

    jobs_before = len(emulator_jobs(regions.secondary)) + len(emulator_jobs(regions.primary))
    [again] = h.engine.start_runs()
    assert again.status == "in_sync", again
    h.run()
    assert len(emulator_jobs(regions.secondary)) + len(emulator_jobs(regions.primary)) == jobs_before
