"""`./scripts/demo`: the product's main job on one machine, end to end, in well under a minute.

Starts Azurite (three storage accounts: the host's, and one linked to each Language resource) and two
emulated Language regions, seeds the primary with a generated custom NER project (documents
uploaded, labels imported, a model trained and deployed, all through the product's AuthoringClient),
a CLU project and an orchestration routing to it, shows the drift report, replicates with progress
through the same engine and step queue the Functions app uses (the orchestration after its CLU
project), shows the replicas in sync, compares predictions and conversation answers of both regions,
then stops everything it started, on success, failure or Ctrl-C.

Ports: the ones local.settings.json.example names (Azurite's defaults 10000-10002, the regions on
5301/5302) when they are free; free ports otherwise (or with `--free-ports`). Either way the settings
the demo used are written to `.demo/local.settings.json`, so `python -m shared --settings
.demo/local.settings.json ...` works against a demo started with `--keep-running`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import IO, Any

from azure.storage.blob import BlobServiceClient

from localdev.conversation_samples import clu_project, orchestration_project
from localdev.failover_scene import failover_scene
from localdev.sample_project import SampleProject, ner_project, upload_documents
from localdev.services import DEV_ACCOUNT_KEY, Azurite, EmulatorRegion, port_is_free
from shared.cli.main import EXIT_INTERRUPTED, EXIT_OK, default_runner, drift_command, replicate_command
from shared.clock import SystemClock
from shared.engine import ReplicationEngine
from shared.language.authoring import AuthoringClient
from shared.language.credentials import KeyAuth
from shared.language.export_format import to_bytes
from shared.language.request_budget import InMemoryRequestBudget
from shared.language.runtime import (
    Prediction,
    RuntimeClient,
    SampleDocument,
    conversation_prediction,
    job_finished,
    predictions,
)
from shared.runs.scheduler.local_runner import LocalRunner, QueueHostSettings
from shared.runs.scheduler.messages import QUEUE_NAME
from shared.runs.scheduler.storage_queue import StorageQueueScheduler, step_queue_client
from shared.settings import HOST_STORAGE_CONNECTION, Settings, settings_from_values

# How much faster than the real service the emulated regions run (training: 10 minutes -> 3 s).
DEMO_TIME_SCALE = 0.005
DEMO_PROJECT = "LoanAgreements"
DEMO_MODEL = "model1"
DEMO_DEPLOYMENT = "production"
# A CLU project and an orchestration routing to it (and to a question answering project, which this
# tool does not replicate), beside the NER project.
DEMO_CLU = "CoffeeOrders"
DEMO_ORCHESTRATION = "FrontDesk"
DEMO_UTTERANCES = ("two large latte please", "cancel my order ORD-12345", "are you open on sunday",
                   "do you have wifi")
PRIMARY_KEY = "local-primary-key"
SECONDARY_KEY = "local-secondary-key"
PREDICTION_SAMPLE = 3
# Where the demo writes the settings it used (git-ignored); the CLI reads it with --settings.
DEMO_SETTINGS_FILE = Path(".demo") / "local.settings.json"


@dataclass(frozen=True)
class DemoPorts:
    """The ports of local.settings.json.example."""

    blob: int = 10000
    queue: int = 10001
    primary: int = 5301
    primary_control: int = 5311
    secondary: int = 5302
    secondary_control: int = 5312

    def all(self) -> tuple[int, ...]:
        return (self.blob, self.queue, self.primary, self.primary_control, self.secondary,
                self.secondary_control)

    def all_free(self) -> bool:
        return all(port_is_free(port) for port in self.all())


@dataclass
class DemoEnvironment:
    """Azurite and the two regions, however they were started."""

    azurite: Azurite
    primary: EmulatorRegion
    secondary: EmulatorRegion

    @property
    def time_scale(self) -> float:
        return self.primary.time_scale

    def host_storage(self) -> str:
        if self.azurite.blob_port == 10000 and self.azurite.queue_port == 10001:
            return "UseDevelopmentStorage=true"
        return self.azurite.connection_string("devstoreaccount1")

    def settings_values(self) -> dict[str, str]:
        """Every setting, as local.settings.json.example writes them for the demo's services."""
        return {
            "FUNCTIONS_WORKER_RUNTIME": "python",
            "AzureWebJobsStorage": self.host_storage(),
            "PRIMARY_LANGUAGE_ENDPOINT": self.primary.endpoint,
            "PRIMARY_LANGUAGE_KEY": self.primary.key,
            "PRIMARY_DOCUMENTS_STORAGE": _storage_connection(self.azurite, "primarydocs"),
            "SECONDARY_LANGUAGE_ENDPOINT": self.secondary.endpoint,
            "SECONDARY_LANGUAGE_KEY": self.secondary.key,
            "SECONDARY_DOCUMENTS_STORAGE": _storage_connection(self.azurite, "secondarydocs"),
            "SECONDARY_REGION": self.secondary.region,
            "DOCUMENTS_SHARED": "false",
            "REPLICATED_PROJECTS": "*",
            "SNAPSHOT_STORAGE": "AzureWebJobsStorage",
            "SNAPSHOT_CONTAINER": "snapshots",
            "DRIFT_SCHEDULE": "0 0 2 * * *",
            "DRIFT_FULL_CHECK_DAYS": "7",
            "LANGUAGE_API_VERSION": "2023-04-01",
            "CONVERSATIONS_API_VERSION": "2023-04-01",
            "CLU_DEFAULT_TRAINING_MODE": "standard",
            "MAX_TRAININGS_PER_PROJECT_PER_DAY": "3",
            "VERIFY_AGREEMENT_THRESHOLD": "1.0",
            "VERIFY_AGREEMENT_THRESHOLD_RESAMPLED": "0.8",
            "VERIFY_EVALUATION_TOLERANCE": "0.02",
            "TRAINING_SPLIT": "exact",
            "RUN_STALL_TIMEOUT_MINUTES": "30",
            "SECONDARY_TARGETS": "",
            "SNAPSHOT_RETENTION_COUNT": "",
            "SNAPSHOT_RETENTION_DAYS": "",
            "EXPIRY_WARNING_DAYS": "30",
            "RECOVERY_POINT_MAX_AGE_HOURS": "36",
            "NOTIFY_WEBHOOK_URL": "",
            "NOTIFY_FORMAT": "json",
            "DELETE_REMOVED_PROJECTS": "false",
            "ROUTING_CONTAINER": "routing",
            "DRILL_EVERY_DAYS": "0",
        }

    def settings(self) -> Settings:
        return settings_from_values(self.settings_values())

    def documents(self, account: str) -> BlobServiceClient:
        return BlobServiceClient.from_connection_string(self.azurite.connection_string(account))


