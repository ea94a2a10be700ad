"""What failover needs of the engine: the facade (`shared.engine`) provides it; this package sits below."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from azure.storage.blob import BlobServiceClient

from shared.clock import Clock
from shared.language.authoring import AuthoringClient
from shared.language.runtime import RuntimeClient
from shared.replication.promotion import PromotionStore
from shared.replication.run import ReplicationRun, TargetClients
from shared.replication.steps import StepOptions
from shared.replication.sync_record import SyncRecordStore
from shared.replication.training_budget import TrainingBudget
from shared.runs.executor import RunExecutor
from shared.runs.lock import RunLock
from shared.runs.manifest import ManifestStore
from shared.settings import Settings
from shared.storage.snapshots import SnapshotStore


class FailoverHost(Protocol):
    @property
    def settings(self) -> Settings: ...
    @property
    def primary(self) -> AuthoringClient: ...
    @property
    def primary_runtime(self) -> RuntimeClient: ...
    @property
    def primary_documents(self) -> BlobServiceClient: ...
    @property
    def targets(self) -> Mapping[str, TargetClients]: ...
    @property
    def snapshots(self) -> SnapshotStore: ...
    @property
    def trainings(self) -> TrainingBudget: ...
    @property
    def sync_records(self) -> SyncRecordStore: ...
    @property
    def manifests(self) -> ManifestStore: ...
    @property
    def lock(self) -> RunLock: ...
    @property
    def executor(self) -> RunExecutor: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def step_options(self) -> StepOptions: ...
    @property
    def replication(self) -> ReplicationRun: ...
    @property
    def promotions(self) -> PromotionStore: ...
    @property
    def state_storage(self) -> BlobServiceClient: ...


__all__ = ["FailoverHost"]
