"""What failover needs of the engine: the facade (`shared.engine`) provides it; this package sits below."""

from __future__ import annotations

from typing import Protocol

from azure.storage.blob import BlobServiceClient

from shared.recovery.restore import RestoreHost
from shared.replication.promotion import PromotionStore
from shared.replication.run import ReplicationRun
from shared.runs.executor import RunExecutor
from shared.runs.manifest import ManifestStore
from shared.settings import Settings


class FailoverHost(RestoreHost, Protocol):
    """Restore's view of the engine (the same clients, stores, lock and clock), plus what promoting,
    failing back and drills add."""

    @property
    def settings(self) -> Settings: ...
    @property
    def manifests(self) -> ManifestStore: ...
    @property
    def executor(self) -> RunExecutor: ...
    @property
    def replication(self) -> ReplicationRun: ...
    @property
    def promotions(self) -> PromotionStore: ...
    @property
    def state_storage(self) -> BlobServiceClient: ...


__all__ = ["FailoverHost"]