class ScaledClock:
    """A clock on which each real second counts as 1 / scale seconds, like the emulated regions' jobs."""

    def __init__(self, scale: float) -> None:
        self._scale = scale
        self._origin = datetime.now(UTC)
        self._started = time.monotonic()

    def now(self) -> datetime:
        return self._origin + timedelta(seconds=(time.monotonic() - self._started) / self._scale)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds * self._scale)


class ScaledWaits(SystemClock):
    """The real time (manifests, leases and recovery points keep true timestamps), but each blocking wait
    is `scale` times as long: the export or prediction job it waits for is that much shorter here."""

    def __init__(self, scale: float) -> None:
        self._scale = scale

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds * self._scale)


def _storage_connection(azurite: Azurite, account: str) -> str:
    return (
        "DefaultEndpointsProtocol=http;"
        f"AccountName={account};AccountKey={DEV_ACCOUNT_KEY};"
        f"BlobEndpoint=http://127.0.0.1:{azurite.blob_port}/{account};"
        f"QueueEndpoint=http://127.0.0.1:{azurite.queue_port}/{account};"
    )


@contextmanager
def started_services(ports: DemoPorts | None, time_scale: float, say: Callable[[str], None]
                     ) -> Iterator[DemoEnvironment]:
    """Start Azurite and both regions; stop each one this started when the block ends, however it ends."""
    with ExitStack() as stack:
        if ports is None:
            azurite = Azurite()
            regions: dict[str, dict[str, Any]] = {"primary": {}, "secondary": {}}
        else:
            azurite = Azurite(blob_port=ports.blob, queue_port=ports.queue)
            regions = {"primary": {"port": ports.primary, "control_port": ports.primary_control},
                       "secondary": {"port": ports.secondary, "control_port": ports.secondary_control}}
        stack.callback(azurite.stop)
        azurite.start()
        say(f"Azurite      blob {azurite.blob_url()}  queue http://127.0.0.1:{azurite.queue_port}  "
            "(accounts devstoreaccount1, primarydocs, secondarydocs)")
        # The primary keeps its state on disk so that, when the failover scene stops and restarts it,
        # it comes back as a region does after an outage: with its projects and deployments.
        state_dir = Path(tempfile.mkdtemp(prefix="demo-primary-state-"))
        stack.callback(shutil.rmtree, state_dir, True)
        primary = EmulatorRegion(azurite.connection_string("primarydocs"), region="eastus", key=PRIMARY_KEY,
                                 time_scale=time_scale, state_dir=state_dir, **regions["primary"])
        stack.callback(primary.stop)
        primary.start()
        say(f"primary      {primary.endpoint}  control {primary.control_url}  "
            "(eastus, documents in primarydocs)")
        secondary = EmulatorRegion(azurite.connection_string("secondarydocs"), region="westus2",
                                   key=SECONDARY_KEY, time_scale=time_scale, **regions["secondary"])
        stack.callback(secondary.stop)
        secondary.start()
        say(f"secondary    {secondary.endpoint}  control {secondary.control_url}  "
            "(westus2, documents in secondarydocs)")
        yield DemoEnvironment(azurite, primary, secondary)


