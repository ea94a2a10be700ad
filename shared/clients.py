"""The client factory: every SDK and REST client the engine needs, built from the settings.

Nothing is contacted while building. Credentials come from an injectable factory (tests inject one;
the deployed app uses azure-identity), for the Language resources and storage alike.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from azure.core.credentials import TokenCredential
from azure.storage.blob import BlobServiceClient

from shared.clock import Clock
from shared.language.authoring import AuthoringClient
from shared.language.credentials import CredentialFactory, RequestAuth, auth_for, default_credential_factory
from shared.language.request_budget import RequestBudget
from shared.language.runtime import RuntimeClient
from shared.replication.run import TargetClients
from shared.runs.scheduler.base import Scheduler
from shared.runs.scheduler.storage_queue import StorageQueueScheduler, step_queue_client_from_service
from shared.settings import HOST_STORAGE_CONNECTION, LanguageResource, Settings
from shared.storage.clients import (
    StorageCredentialFactory,
    blob_service_client,
    default_storage_credential_factory,
    documents_blob_service,
    queue_service_client,
)
from shared.storage.json_blobs import STATE_CONTAINER
from shared.storage.request_budget import BlobRequestBudget


@dataclass(frozen=True)
class EngineClients:
    primary: AuthoringClient
    primary_runtime: RuntimeClient
    primary_documents: BlobServiceClient
    targets: dict[str, TargetClients]
    state_storage: BlobServiceClient
    scheduler: Scheduler


def build_clients(settings: Settings, clock: Clock, *, credential: TokenCredential | None = None,
                  scheduler: Scheduler | None = None, budget: RequestBudget | None = None) -> EngineClients:
    """Build every client from the settings; nothing is contacted until used."""
    values = {**os.environ, **settings.values}
    if credential is None:
        language_credentials: CredentialFactory = default_credential_factory
        storage_credentials: StorageCredentialFactory = default_storage_credential_factory
    else:
        injected = credential
        language_credentials = lambda: injected  # noqa: E731
        storage_credentials = lambda spec: injected  # noqa: E731

    def auth(resource: LanguageResource) -> RequestAuth:
        return auth_for(resource, language_credentials, clock=clock)

    def blobs(value: str, setting: str) -> BlobServiceClient:
        return documents_blob_service(value, setting, storage_credentials)

    state_storage = blob_service_client(settings.snapshot_storage, values, storage_credentials,
                                        setting="SNAPSHOT_STORAGE")
    if budget is None:
        budget = BlobRequestBudget(state_storage.get_container_client(STATE_CONTAINER), clock)
    shared_budget = budget

    def authoring(resource: LanguageResource) -> AuthoringClient:
        return AuthoringClient(resource.endpoint, auth(resource), settings.api_version,
                               conversations_api_version=settings.conversations_api_version,
                               budget=shared_budget, budget_key=resource.budget_key, clock=clock)

    def runtime(resource: LanguageResource) -> RuntimeClient:
        return RuntimeClient(
            resource.endpoint, auth(resource), api_version=settings.api_version.runtime_version,
            conversations_api_version=settings.conversations_api_version.runtime_version)

    targets = {
        target.name: TargetClients(
            target.name, authoring(target.language), runtime(target.language),
            blobs(target.documents_storage, target.documents_storage_setting),
            target.documents_container_override)
        for target in settings.targets
    }
    if scheduler is None:
        queues = queue_service_client(HOST_STORAGE_CONNECTION, values, storage_credentials)
        scheduler = StorageQueueScheduler(step_queue_client_from_service(queues))
    return EngineClients(
        primary=authoring(settings.primary), primary_runtime=runtime(settings.primary),
        primary_documents=blobs(settings.primary_documents_storage, "PRIMARY_DOCUMENTS_STORAGE"),
        targets=targets, state_storage=state_storage, scheduler=scheduler)


__all__ = ["EngineClients", "build_clients"]
