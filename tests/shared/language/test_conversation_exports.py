"""Conversation exports (CLU, orchestration): utterances inline, intents and entities with components;
parsed whole or streamed, they give the same counts and hash, and import with no container."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

import pytest

from localdev.conversation_samples import clu_project, orchestration_project
from shared.language.export_format import UnsafeExport, parse_export
from shared.language.export_stream import summarise_export, write_import_body

# Microsoft's pizza sample, when the shared reference data is beside the checkout (optional).
PIZZA = Path(__file__).resolve().parents[4] / "shared" / "data" / "clu-microsoft-pizza" / "project.json"


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


def samples() -> list[dict[str, Any]]:
    found = [clu_project(), orchestration_project()]
    if PIZZA.exists():
        found.append(json.loads(PIZZA.read_text()))
    return found


@pytest.mark.parametrize("body", samples(), ids=lambda b: b["metadata"]["projectName"])
def test_streamed_and_parsed_agree_on_a_conversation_export(body: dict[str, Any]) -> None:
    data = encode(body)
    export = parse_export(data)
    summary = summarise_export(io.BytesIO(data))
    utterances = body["assets"]["utterances"]
    assert summary.project_kind == export.project_kind == body["metadata"]["projectKind"]
    assert summary.content_hash == export.content_hash()
    assert summary.counts() == export.counts()
    assert summary.document_count == len(utterances)
    assert summary.locations == [u["text"] for u in utterances]
    assert summary.languages == [u.get("language") or body["metadata"]["language"] for u in utterances]
    assert summary.container == export.container == ""
    assert list(summary.categories) == export.categories
    assert summary.imports_as_is("any-container")


def test_the_hash_ignores_order_and_sees_every_component() -> None:
    body = clu_project()
    shuffled = copy.deepcopy(body)
    shuffled["assets"]["utterances"].reverse()
    shuffled["assets"]["entities"].reverse()
    shuffled["assets"] = dict(reversed(list(shuffled["assets"].items())))   # utterances before intents
    original = summarise_export(encode(body)).content_hash
    assert summarise_export(encode(shuffled)).content_hash == original
    assert parse_export(encode(shuffled)).content_hash() == original
    # A list synonym, a regex, a required component or an utterance's dataset is content.
    edits = [
        lambda a: a["entities"][0]["list"]["sublists"][0]["synonyms"][0]["values"].append("cortado"),
        lambda a: a["entities"][4]["regex"]["expressions"][0].update(regexPattern=r"ORD-\d{6}"),
        lambda a: a["entities"][1].update(requiredComponents=["list"]),
        lambda a: a["utterances"][0].update(dataset="Test"),
        lambda a: a["intents"].append({"category": "Tip"}),
    ]
    for edit in edits:
        changed = copy.deepcopy(body)
        edit(changed["assets"])
        assert summarise_export(encode(changed)).content_hash != original


def test_an_orchestration_target_is_content() -> None:
    body = orchestration_project()
    changed = orchestration_project(clu_deployment="staging")
    assert parse_export(encode(body)).content_hash() != parse_export(encode(changed)).content_hash()


@pytest.mark.parametrize(("edit", "reason"), [
    (lambda a: a["utterances"][0].update(intent="Nope"), "undeclared intent or entity"),
    (lambda a: a["utterances"][0].update(text=""), "text is missing"),
    (lambda a: a["utterances"][0].update(dataset="Dev"), "not Train or Test"),
    (lambda a: a["utterances"][1]["entities"].append({"category": "Drink", "offset": 500, "length": 3}),
     "bad span"),
    (lambda a: a.pop("utterances"), "no utterances"),
    (lambda a: a.update(documents=a.pop("utterances")), "no utterances"),
])
def test_unsafe_conversation_exports_are_refused_alike(edit: Any, reason: str) -> None:
    body = clu_project()
    edit(body["assets"])
    with pytest.raises(UnsafeExport, match=reason):
        parse_export(encode(body))
    with pytest.raises(UnsafeExport, match=reason):
        summarise_export(encode(body))


def test_an_import_body_of_a_conversation_project_names_no_container() -> None:
    data = encode(clu_project())
    out = io.BytesIO()
    write_import_body(io.BytesIO(data), "documents", out)
    rewritten = json.loads(out.getvalue())
    assert "storageInputContainerName" not in rewritten["metadata"]
    assert rewritten == parse_export(data).raw
    assert json.loads(parse_export(data).with_container("documents")) == rewritten