def seed_primary(env: DemoEnvironment, project: SampleProject, say: Callable[[str], None]) -> None:
    """Documents, labels, a trained model and a deployment on the primary, as a customer would have them."""
    upload_documents(env.documents("primarydocs").get_container_client(project.container), project)
    say(f"uploaded {len(project.documents)} documents to container {project.container!r} (primarydocs)")
    client = AuthoringClient(env.primary.endpoint, KeyAuth(env.primary.key))
    poll = max(0.02, 2.0 * env.time_scale)
    client.wait(client.start_import(project.name, to_bytes(project.export)), poll_interval=poll
                ).raise_for_failure()
    categories = project.export["assets"].get("entities") or project.export["assets"].get("classes") or []
    say(f"imported project {project.name!r} ({project.kind}, {len(categories)} categories)")
    offered = [str(v["trainingConfigVersion"]) for v in client.training_config_versions(project.kind)]
    config = "2022-05-01" if "2022-05-01" in offered else sorted(offered)[-1]
    training = client.start_training(project.name, model_label=DEMO_MODEL, training_config_version=config,
                                     evaluation_options={"kind": "manual"})
    client.wait(training, poll_interval=poll).raise_for_failure()
    say(f"trained model {DEMO_MODEL!r} (training config {config})")
    client.wait(client.start_deployment(project.name, DEMO_DEPLOYMENT, trained_model_label=DEMO_MODEL),
                poll_interval=poll).raise_for_failure()
    say(f"deployed {DEMO_DEPLOYMENT!r} -> {DEMO_MODEL!r}")


def seed_conversations(env: DemoEnvironment, say: Callable[[str], None]) -> None:
    """A CLU project and an orchestration routing to it, trained (standard mode) and deployed side by
    side: an orchestration's training reads its CLU project's utterances, not its deployment."""
    client = AuthoringClient(env.primary.endpoint, KeyAuth(env.primary.key))
    poll = max(0.02, 2.0 * env.time_scale)
    bodies = (clu_project(DEMO_CLU), orchestration_project(DEMO_ORCHESTRATION, clu_project_name=DEMO_CLU,
                                                           clu_deployment=DEMO_DEPLOYMENT))
    for body in bodies:
        client.wait(client.start_import(body["metadata"]["projectName"], to_bytes(body),
                                        kind=body["metadata"]["projectKind"]), poll_interval=poll
                    ).raise_for_failure()
    trainings = []
    for body in bodies:
        kind = body["metadata"]["projectKind"]
        offered = sorted(str(v["trainingConfigVersion"]) for v in client.training_config_versions(kind))
        trainings.append(client.start_training(
            body["metadata"]["projectName"], model_label=DEMO_MODEL, training_config_version=offered[-1],
            training_mode="standard", evaluation_options={"kind": "manual"}))
    deployments = []
    for body, training in zip(bodies, trainings, strict=True):
        client.wait(training, poll_interval=poll).raise_for_failure()
        deployments.append(client.start_deployment(body["metadata"]["projectName"], DEMO_DEPLOYMENT,
                                                   trained_model_label=DEMO_MODEL))
    for body, deployment in zip(bodies, deployments, strict=True):
        client.wait(deployment, poll_interval=poll).raise_for_failure()
        what = "CLU" if body["metadata"]["projectKind"] == "Conversation" else "orchestration workflow"
        say(f"imported {body['metadata']['projectName']!r} ({what}, {len(body['assets']['utterances'])} "
            f"utterances), trained {DEMO_MODEL!r} (standard mode), deployed {DEMO_DEPLOYMENT!r}")


