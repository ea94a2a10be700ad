"""The project-kind registry: every kind we replicate, and what follows from it."""

from __future__ import annotations

from shared.language.project_kinds import (
    ANALYZE_CONVERSATIONS,
    ANALYZE_TEXT,
    PROJECT_KINDS,
    ROUTE_FAMILIES,
    LabelShape,
    ProjectKind,
    count_items,
    display_name_of,
    item_noun_of,
    project_kind,
)

TEXT_KINDS = (ProjectKind.NER, ProjectKind.SINGLE_LABEL, ProjectKind.MULTI_LABEL)
CONVERSATION_KINDS = (ProjectKind.CONVERSATION, ProjectKind.ORCHESTRATION)


def test_every_kind_says_what_follows_from_it() -> None:
    assert {kind.labels for kind in PROJECT_KINDS} == set(LabelShape)
    assert {kind.routes for kind in PROJECT_KINDS} == set(ROUTE_FAMILIES)
    for kind in TEXT_KINDS:
        assert kind.routes is ANALYZE_TEXT
        assert kind.has_documents_container
        assert kind.max_name_length == 50
    for kind in CONVERSATION_KINDS:
        # Utterances travel inside the export; there is no container to copy.
        assert kind.routes is ANALYZE_CONVERSATIONS
        assert kind.labels is LabelShape.UTTERANCES
        assert not kind.has_documents_container
        assert kind.max_name_length > 50
    # Entity offsets are asked for in code points, the unit the export's offsets use.
    assert ProjectKind.NER.runtime_parameters == {"stringIndexType": "UnicodeCodePoint"}
    assert ProjectKind.SINGLE_LABEL.runtime_parameters == {}


def test_a_kind_is_found_whatever_the_case_and_others_are_not_ours() -> None:
    assert project_kind("customentityrecognition") is ProjectKind.NER
    assert project_kind("conversation") is ProjectKind.CONVERSATION
    assert project_kind("CustomQuestionAnswering") is None
    assert project_kind(None) is None
    assert ProjectKind.MULTI_LABEL == "CustomMultiLabelClassification"   # stored and sent as it is


def test_people_read_a_kind_by_its_display_name_and_its_items_by_their_own_word() -> None:
    assert [kind.display_name for kind in PROJECT_KINDS] == [
        "Custom NER", "Single-label classification", "Multi-label classification", "CLU", "Orchestration"]
    assert display_name_of("conversation") == "CLU"
    assert display_name_of("CustomQuestionAnswering") == "CustomQuestionAnswering"   # not ours: as stored
    assert {kind.item_noun for kind in CONVERSATION_KINDS} == {"utterance"}
    assert {kind.item_noun for kind in TEXT_KINDS} == {"document"}
    assert item_noun_of("") == "document"   # a snapshot stored before kinds were recorded
    assert count_items("Conversation", 5) == "5 utterances"
    assert count_items("CustomEntityRecognition", 1) == "1 document"
