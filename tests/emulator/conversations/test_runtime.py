"""`POST /language/:analyze-conversations` for CLU and orchestration deployments.

The shapes asserted here (kinds, discriminators, required fields, enums) are those of
analyzeconversations.json, api-version 2023-04-01, as read from Azure/azure-rest-api-specs at
commit 025d3093cd1c71c9aab6aa688deafe91a9ebde34
(specification/cognitiveservices/data-plane/Language/stable/2023-04-01/analyzeconversations.json).
"""

from __future__ import annotations

from typing import Any

import pytest

from emulator.text_offsets import OffsetMap
from tests.emulator.authoring_client import error_of
from tests.emulator.conversations.conftest import ConversationApi

# AnalyzeConversationTaskResultsKind, projectKind and targetProjectKind enums; ExtraInformationKind.
RESULT_KINDS = {"ConversationResult"}
PROJECT_KINDS = {"Conversation", "Orchestration"}
TARGET_KINDS = {"Luis", "Conversation", "QuestionAnswering", "NonLinked"}
EXTRA_KINDS = {"EntitySubtype", "ListKey", "RegexKey"}
# The orchestration sample marks every utterance Train: a manual split trains on all of them.
MANUAL = {"kind": "manual"}
ENTITY_REQUIRED = {"category", "text", "offset", "length", "confidenceScore"}