def compare_conversations(env: DemoEnvironment, project: str, utterances: Sequence[str]
                          ) -> list[tuple[str, Prediction, Prediction]]:
    """What each region's deployment of a conversation project answers for the same utterances."""
    answers = []
    for region in (env.primary, env.secondary):
        client = RuntimeClient(region.endpoint, KeyAuth(region.key))
        answers.append([conversation_prediction(client.analyze_conversation(
            project, DEMO_DEPLOYMENT, SampleDocument(str(index), text, "en-us")))
            for index, text in enumerate(utterances)])
    primary, secondary = answers
    return list(zip(utterances, primary, secondary, strict=True))


def scaled_engine(settings: Settings, time_scale: float) -> ReplicationEngine:
    """The product's engine, its waits shrunk by the emulated regions' time scale.

    Delays the engine hands the step queue (poll intervals, Retry-After) are scaled, and so are the
    blocking waits of one call (an export's polls in a drift check, a promotion or a failback); the
    request budget (10 POST / 100 GET per minute per resource) runs on the regions' faster clock, so its
    window matches their throttling window instead of starving the quicker polls.
    """
    connection = settings.values.get(HOST_STORAGE_CONNECTION, "")
    scheduler = StorageQueueScheduler(step_queue_client(connection, QUEUE_NAME), delay_scale=time_scale)
    budget = InMemoryRequestBudget(ScaledClock(time_scale))
    return ReplicationEngine.from_settings(settings, clock=ScaledWaits(time_scale), scheduler=scheduler,
                                           budget=budget)


def scaled_runner(settings: Settings, engine: ReplicationEngine) -> LocalRunner:
    """The CLI's local runner, except that a failed slice is retried at once, not after host.json's minute."""
    return default_runner(settings, engine, queue_settings=QueueHostSettings(visibility_timeout=timedelta(0)))


def compare_predictions(env: DemoEnvironment, project: SampleProject, locations: Sequence[str]
                        ) -> list[tuple[str, Prediction, Prediction]]:
    """What each region's deployment predicts for the same documents (one job per region)."""
    documents = [SampleDocument(location, project.documents[location], "en") for location in locations]
    results = []
    for region in (env.primary, env.secondary):
        client = RuntimeClient(region.endpoint, KeyAuth(region.key))
        job = client.submit(project.kind, project.name, DEMO_DEPLOYMENT, documents)
        deadline = time.monotonic() + 60
        body = client.get(job)
        while not job_finished(body):
            if time.monotonic() > deadline:
                raise TimeoutError(f"prediction job on {region.region} did not finish")
            time.sleep(max(0.02, 2.0 * env.time_scale))
            body = client.get(job)
        results.append(predictions(body))
    primary, secondary = results
    return [(location, primary.get(location, ()), secondary.get(location, ())) for location in locations]


def failover_scene_hook(env: DemoEnvironment, engine: ReplicationEngine, project: SampleProject,
                        out: IO[str]) -> int:
    """The demo's last scene: the primary region goes down, callers fail over, then fail back.

    Called after the replica was shown in sync and answering like the primary, with every service still
    up; `project` is deployed as DEMO_DEPLOYMENT in both regions, and the primary keeps its state on
    disk, so it comes back from the restart with its deployment. Returns the errors callers saw.
    """
    heading(out, "Failover: the primary region goes down, callers keep getting answers")

    def say(text: str) -> None:
        print(f"   {text}", file=out, flush=True)

    documents = [project.documents[location] for location in _sample_locations(project)]
    report = failover_scene(env.primary, env.secondary, project_name=project.name,
                            deployment_name=DEMO_DEPLOYMENT, documents=documents, say=say)
    return report.errors


