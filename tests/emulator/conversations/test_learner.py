"""The deterministic CLU learner: components, composition settings, required components, intents."""

from __future__ import annotations

from typing import Any

import pytest

from emulator.conversations import learner
from emulator.conversations.learner import EntityMatch, compose


def entity(**fields: Any) -> dict[str, Any]:
    return {"category": "E", "compositionSetting": "combineComponents", "requiredComponents": [], **fields}


def match(start: int, end: int, component: str) -> EntityMatch:
    return EntityMatch("E", start, end, frozenset({component}))


OVERLAPPING = [match(0, 5, "list"), match(3, 9, "learned"), match(20, 24, "regex")]


@pytest.mark.parametrize(
    ("setting", "spans"),
    [
        ("combineComponents", [(0, 9), (20, 24)]),
        ("separateComponents", [(0, 5), (3, 9), (20, 24)]),
        ("requireExactOverlap", [(20, 24)]),
        ("returnLongestOverlap", [(3, 9), (20, 24)]),
    ],
)
def test_composition_settings(setting: str, spans: list[tuple[int, int]]) -> None:
    composed = compose(entity(compositionSetting=setting), OVERLAPPING)
    assert [(m.start, m.end) for m in composed] == spans


def test_exactly_overlapping_components_merge_under_require_exact_overlap() -> None:
    composed = compose(
        entity(compositionSetting="requireExactOverlap"), [match(0, 5, "list"), match(0, 5, "learned")]
    )
    assert [(m.start, m.end, m.components) for m in composed] == [(0, 5, frozenset({"list", "learned"}))]


def test_require_exact_overlap_needs_every_defined_component() -> None:
    defined = entity(
        compositionSetting="requireExactOverlap", learned=["paris"], list=[["PAR", ["paris", "lutetia"]]]
    )
    both = [match(0, 5, "list"), match(0, 5, "learned")]
    assert [(m.start, m.end) for m in compose(defined, both)] == [(0, 5)]
    assert (
        compose(defined, [match(0, 7, "list")]) == []
    )  # a list-only match: the learned component did not agree


def test_separate_components_answer_one_instance_per_component_even_on_one_span() -> None:
    composed = compose(
        entity(compositionSetting="separateComponents"), [match(0, 5, "list"), match(0, 5, "learned")]
    )
    assert sorted(m.components for m in composed) == sorted([frozenset({"learned"}), frozenset({"list"})])


def test_required_components_drop_spans_without_them() -> None:
    composed = compose(entity(requiredComponents=["learned"]), OVERLAPPING)
    assert [(m.start, m.end) for m in composed] == [(0, 9)]


def model_of(
    utterances: list[dict[str, Any]], entities: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    assets = {
        "projectKind": "Conversation",
        "intents": [{"category": u["intent"]} for u in utterances],
        "entities": entities or [],
        "utterances": utterances,
    }
    result = learner.train("Conversation", assets, {"language": "en"}, {"kind": "manual"})
    return result.model


def test_learned_spans_are_found_again_case_insensitively_as_whole_words() -> None:
    model = model_of(
        [
            {
                "text": "fly to Paris",
                "intent": "Book",
                "entities": [{"category": "City", "offset": 7, "length": 5}],
            }
        ],
        [{"category": "City"}],
    )
    found = learner.predict(model, "PARIS or parisian?")
    assert [(m.category, m.start, m.end) for m in found.entities] == [("City", 0, 5)]


def test_labels_are_utf16_offsets_even_after_astral_characters() -> None:
    text = "🛫 fly to Paris"  # the emoji is 2 UTF-16 units, 1 code point
    model = model_of(
        [{"text": text, "intent": "Book", "entities": [{"category": "City", "offset": 10, "length": 5}]}],
        [{"category": "City"}],
    )
    assert model["entities"][0]["learned"] == ["paris"]


def test_unknown_prebuilt_categories_never_match() -> None:
    model = model_of(
        [{"text": "call me", "intent": "Call"}],
        [{"category": "Who", "prebuilts": [{"category": "Person.Name"}]}],
    )
    assert learner.predict(model, "call John Smith").entities == ()


def test_intents_rank_by_similarity_and_an_unrelated_query_is_none() -> None:
    model = model_of(
        [
            {"text": "book a flight to rome", "intent": "Book"},
            {"text": "cancel my booking", "intent": "Cancel"},
        ]
    )
    top, ranked = learner.classify(model, "please book me a flight")
    assert top == "Book" and ranked[0][0] == "Book" and ranked[0][1] > ranked[1][1]
    assert learner.classify(model, "zebra quantum")[0] == "None"


def test_the_percentage_split_is_stable_and_roughly_the_asked_share() -> None:
    examples = [learner.Example(f"utterance number {i}", "A", "en", None) for i in range(400)]
    options = {"kind": "percentage", "trainingSplitPercentage": 80, "testingSplitPercentage": 20}
    chosen = [e.text for e in examples if learner.in_test_set(e, options)]
    assert chosen == [e.text for e in examples if learner.in_test_set(e, options)]
    assert 50 <= len(chosen) <= 110


def test_nothing_to_train_on_is_a_training_error() -> None:
    assets = {
        "projectKind": "Conversation",
        "intents": [],
        "utterances": [{"text": "x", "intent": "None", "dataset": "Test"}],
    }
    with pytest.raises(learner.TrainingError):
        learner.train("Conversation", assets, {"language": "en"}, {"kind": "manual"})
