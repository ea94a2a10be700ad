"""The project kinds we replicate, and everything that follows from a kind.

The only place that knows kinds: their spelling, which authoring and prediction routes serve them,
how their documents are labelled, whether their documents live in a blob container, and the longest
project name the service takes. Members are `str`s (the service's `projectKind`), so a manifest or an
export carries them as they are. Conversation projects (CLU, orchestration) have their own route
family (analyze-conversations) and label shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum, StrEnum


@dataclass(frozen=True)
class RouteFamily:
    """The authoring and prediction routes serving a family of project kinds."""

    authoring_path: str   # below the endpoint; projects live at {authoring_path}/projects
    runtime_path: str     # the prediction job route


ANALYZE_TEXT = RouteFamily("/language/authoring/analyze-text", "/language/analyze-text/jobs")
# Conversation projects: authoring beside analyze-text's; prediction is one synchronous POST, not a job.
ANALYZE_CONVERSATIONS = RouteFamily("/language/authoring/analyze-conversations",
                                    "/language/:analyze-conversations")
ROUTE_FAMILIES: tuple[RouteFamily, ...] = (ANALYZE_TEXT, ANALYZE_CONVERSATIONS)


class LabelShape(Enum):
    """How an export labels a document (the key in each `assets.documents` entry)."""

    SPANS = "entities"          # labelled character spans (entity recognition)
    SINGLE_CLASS = "class"      # one class per document
    MULTI_CLASS = "classes"     # any number of classes per document
    UTTERANCES = "utterances"   # conversations: `assets.utterances`, each with an intent and entity spans


@dataclass(frozen=True)
class Traits:
    display_name: str     # what a person reads (status page, CLI): "CLU", not "Conversation"
    routes: RouteFamily
    labels: LabelShape
    has_documents_container: bool = True   # documents live in a blob container (storageInputContainerName)
    max_name_length: int = 50
    # Task parameters every prediction job of the kind carries (beside project and deployment).
    runtime_parameters: Mapping[str, str] = field(default_factory=dict)


class ProjectKind(StrEnum):
    NER = "CustomEntityRecognition"
    SINGLE_LABEL = "CustomSingleLabelClassification"
    MULTI_LABEL = "CustomMultiLabelClassification"
    CONVERSATION = "Conversation"           # conversational language understanding (CLU)
    ORCHESTRATION = "Orchestration"         # orchestration workflow: intents routed to other projects

    @property
    def traits(self) -> Traits:
        return _TRAITS[self]

    @property
    def display_name(self) -> str:
        return self.traits.display_name

    @property
    def item_noun(self) -> str:
        """What one labelled item of the kind is called: a conversation project labels utterances."""
        return "utterance" if self.labels is LabelShape.UTTERANCES else "document"

    @property
    def labels(self) -> LabelShape:
        return self.traits.labels

    @property
    def routes(self) -> RouteFamily:
        return self.traits.routes

    @property
    def has_documents_container(self) -> bool:
        return self.traits.has_documents_container

    @property
    def max_name_length(self) -> int:
        return self.traits.max_name_length

    @property
    def runtime_parameters(self) -> Mapping[str, str]:
        return self.traits.runtime_parameters


_TRAITS: dict[ProjectKind, Traits] = {
    ProjectKind.NER: Traits("Custom NER", ANALYZE_TEXT, LabelShape.SPANS,
                            runtime_parameters={"stringIndexType": "UnicodeCodePoint"}),
    ProjectKind.SINGLE_LABEL: Traits("Single-label classification", ANALYZE_TEXT, LabelShape.SINGLE_CLASS),
    ProjectKind.MULTI_LABEL: Traits("Multi-label classification", ANALYZE_TEXT, LabelShape.MULTI_CLASS),
    # Utterances travel inside the export: no documents container. Names: the conversations spec's
    # projectName is longer than analyze-text's (checked against analyzeconversations-authoring.json).
    ProjectKind.CONVERSATION: Traits("CLU", ANALYZE_CONVERSATIONS, LabelShape.UTTERANCES,
                                     has_documents_container=False, max_name_length=100),
    ProjectKind.ORCHESTRATION: Traits("Orchestration", ANALYZE_CONVERSATIONS, LabelShape.UTTERANCES,
                                      has_documents_container=False, max_name_length=100),
}
_BY_LOWER = {kind.value.lower(): kind for kind in ProjectKind}

PROJECT_KINDS: tuple[ProjectKind, ...] = tuple(ProjectKind)


def project_kind(name: object) -> ProjectKind | None:
    """The kind a `projectKind` names (the service's case may vary), or None when we do not replicate it."""
    return _BY_LOWER.get(name.lower()) if isinstance(name, str) else None


def item_noun_of(name: object) -> str:
    """The item noun for a stored kind name; "document" when the name is none we know (an old blob)."""
    kind = project_kind(name)
    return kind.item_noun if kind is not None else "document"


def display_name_of(name: str) -> str:
    """What a person reads for a stored kind name; the name itself when it is none we know."""
    kind = project_kind(name)
    return kind.display_name if kind is not None else name


def count_items(name: object, count: int) -> str:
    """`count` items of a kind in words ("5 utterances"): the CLI, drill and status page share it."""
    return f"{count} {item_noun_of(name)}{'' if count == 1 else 's'}"


def kind_of(name: str) -> ProjectKind:
    """The kind of a project we already know we replicate (a manifest's, a snapshot's)."""
    kind = project_kind(name)
    if kind is None:
        raise ValueError(f"not a project kind this replicator handles: {name!r}")
    return kind


__all__ = ["ANALYZE_CONVERSATIONS", "ANALYZE_TEXT", "PROJECT_KINDS", "ROUTE_FAMILIES", "LabelShape",
           "ProjectKind", "RouteFamily", "Traits", "count_items", "display_name_of", "item_noun_of",
           "kind_of", "project_kind"]
