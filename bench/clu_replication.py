"""Figure 1's CLU row and figure 2's CLU requests: one replication of a generated CLU project.

The same method as the custom NER run (bench.replication_overhead): a conversational language
understanding project (intents, entities with list, prebuilt and regex components, utterances inline)
is imported, trained in standard mode and deployed on the emulated primary with its job times at zero,
then the product's engine replicates it through Azurite's step queue and the local runner: export,
import, train (the primary's trainingMode), export of the working copy, import, deploy, verify (the
same utterances asked of both regions, synchronously: no runtime job). Ratio = wall time from
`start_runs` until the queue is idle / the sum of the emulator's job durations; requests = what both
regions counted during the run.
"""

from __future__ import annotations

import json
import time
from typing import Any

from bench.environment import (
    Environment,
    combined_counts,
    engine_for,
    job_seconds,
    reset_request_counts,
    runner_for,
)
from bench.replication_overhead import RATIO_TARGET, job_ids, job_rows, new_jobs, step_row
from localdev.conversation_samples import clu_project
from shared.language.export_format import to_bytes
from shared.runs.manifest import SUCCEEDED

PROJECT = "CoffeeOrders"
DEPLOYMENT = "prod"
LABEL = "v1"
CONVERSATIONS = "conversations"  # the emulator's control API names the conversations resource so


def seed_primary(env: Environment, body: dict[str, Any]) -> None:
    """Import, train (standard) and deploy on the primary, its job times at zero (not measured)."""
    defaults = job_seconds(env.primary)
    env.primary.control("/_emulator/durations", b'{"import": 0, "train": 0, "deploy": 0}')
    try:
        client = env.authoring(env.primary)
        name, kind = body["metadata"]["projectName"], body["metadata"]["projectKind"]
        client.wait(client.start_import(name, to_bytes(body), kind=kind),
                    poll_interval=0.01).raise_for_failure()
        offered = sorted(str(v["trainingConfigVersion"]) for v in client.training_config_versions(kind))
        client.wait(client.start_training(name, model_label=LABEL, training_config_version=offered[-1],
                                          training_mode="standard", evaluation_options={"kind": "manual"}),
                    poll_interval=0.01).raise_for_failure()
        client.wait(client.start_deployment(name, DEPLOYMENT, trained_model_label=LABEL),
                    poll_interval=0.01).raise_for_failure()
    finally:
        restore = {kind: defaults[kind] for kind in ("import", "train", "deploy")}
        env.primary.control("/_emulator/durations", json.dumps(restore).encode())


def measure(env: Environment, *, per_intent: int, timeout: float = 600.0) -> dict[str, Any]:
    body = clu_project(PROJECT, per_intent=per_intent)
    seed_primary(env, body)
    settings = env.settings(PROJECT)
    engine = engine_for(settings, env.time_scale)
    runner = runner_for(settings, engine)

    before = job_ids(env, CONVERSATIONS)
    reset_request_counts(*env.regions)
    started = time.perf_counter()
    starts = engine.start_runs([PROJECT], trigger="bench")
    if len(starts) != 1 or starts[0].status != "started" or starts[0].run_id is None:
        raise RuntimeError(f"the CLU replication did not start: {[s.to_json() for s in starts]}")
    runner.run_until_idle(timeout=timeout)
    wall = time.perf_counter() - started
    requests = combined_counts(*env.regions)
    manifest = engine.get_run(PROJECT, starts[0].run_id)
    if manifest.status != SUCCEEDED:
        raise RuntimeError(f"the CLU replication ended {manifest.status}: {manifest.error}")
    rows = job_rows(new_jobs(env, before, CONVERSATIONS), manifest)
    service = sum(row["seconds"] for row in rows)
    return {
        "timeScale": env.time_scale,
        "utterances": len(body["assets"]["utterances"]),
        "wallSeconds": round(wall, 3),
        "serviceJobSeconds": round(service, 3),
        "ratio": round(wall / service, 4),
        "ratioTarget": RATIO_TARGET,
        "requests": requests,
        "jobs": rows,
        "steps": [step_row(step) for step in manifest.steps],
    }


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.clu_replication [--time-scale F]`: this figure alone, as its table rows."""
    import argparse

    from bench.environment import started_environment
    from bench.report import Row, _requests, text_table

    parser = argparse.ArgumentParser(prog="python -m bench.clu_replication", description=main.__doc__)
    parser.add_argument("--time-scale", type=float, default=0.1, help="emulated job times x F (default 0.1)")
    parser.add_argument("--per-intent", type=int, default=12, help="generated utterances per intent")
    args = parser.parse_args(argv)
    with started_environment(args.time_scale) as env:
        clu = measure(env, per_intent=args.per_intent)
    print(text_table([
        Row("1", f"CLU replication overhead ratio (time scale {clu['timeScale']}, {clu['utterances']} "
                 "utterances)", f"{clu['ratio']:.3f} ({clu['wallSeconds']:.1f} s / "
                 f"{clu['serviceJobSeconds']:.1f} s)", f"<= {clu['ratioTarget']}",
            clu["ratio"] <= clu["ratioTarget"]),
        Row("2", "One CLU replication: requests to both regions", _requests(clu["requests"]))]))
    print(json.dumps({key: clu[key] for key in ("jobs", "steps")}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
