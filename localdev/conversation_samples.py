"""Deterministic conversation sample projects in the analyze-conversations export format.

`clu_project` generates a CLU (Conversation) project of coffee-shop orders with every entity
component the emulator's learner honours: learned labels, a list component with synonyms, the
prebuilt `Quantity.Number` and `DateTime` components and a regex component. `orchestration_project`
routes one intent to that CLU project, one to a question answering project (reported as not
replicated by the product) and leaves `None` unlinked. Seeded choices make the same arguments
give the same bytes; some utterances carry an astral-plane emoji so UTF-16 offsets differ from
code points. Labels are UTF-16 code units, as in a real export.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

PROJECT_FILE_VERSION = "2023-04-01"
STRING_INDEX_TYPE = "Utf16CodeUnit"
CLU_INTENTS = ("OrderDrink", "CancelOrder", "StoreHours", "None")
DRINKS = {
    "Latte": ("latte", "caffe latte"),
    "Espresso": ("espresso", "short black"),
    "Cappuccino": ("cappuccino", "capp"),
    "FlatWhite": ("flat white",),
}
SIZES = {"Small": ("small", "short"), "Medium": ("medium", "regular"), "Large": ("large", "venti")}
QUANTITIES = ("one", "two", "three", "2", "4")
TIMES = ("8am", "9:30 am", "noon", "5pm")


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class _Utterance:
    """Builds an utterance piece by piece, recording entity labels in UTF-16 code units."""

    def __init__(self) -> None:
        self.text = ""
        self.labels: list[dict[str, Any]] = []

    def add(self, piece: str, category: str | None = None) -> _Utterance:
        if category is not None:
            self.labels.append({"category": category, "offset": _utf16(self.text), "length": _utf16(piece)})
        self.text += piece
        return self


def _order(rng: random.Random, index: int) -> _Utterance:
    drink = rng.choice(sorted(DRINKS))
    size = rng.choice(sorted(SIZES))
    utterance = _Utterance().add(rng.choice(("can I get ", "I'd like ", "please make me ", "order ")))
    utterance.add(rng.choice(QUANTITIES), "Quantity").add(" ")
    utterance.add(rng.choice(SIZES[size]), "Size").add(" ")
    utterance.add(rng.choice(DRINKS[drink]), "Drink")
    if index % 2 == 0:
        utterance.add(" for pickup at ").add(rng.choice(TIMES), "PickupTime")
    if index % 5 == 0:
        utterance.add(" ☕")
    return utterance


def _cancel(rng: random.Random, index: int) -> _Utterance:
    utterance = _Utterance().add(rng.choice(("cancel order ", "please cancel ", "I want to cancel order ")))
    utterance.add(f"ORD-{10000 + index * 137:05d}", "OrderId")
    return utterance.add(rng.choice(("", " now", " thanks")))


def _hours(rng: random.Random, index: int) -> _Utterance:
    return _Utterance().add(
        rng.choice(
            ("when do you open", "what are your opening hours", "are you open on sunday", "when do you close")
        )
        + rng.choice(("", " today", "?"))
    )


def _none(rng: random.Random, index: int) -> _Utterance:
    return _Utterance().add(
        rng.choice(("what's the weather like", "tell me a joke", "who won the game", "play music"))
    )


def _list_component(table: Mapping[str, tuple[str, ...]]) -> dict[str, Any]:
    return {
        "sublists": [
            {"listKey": key, "synonyms": [{"language": "en-us", "values": list(values)}]}
            for key, values in sorted(table.items())
        ]
    }


def clu_project(name: str = "CoffeeOrders", *, per_intent: int = 12, seed: int = 17) -> dict[str, Any]:
    rng = random.Random(seed)
    builders = {"OrderDrink": _order, "CancelOrder": _cancel, "StoreHours": _hours, "None": _none}
    utterances: list[dict[str, Any]] = []
    for intent in CLU_INTENTS:
        seen: set[str] = set()
        for index in range(per_intent):
            built = builders[intent](rng, index)
            if built.text in seen:
                continue
            seen.add(built.text)
            utterances.append(
                {
                    "text": built.text,
                    "language": "en-us",
                    "intent": intent,
                    "entities": built.labels,
                    "dataset": "Test" if index % 4 == 3 else "Train",
                }
            )
    entities = [
        {"category": "Drink", "compositionSetting": "combineComponents", "list": _list_component(DRINKS)},
        {"category": "Size", "compositionSetting": "returnLongestOverlap", "list": _list_component(SIZES)},
        {
            "category": "Quantity",
            "compositionSetting": "requireExactOverlap",
            "prebuilts": [{"category": "Quantity.Number"}],
        },
        {
            "category": "PickupTime",
            "compositionSetting": "combineComponents",
            "prebuilts": [{"category": "DateTime"}],
        },
        {
            "category": "OrderId",
            "compositionSetting": "combineComponents",
            "regex": {
                "expressions": [{"regexKey": "order", "language": "en-us", "regexPattern": r"ORD-\d{5}"}]
            },
            "requiredComponents": ["regex"],
        },
    ]
    return {
        "projectFileVersion": PROJECT_FILE_VERSION,
        "stringIndexType": STRING_INDEX_TYPE,
        "metadata": {
            "projectKind": "Conversation",
            "settings": {"confidenceThreshold": 0.5},
            "projectName": name,
            "multilingual": False,
            "description": "Generated coffee-shop orders (conversational language understanding).",
            "language": "en-us",
        },
        "assets": {
            "projectKind": "Conversation",
            "intents": [{"category": intent} for intent in CLU_INTENTS],
            "entities": entities,
            "utterances": utterances,
        },
    }


def orchestration_project(
    name: str = "FrontDesk",
    *,
    clu_project_name: str = "CoffeeOrders",
    clu_deployment: str = "production",
    faq_project_name: str = "StoreFaq",
) -> dict[str, Any]:
    intents = [
        {
            "category": "Coffee",
            "orchestration": {
                "targetProjectKind": "Conversation",
                "conversationOrchestration": {
                    "projectName": clu_project_name,
                    "deploymentName": clu_deployment,
                },
            },
        },
        {
            "category": "Faq",
            "orchestration": {
                "targetProjectKind": "QuestionAnswering",
                "questionAnsweringOrchestration": {"projectName": faq_project_name},
            },
        },
        {"category": "None"},
    ]
    own = {
        "Faq": (
            "do you have wifi",
            "is there parking nearby",
            "do you take credit cards",
            "are dogs allowed",
        ),
        "None": ("what's the weather like", "tell me a joke", "play music"),
    }
    utterances = [
        {"text": text, "language": "en-us", "intent": intent, "dataset": "Train"}
        for intent, texts in own.items()
        for text in texts
    ]
    return {
        "projectFileVersion": PROJECT_FILE_VERSION,
        "stringIndexType": STRING_INDEX_TYPE,
        "metadata": {
            "projectKind": "Orchestration",
            "settings": {"confidenceThreshold": 0.0},
            "projectName": name,
            "multilingual": False,
            "description": "Routes coffee orders to CLU and store questions to question answering.",
            "language": "en-us",
        },
        "assets": {"projectKind": "Orchestration", "intents": intents, "utterances": utterances},
    }
