"""Microsoft's pizza CLU sample (../shared/data/clu-microsoft-pizza) imports, trains and predicts.

Skipped when the folder is not beside the checkout; the default suite never needs it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.emulator.conversations.conftest import ConversationApi

PIZZA = (
    Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "clu-microsoft-pizza" / "project.json"
)

pytestmark = [
    pytest.mark.reference_data,
    pytest.mark.skipif(not PIZZA.is_file(), reason="../shared/data is not beside the checkout"),
]


def test_the_pizza_sample_round_trips_and_predicts(conv: ConversationApi) -> None:
    sample = json.loads(PIZZA.read_bytes().decode("utf-8"))
    name = conv.ready(sample)
    job = conv.wait(
        conv.accepted(conv.post(f"/projects/{name}/:export", query={"stringIndexType": "Utf16CodeUnit"}))
    )
    assert conv.get(job["resultUrl"]).get_json()["assets"] == sample["assets"]
    prediction = conv.analyze(name, "i want two large pepperoni pizzas").get_json()["result"]["prediction"]
    assert prediction["topIntent"] == "ModifyOrder"
    sizes = [e for e in prediction["entities"] if e["category"] == "FullPizzaWithModifiers.Size"]
    assert sizes and sizes[0]["extraInformation"] == [{"extraInformationKind": "ListKey", "key": "Large"}]