def prediction_of(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["kind"] in RESULT_KINDS
    assert set(body["result"]) >= {"query", "prediction"}
    prediction = body["result"]["prediction"]
    assert prediction["projectKind"] in PROJECT_KINDS
    return dict(prediction)


def test_a_clu_prediction_has_the_spec_shape(conv: ConversationApi, coffee: dict[str, Any]) -> None:
    conv.ready(coffee)
    text = "can I get two large latte for pickup at 5pm"
    prediction = prediction_of(conv.analyze("CoffeeOrders", text))
    assert prediction["projectKind"] == "Conversation"
    assert prediction["topIntent"] == "OrderDrink"
    scores = [i["confidenceScore"] for i in prediction["intents"]]
    assert scores == sorted(scores, reverse=True) and min(scores) >= 0 and max(scores) <= 1
    assert {i["category"] for i in prediction["intents"]} == {
        "OrderDrink",
        "CancelOrder",
        "StoreHours",
        "None",
    }
    by_category = {e["category"]: e for e in prediction["entities"]}
    for entity in prediction["entities"]:
        assert set(entity) >= ENTITY_REQUIRED
        assert text[entity["offset"] : entity["offset"] + entity["length"]] == entity["text"]
        assert {x["extraInformationKind"] for x in entity.get("extraInformation", [])} <= EXTRA_KINDS
    assert by_category["Drink"]["extraInformation"] == [{"extraInformationKind": "ListKey", "key": "Latte"}]
    assert by_category["Size"]["text"] == "large"
    assert by_category["Quantity"]["resolutions"] == [
        {"resolutionKind": "NumberResolution", "numberKind": "Integer", "value": 2}
    ]
    assert by_category["PickupTime"]["resolutions"][0]["resolutionKind"] == "DateTimeResolution"
    assert by_category["PickupTime"]["resolutions"][0]["timex"] == "T17"


def test_list_synonyms_never_seen_in_training_are_found_with_their_list_key(
    conv: ConversationApi, coffee: dict[str, Any]
) -> None:
    conv.ready(coffee)
    prediction = prediction_of(conv.analyze("CoffeeOrders", "one venti capp please"))
    found = {(e["category"], e["text"]) for e in prediction["entities"]}
    assert ("Drink", "capp") in found
    assert ("Size", "venti") in found


def test_regex_component_answers_its_key(conv: ConversationApi, coffee: dict[str, Any]) -> None:
    conv.ready(coffee)
    prediction = prediction_of(conv.analyze("CoffeeOrders", "please cancel ORD-99999"))
    assert prediction["topIntent"] == "CancelOrder"
    (order,) = [e for e in prediction["entities"] if e["category"] == "OrderId"]
    assert order["text"] == "ORD-99999"
    assert order["extraInformation"] == [
        {"extraInformationKind": "RegexKey", "key": "order", "regexPattern": r"ORD-\d{5}"}
    ]


def test_below_the_confidence_threshold_the_top_intent_is_none(
    conv: ConversationApi, coffee: dict[str, Any]
) -> None:
    coffee["metadata"]["settings"]["confidenceThreshold"] = 1.0
    conv.ready(coffee, evaluationOptions=MANUAL)
    prediction = prediction_of(conv.analyze("CoffeeOrders", "could you maybe get me a large something"))
    assert prediction["topIntent"] == "None"
    seen = prediction_of(conv.analyze("CoffeeOrders", coffee["assets"]["utterances"][0]["text"]))
    assert seen["topIntent"] == coffee["assets"]["utterances"][0]["intent"]


@pytest.mark.parametrize("index_type", ["TextElements_v8", "UnicodeCodePoint", "Utf16CodeUnit"])
def test_offsets_follow_the_requested_string_index_type(
    conv: ConversationApi, coffee: dict[str, Any], index_type: str
) -> None:
    conv.ready(coffee)
    text = "🧑‍🍳 ☕ can I get two large latte"
    prediction = prediction_of(conv.analyze("CoffeeOrders", text, stringIndexType=index_type))
    (drink,) = [e for e in prediction["entities"] if e["category"] == "Drink"]
    start = text.index("latte")
    assert (drink["offset"], drink["length"]) == OffsetMap(text).from_code_points(
        start, start + 5, index_type
    )


def test_predictions_are_deterministic_across_resources(make_conv: Any, coffee: dict[str, Any]) -> None:
    first, second = make_conv(), make_conv()
    first.ready(coffee)
    second.ready(coffee)
    for text in ("one small espresso", "when do you open today", "tell me a joke", "cancel ORD-12345"):
        assert (
            first.analyze("CoffeeOrders", text).get_json() == second.analyze("CoffeeOrders", text).get_json()
        )


def test_orchestration_routes_to_the_clu_deployment(
    conv: ConversationApi, coffee: dict[str, Any], front_desk: dict[str, Any]
) -> None:
    conv.ready(coffee)
    conv.ready(front_desk, evaluationOptions=MANUAL)
    text = "can I get two large latte"
    prediction = prediction_of(conv.analyze("FrontDesk", text))
    assert prediction["projectKind"] == "Orchestration"
    assert prediction["topIntent"] == "Coffee"
    assert set(prediction["intents"]) == {"Coffee", "Faq", "None"}
    for intent in prediction["intents"].values():
        assert intent["targetProjectKind"] in TARGET_KINDS and 0 <= intent["confidenceScore"] <= 1
    routed = prediction["intents"]["Coffee"]
    assert routed["targetProjectKind"] == "Conversation"
    assert routed["apiVersion"] == "2023-04-01"
    direct = conv.analyze("CoffeeOrders", text).get_json()["result"]
    assert routed["result"] == direct
    assert prediction["intents"]["Faq"] == {
        "targetProjectKind": "QuestionAnswering",
        "confidenceScore": prediction["intents"]["Faq"]["confidenceScore"],
    }
    assert prediction["intents"]["None"]["targetProjectKind"] == "NonLinked"


def test_orchestration_question_answering_target_answers_without_answers(
    conv: ConversationApi, coffee: dict[str, Any], front_desk: dict[str, Any]
) -> None:
    conv.ready(coffee)
    conv.ready(front_desk, evaluationOptions=MANUAL)
    prediction = prediction_of(conv.analyze("FrontDesk", "do you have wifi"))
    assert prediction["topIntent"] == "Faq"
    assert prediction["intents"]["Faq"]["result"] == {"answers": []}


def test_direct_target_forces_the_route(
    conv: ConversationApi, coffee: dict[str, Any], front_desk: dict[str, Any]
) -> None:
    conv.ready(coffee)
    conv.ready(front_desk, evaluationOptions=MANUAL)
    prediction = prediction_of(conv.analyze("FrontDesk", "tell me a joke", directTarget="Coffee"))
    assert prediction["topIntent"] == "Coffee"
    assert prediction["intents"]["Coffee"]["result"]["prediction"]["projectKind"] == "Conversation"
    unknown = conv.analyze("FrontDesk", "hi", directTarget="Nope")
    assert unknown.status_code == 400 and error_of(unknown)["target"] == "parameters.directTarget"


def test_orchestration_with_an_undeployed_target_answers_404(
    conv: ConversationApi, coffee: dict[str, Any], front_desk: dict[str, Any]
) -> None:
    conv.import_project(coffee)
    conv.ready(front_desk, evaluationOptions=MANUAL)
    response = conv.analyze("FrontDesk", "can I get two large latte")
    assert response.status_code == 404
    assert "CoffeeOrders" in error_of(response)["message"]


def test_luis_targets_are_refused_with_a_documented_error(
    conv: ConversationApi, coffee: dict[str, Any], front_desk: dict[str, Any]
) -> None:
    front_desk["assets"]["intents"][1]["orchestration"] = {
        "targetProjectKind": "Luis",
        "luisOrchestration": {"appId": "00000000-0000-0000-0000-000000000000"},
    }
    conv.ready(coffee)
    conv.ready(front_desk, evaluationOptions=MANUAL)
    response = conv.analyze("FrontDesk", "do you have wifi")
    assert response.status_code == 400 and "LUIS" in error_of(response)["message"]


@pytest.mark.parametrize(
    ("body", "target"),
    [
        ({"kind": "ConversationalSummarizationTask"}, "kind"),
        ({"kind": "Conversation", "parameters": {}}, "analysisInput"),
        (
            {
                "kind": "Conversation",
                "analysisInput": {"conversationItem": {"id": "1", "participantId": "1"}},
                "parameters": {"projectName": "CoffeeOrders", "deploymentName": "production"},
            },
            "analysisInput.conversationItem.text",
        ),
        (
            {
                "kind": "Conversation",
                "analysisInput": {"conversationItem": {"id": "1", "participantId": "1", "text": "hi"}},
                "parameters": {"projectName": "CoffeeOrders"},
            },
            "parameters.deploymentName",
        ),
        (
            {
                "kind": "Conversation",
                "analysisInput": {"conversationItem": {"id": "1", "participantId": "1", "text": "hi"}},
                "parameters": {
                    "projectName": "CoffeeOrders",
                    "deploymentName": "production",
                    "stringIndexType": "Bytes",
                },
            },
            "parameters.stringIndexType",
        ),
    ],
)
def test_invalid_requests_are_refused(conv: ConversationApi, body: dict[str, Any], target: str) -> None:
    response = conv.post("/language/:analyze-conversations", json=body)
    assert response.status_code == 400
    assert error_of(response)["target"] == target


def test_unknown_deployment_and_missing_api_version(conv: ConversationApi, coffee: dict[str, Any]) -> None:
    conv.ready(coffee)
    assert conv.analyze("CoffeeOrders", "hi", deployment="staging").status_code == 404
    assert conv.analyze("Nope", "hi").status_code == 404
    response = conv.client.post("/language/:analyze-conversations", json={}, headers=conv.headers)
    assert response.status_code == 400 and error_of(response)["target"] == "api-version"


def test_the_gateway_applies_auth_throttling_and_faults(make_conv: Any, coffee: dict[str, Any]) -> None:
    conv = make_conv(runtime_per_minute=2)
    conv.ready(coffee)
    assert (
        conv.client.post("/language/:analyze-conversations?api-version=2023-04-01", json={}).status_code
        == 401
    )
    assert conv.analyze("CoffeeOrders", "one latte").status_code == 200
    assert conv.analyze("CoffeeOrders", "one latte").status_code == 200
    throttled = conv.analyze("CoffeeOrders", "one latte")
    assert throttled.status_code == 429 and "Retry-After" in throttled.headers
    conv.clock.advance(61)
    burst = conv.client.post(
        "/_emulator/faults/errors", json={"status": 503, "path": "analyze-conversations", "count": 1}
    )
    assert burst.status_code == 200
    assert conv.analyze("CoffeeOrders", "one latte").status_code == 503
    assert conv.analyze("CoffeeOrders", "one latte").status_code == 200


def test_authoring_calls_count_as_authoring_and_reset_empties_projects(
    conv: ConversationApi, coffee: dict[str, Any]
) -> None:
    conv.ready(coffee)
    conv.analyze("CoffeeOrders", "one latte")
    counts = conv.client.get("/_emulator/requests").get_json()
    assert counts["authoring"]["POST"] >= 2 and counts["runtime"]["POST"] == 1
    assert conv.client.post("/_emulator/reset", json={}).status_code == 200
    assert conv.get("/projects").get_json()["value"] == []
