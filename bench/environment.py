"""The stand-in for Azure every benchmark runs against: Azurite and two emulated Language regions.

Also the replicator as the benchmarks drive it: the product's engine over Azurite's step queue and the
local runner, with every wait the engine takes (poll intervals, reconcile back-off) and the request
budget's minute windows shrunk by the regions' time scale, so a run has the same shape (the same
number of polls per job) as in Azure, only shorter. Emulator timestamps and the engine's clock are
both this machine's wall clock, so job times and step times can be compared directly.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from azure.storage.blob import BlobServiceClient

from localdev.demo import ScaledClock
from localdev.services import Azurite, EmulatorRegion
from shared.clock import parse_iso
from shared.engine import EngineOptions, ReplicationEngine
from shared.language.authoring import AuthoringClient
from shared.language.credentials import KeyAuth
from shared.replication.steps import StepOptions
from shared.runs.scheduler.local_runner import LocalRunner, QueueHostSettings
from shared.runs.scheduler.messages import POISON_QUEUE_NAME, QUEUE_NAME, StepMessage
from shared.runs.scheduler.storage_queue import StorageQueueScheduler, step_queue_client
from shared.settings import Settings, settings_from_values
from shared.storage.json_blobs import STATE_CONTAINER
from shared.storage.request_budget import BlobRequestBudget

PRIMARY_REGION = "eastus"
TARGET_DOCUMENTS_ACCOUNT = "secondarydocs"
SECONDARY_REGION = "westus2"


@dataclass
class Environment:
    """Azurite plus a primary and a secondary region, all on 127.0.0.1, at one time scale."""

    azurite: Azurite
    primary: EmulatorRegion
    secondary: EmulatorRegion
    # The target's documents account on an Azurite process of its own (see started_environment).
    target_documents: Azurite | None = None

    @property
    def time_scale(self) -> float:
        return self.primary.time_scale

    @property
    def regions(self) -> tuple[EmulatorRegion, EmulatorRegion]:
        return self.primary, self.secondary

    def connection_string(self, account: str) -> str:
        """The storage account's connection string, wherever the account is served."""
        return _server_of(account, self.azurite, self.target_documents).connection_string(account)

    def settings_values(self, replicated_projects: str = "*", **extra: str) -> dict[str, str]:
        host_storage = self.azurite.connection_string("devstoreaccount1")
        return {
            "AzureWebJobsStorage": host_storage,
            "PRIMARY_LANGUAGE_ENDPOINT": self.primary.endpoint,
            "PRIMARY_LANGUAGE_KEY": self.primary.key,
            "PRIMARY_DOCUMENTS_STORAGE": self.connection_string("primarydocs"),
            "SECONDARY_LANGUAGE_ENDPOINT": self.secondary.endpoint,
            "SECONDARY_LANGUAGE_KEY": self.secondary.key,
            "SECONDARY_DOCUMENTS_STORAGE": self.connection_string(TARGET_DOCUMENTS_ACCOUNT),
            "SECONDARY_REGION": self.secondary.region,
            "DOCUMENTS_SHARED": "false",
            "REPLICATED_PROJECTS": replicated_projects,
            "SNAPSHOT_STORAGE": host_storage,
            "DRIFT_SCHEDULE": "0 0 2 * * *",
            **extra,
        }

    def settings(self, replicated_projects: str = "*", **extra: str) -> Settings:
        return settings_from_values(self.settings_values(replicated_projects, **extra))

    def documents(self, account: str) -> BlobServiceClient:
        return BlobServiceClient.from_connection_string(self.connection_string(account))

    def authoring(self, region: EmulatorRegion) -> AuthoringClient:
        return AuthoringClient(region.endpoint, KeyAuth(region.key))

    def reset(self, *, restart_storage: bool = False) -> None:
        """Empty storage and both regions (state, jobs, request counters).

        `restart_storage`: fresh Azurite processes instead of deleting containers. After tens of thousands
        of blobs, deleting them leaves Azurite's collector, within ten minutes, removing their extents one
        at a time, each removal a scan of every extent: requests then wait for minutes.
        """
        for azurite in (self.azurite, self.target_documents):
            if azurite is None:
                continue
            if restart_storage:
                azurite.restart()
            else:
                azurite.clear()
        for region in self.regions:
            region.reset()


@contextmanager
def started_environment(time_scale: float, *, large_projects: bool = False) -> Iterator[Environment]:
    """Start Azurite and both regions; stop every process this started when the block ends.

    `large_projects`: for figure 3's 100,000-document projects. Azurite finds blobs by name
    (localdev/azurite_name_lookups.js: its own lookup scans every blob of the account, so each upload
    slows as the account fills), and the target's documents account (the secondary region's linked
    storage and SECONDARY_DOCUMENTS_STORAGE) is on a second Azurite process, as in Azure, where the two
    accounts are separate services: the two accounts fill side by side, one per core.
    """
    with ExitStack() as stack:
        azurite = Azurite(name_lookups=large_projects)
        stack.callback(azurite.stop)
        azurite.start()
        target_documents: Azurite | None = None
        if large_projects:
            target_documents = Azurite(name_lookups=True)
            stack.callback(target_documents.stop)
            target_documents.start()
        regions = []
        for name, account in ((PRIMARY_REGION, "primarydocs"), (SECONDARY_REGION, TARGET_DOCUMENTS_ACCOUNT)):
            storage = _server_of(account, azurite, target_documents).connection_string(account)
            region = EmulatorRegion(storage, region=name, time_scale=time_scale)
            stack.callback(region.stop)
            region.start()
            regions.append(region)
        yield Environment(azurite, regions[0], regions[1], target_documents)