def run_demo(env: DemoEnvironment, out: IO[str], *, project: SampleProject | None = None) -> int:
    """The demo's scenes over services that are already running."""
    project = project or ner_project(DEMO_PROJECT)

    def say(text: str) -> None:
        print(f"   {text}", file=out, flush=True)

    heading(out, f"Seeding the primary with {project.name!r}, a generated custom NER project")
    # The conversation projects are seeded meanwhile (their lines wait for their own heading).
    conversation_lines: list[str] = []
    with ThreadPoolExecutor(max_workers=1) as pool:
        conversations = pool.submit(seed_conversations, env, conversation_lines.append)
        seed_primary(env, project, say)
        conversations.result()
    heading(out, f"... and {DEMO_CLU!r} (CLU) and {DEMO_ORCHESTRATION!r}, an orchestration routing to it")
    for line in conversation_lines:
        say(line)

    settings = env.settings()
    engine = scaled_engine(settings, env.time_scale)
    runner = scaled_runner(settings, engine)
    heading(out, "Drift report: the secondary has never been replicated")
    drift_command(engine, as_json=False, out=out)

    heading(out, "Replicating: export -> snapshot -> documents -> import -> train -> deploy -> verify")
    outcome = replicate_command(engine, runner, out=out, timeout=300, max_idle_sleep=0.2)
    if outcome != EXIT_OK:
        print(f"Replication did not finish cleanly (exit code {outcome}).", file=out)
        return outcome

    heading(out, "Drift report after replication")
    after = engine.drift_report()
    print(after.to_text(), file=out)

    heading(out, "Predictions: the same documents sent to both regions")
    sample = _sample_locations(project)
    compared = compare_predictions(env, project, sample)
    matching = 0
    for location, on_primary, on_secondary in compared:
        same = on_primary == on_secondary
        matching += same
        text = project.documents[location]
        shown = ", ".join(f"{entry[0]}={_span(text, entry)!r}" for entry in on_primary[:3])
        say(f"{location}{_traits(text)}: {len(on_primary)} entities on the primary, {len(on_secondary)} on "
            f"the secondary, {'identical' if same else 'DIFFERENT'} (e.g. {shown})")
    print(f"Predictions match on {matching} of {len(compared)} documents.", file=out)

    heading(out, "Conversations: the same utterances sent to both regions")
    alike = asked = 0
    for name in (DEMO_CLU, DEMO_ORCHESTRATION):
        for text, on_primary, on_secondary in compare_conversations(env, name, DEMO_UTTERANCES):
            same = on_primary == on_secondary
            alike += same
            asked += 1
            say(f"{name}: {text!r} -> {_answer(on_primary)}: {'identical' if same else 'DIFFERENT'}")
    print(f"Conversation answers match on {alike} of {asked} utterances.", file=out)

    failover_errors = failover_scene_hook(env, engine, project, out)

    if after.in_sync and matching == len(compared) and alike == asked and failover_errors == 0:
        print("\nDemo finished: the secondary is in sync and answers exactly like the primary.", file=out)
        return EXIT_OK
    print("\nDemo finished, but the replica is not in sync or answers differently (see above).", file=out)
    return 1


def _sample_locations(project: SampleProject) -> list[str]:
    """A few documents, preferring ones with emoji or CRLF, where offset modes differ."""
    tricky = [location for location, text in project.documents.items()
              if "\r\n" in text or any(ord(character) > 0xFFFF for character in text)]
    plain = [location for location in project.documents if location not in tricky]
    return (tricky[:2] + plain)[:PREDICTION_SAMPLE]


def _traits(text: str) -> str:
    """What makes a document's offsets differ between UTF-16, code points and graphemes."""
    checks = (
        ("CRLF", "\r\n" in text),
        ("emoji", any(ord(character) > 0xFFFF for character in text)),
        ("non-ASCII", any(0x7F < ord(character) <= 0xFFFF for character in text)),
    )
    traits = [name for name, present in checks if present]
    return f" ({', '.join(traits)})" if traits else ""


