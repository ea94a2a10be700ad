"""The conversation projects of one emulated resource: the text resource's jobs, models and deployments,
with CLU and orchestration data, validation and training.

Everything about jobs (their timing, settling, cancellation, retention), trained models,
deployments, swaps, snapshots and expiry is inherited from `LanguageResource`, so both authoring
surfaces behave alike; this class replaces only what the data shapes change: project options
(no storage container), :import and :export files, :train options (`trainingMode`) and training
itself. Conversation projects live apart from text projects (their own state and state file).
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from emulator.conversations import learner
from emulator.conversations.assets import (
    CONVERSATION,
    ORCHESTRATION,
    TRAINING_MODES,
    exported_project,
    project_options,
    require_project_name,
    with_defaults,
)
from emulator.errors import ServiceError
from emulator.jobs import Job
from emulator.resource import LanguageResource
from emulator.state import Project
from emulator.validation import invalid, require_object


class ConversationResource(LanguageResource):
    # -- projects (LanguageResource's create and update; these hooks carry the shapes) --------------
    REQUIRED_PROJECT_PROPERTIES = ("language",)   # no storage container

    def _read_project_options(self, name: str, body: Any) -> tuple[str | None, dict[str, Any]]:
        require_project_name(name)
        return project_options(body)

    def _check_project_update(self, existing: Project, metadata: dict[str, Any]) -> None:
        """No storage container: any update of the options is taken."""

    # -- import and export (the jobs are LanguageResource's; these hooks carry the shapes) --------------
    def _read_import(self, name: str, body: Any) -> tuple[str, dict[str, Any], dict[str, Any] | None]:
        require_project_name(name)
        return exported_project(body)

    def _check_import_now(self, metadata: dict[str, Any]) -> None:
        """No storage container: nothing to check before the job."""

    def _stored_metadata(self, metadata: dict[str, Any]) -> dict[str, Any]:
        return with_defaults(metadata)

    def _export_file(
        self, kind: str, metadata: dict[str, Any], assets: dict[str, Any] | None, api_version: str
    ) -> dict[str, Any]:
        return {
            # The file version follows the api-version that exported it (inferred).
            "projectFileVersion": api_version,
            "stringIndexType": "Utf16CodeUnit",
            "metadata": copy.deepcopy(metadata),
            "assets": copy.deepcopy(assets) if assets is not None else _empty_assets(kind),
        }

    # -- training --------------------------------------------------------------------------------
    def train(self, name: str, body: Any, api_version: str) -> Job:
        options = require_object(body)
        mode = options.get("trainingMode")
        if mode is None:
            raise invalid("The property 'trainingMode' is required.", "trainingMode")
        if mode not in TRAINING_MODES:
            raise invalid(
                f"The trainingMode '{mode}' is invalid: use one of {', '.join(TRAINING_MODES)}.",
                "trainingMode",
            )
        # trainingConfigVersion is optional here: "latest" by default (spec).
        with self.lock:
            job = super().train(
                name,
                {**options, "trainingConfigVersion": options.get("trainingConfigVersion") or "latest"},
                api_version,
            )
            job.params["trainingMode"] = mode
            self._save()
            return job

    def training_result(self, job: Job, now: datetime) -> dict[str, Any]:
        result = super().training_result(job, now)
        return {**result, "trainingMode": job.params.get("trainingMode", "standard")}

    def _connected_examples(self, project: Project) -> list[learner.Example]:
        """The utterances of the CLU projects an orchestration routes to, labelled with the routing intent."""
        examples: list[learner.Example] = []
        for intent in (project.assets or {}).get("intents") or []:
            target = intent.get("orchestration") or {}
            if target.get("targetProjectKind") != CONVERSATION:
                continue
            connected_name = target["conversationOrchestration"]["projectName"]
            connected = self.state.projects.get(connected_name)
            if connected is None or connected.kind != CONVERSATION:
                raise ServiceError(
                    "InvalidRequest",
                    f"Training failed: the intent '{intent['category']}' routes to the conversation project "
                    f"'{connected_name}', which does not exist in this resource.",
                    target="assets.intents",
                )
            language = str(connected.metadata.get("language", "en"))
            examples += [
                learner.Example(e.text, intent["category"], e.language, "Train")
                for e in learner.examples_of(connected.assets or {}, language)
            ]
        return examples

    def _apply_training(self, job: Job, moment: datetime) -> None:
        project = self._project(job.project)
        assets = project.assets or {}
        connected = self._connected_examples(project) if project.kind == ORCHESTRATION else []
        if not assets.get("utterances") and not connected:
            raise ServiceError(
                "InvalidRequest",
                "The project has no utterances to train on.",
                inner_code="MissingInputDocuments",
            )
        try:
            result = learner.train(
                project.kind, assets, project.metadata, job.params["evaluationOptions"], connected
            )
        except learner.TrainingError as error:
            raise ServiceError("InvalidRequest", f"Training failed: {error}.") from error
        self._keep_trained_model(job, project, assets, moment, result.model, result.evaluation_summary,
                                 result.utterance_results)


def _empty_assets(kind: str) -> dict[str, Any]:
    if kind == ORCHESTRATION:
        return {"projectKind": kind, "intents": [], "utterances": []}
    return {"projectKind": kind, "intents": [], "entities": [], "utterances": []}