def _server_of(account: str, azurite: Azurite, target_documents: Azurite | None) -> Azurite:
    return target_documents if account == TARGET_DOCUMENTS_ACCOUNT and target_documents else azurite


@contextmanager
def extra_regions(env: Environment, names: dict[str, str]) -> Iterator[dict[str, EmulatorRegion]]:
    """More emulated resources beside the environment's two (target name -> region), on the secondary's
    document account; stopped when the block ends."""
    with ExitStack() as stack:
        started: dict[str, EmulatorRegion] = {}
        for name, region_name in names.items():
            region = EmulatorRegion(env.connection_string(TARGET_DOCUMENTS_ACCOUNT), region=region_name,
                                    time_scale=env.time_scale)
            stack.callback(region.stop)
            region.start()
            started[name] = region
        yield started


# -- the replicator as the benchmarks run it -------------------------------------------------------------


def scaled_step_options(time_scale: float) -> StepOptions:
    """The engine's default waits, times the time scale."""
    defaults = StepOptions()
    return StepOptions(poll_initial=defaults.poll_initial * time_scale,
                       poll_max=defaults.poll_max * time_scale,
                       reconcile_retry=defaults.reconcile_retry * time_scale)


def engine_for(settings: Settings, time_scale: float) -> ReplicationEngine:
    """The product's engine with the product's step queue and blob request budget, waits scaled."""
    host_storage = settings.values["AzureWebJobsStorage"]
    scheduler = StorageQueueScheduler(step_queue_client(host_storage, QUEUE_NAME))
    state = BlobServiceClient.from_connection_string(host_storage).get_container_client(STATE_CONTAINER)
    budget = BlobRequestBudget(state, ScaledClock(time_scale))
    options = EngineOptions(steps=scaled_step_options(time_scale))
    return ReplicationEngine.from_settings(settings, scheduler=scheduler, budget=budget, options=options)


def runner_for(settings: Settings, engine: ReplicationEngine,
               advance: Callable[[StepMessage], None] | None = None) -> LocalRunner:
    """The local runner on the host's step queue; a failed slice comes back at once (host.json: a minute).
    `advance`: what runs each slice (default: the engine's own), e.g. timed."""
    host_storage = settings.values["AzureWebJobsStorage"]
    return LocalRunner(step_queue_client(host_storage, QUEUE_NAME), step_queue_client(host_storage,
                       POISON_QUEUE_NAME), advance or engine.advance, engine.fail_poisoned,
                       settings=QueueHostSettings(visibility_timeout=timedelta(0)), idle_sleep=0.01)


# -- what the emulated regions report -----------------------------------------------------------------


def _control_get(region: EmulatorRegion, path: str) -> Any:
    with urllib.request.urlopen(f"{region.control_url}{path}", timeout=30) as response:
        return json.loads(response.read())


def request_counts(region: EmulatorRegion) -> dict[str, dict[str, int]]:
    """Requests the region received since its counters were last reset, by API and method."""
    body = _control_get(region, "/_emulator/requests")
    return {api: dict(body.get(api, {})) for api in ("authoring", "runtime")}


def reset_request_counts(*regions: EmulatorRegion) -> None:
    for region in regions:
        region.control("/_emulator/requests/reset")


def emulator_jobs(region: EmulatorRegion, api: str = "text") -> list[dict[str, Any]]:
    """Every authoring job the region knows of one API (text, or conversations): kind, created and
    finished times, configured duration."""
    return list(_control_get(region, f"/_emulator/jobs?api={api}")["value"])


def job_seconds(region: EmulatorRegion) -> dict[str, float]:
    """The region's configured job durations in service seconds (before the time scale)."""
    durations = json.loads(region.control("/_emulator/durations"))
    return {str(kind): float(value) for kind, value in durations.items()}


def job_times(job: dict[str, Any]) -> tuple[datetime, datetime | None]:
    created = parse_iso(str(job["createdDateTime"]))
    finished = job.get("finishedDateTime")
    return created, parse_iso(str(finished)) if finished else None


def combined_counts(*regions: EmulatorRegion) -> dict[str, dict[str, int]]:
    """Request counts of several regions added up, by API and method."""
    total: dict[str, dict[str, int]] = {"authoring": {}, "runtime": {}}
    for region in regions:
        for api, methods in request_counts(region).items():
            for method, count in methods.items():
                total[api][method] = total[api].get(method, 0) + count
    return total