def _answer(prediction: Prediction) -> str:
    """A conversation prediction in a few words: the intent, then its entities or its routing target."""
    parts = dict((str(part[0]), str(part[1])) for part in prediction if part[0] != "entity")
    entities = [str(part[1]) for part in prediction if part[0] == "entity"]
    if "target" in parts:
        return f"intent {parts['intent']} routed to {parts['target']}"
    return f"intent {parts.get('intent')}" + (f", entities {', '.join(entities)}" if entities else "")


def _span(text: str, entity: tuple[Any, ...]) -> str:
    _, offset, length = entity
    return text[int(offset):int(offset) + int(length)]


def heading(out: IO[str], title: str) -> None:
    print(f"\n== {title}", file=out, flush=True)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="./scripts/demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--free-ports", action="store_true",
                        help="pick free ports instead of those in local.settings.json.example")
    parser.add_argument("--time-scale", type=float, default=DEMO_TIME_SCALE,
                        help=f"emulated job durations times this (default {DEMO_TIME_SCALE})")
    parser.add_argument("--keep-running", action="store_true",
                        help="leave the services up after the demo until Ctrl-C (try the CLI, func start)")
    parser.add_argument("--settings-file", type=Path, default=DEMO_SETTINGS_FILE, metavar="FILE",
                        help=f"where to write the settings the demo used (default {DEMO_SETTINGS_FILE})")
    return parser.parse_args(argv)


def write_settings_file(env: DemoEnvironment, path: Path) -> Path:
    """The settings the demo's services answer to, as a local.settings.json the CLI and `func start` read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"IsEncrypted": False, "Values": env.settings_values()}
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path


def keep_running(env: DemoEnvironment, settings_file: Path, out: IO[str]) -> None:
    """Leave the services up for the CLI or `func start` until Ctrl-C."""
    print(f"\nServices left running; their settings are in {settings_file}. In another terminal:\n"
          f"   .venv/bin/python -m shared --settings {settings_file} drift\n"
          f"   .venv/bin/python -m shared --settings {settings_file} status --html status.html\n"
          "Emulator control ports (faults, outages: see docs/reference/emulator.md, \"Control and "
          f"fault-injection API\"): primary {env.primary.control_url}, "
          f"secondary {env.secondary.control_url}\n"
          "Ctrl-C stops everything.", file=out, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


def _stop_on_sigterm() -> Any:
    """Make SIGTERM unwind like Ctrl-C, so `kill <pid>` also stops every service the demo started."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    return signal.signal(signal.SIGTERM, interrupt)


def main(argv: Sequence[str] | None = None, out: IO[str] | None = None) -> int:
    out = out or sys.stdout
    args = parse_args(argv)
    started = time.monotonic()
    ports: DemoPorts | None = None
    if not args.free_ports:
        ports = DemoPorts()
        if not ports.all_free():
            print("note: the ports of local.settings.json.example are taken; using free ports", file=out)
            ports = None
    previous = _stop_on_sigterm()
    try:
        heading(out, "Starting Azurite and two emulated Language regions on 127.0.0.1")
        def say(text: str) -> None:
            print(f"   {text}", file=out, flush=True)

        with started_services(ports, args.time_scale, say) as env:
            settings_file = write_settings_file(env, args.settings_file)
            say(f"settings     {settings_file}  (python -m shared --settings {settings_file} ...)")
            say(f"started in {time.monotonic() - started:.1f} s")
            scenes = time.monotonic()
            outcome = run_demo(env, out)
            say(f"demo ran in {time.monotonic() - scenes:.1f} s")
            if args.keep_running:
                keep_running(env, settings_file, out)
            heading(out, "Stopping everything the demo started")
            stopping = time.monotonic()
        say(f"stopped in {time.monotonic() - stopping:.1f} s; {time.monotonic() - started:.1f} s in all")
    except KeyboardInterrupt:
        print("\nInterrupted: everything the demo started has been stopped.", file=out)
        return EXIT_INTERRUPTED
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return outcome


if __name__ == "__main__":
    sys.exit(main())
