"""The enums and discriminator values the emulator speaks, against the 2023-04-01 OpenAPI documents.

Values copied from Azure/azure-rest-api-specs,
specification/cognitiveservices/data-plane/Language/stable/2023-04-01/:
- analyzeconversations-authoring.json at commit 0298a5834a8a1e876ce7f7b3d2ea4f57b57518a9
  (ConversationalAnalysisAuthoringProjectKind, ...TrainingMode, ...CompositionSetting,
  ...OrchestrationTargetProjectKind, ...ExportedProjectFormat, ...StringIndexType, the `dataset`
  and `requiredComponents` descriptions);
- analyzeconversations.json at commit 025d3093cd1c71c9aab6aa688deafe91a9ebde34
  (projectKind, targetProjectKind, AnalyzeConversationTaskKind, AnalyzeConversationTaskResultsKind,
  ConversationTaskParameters.stringIndexType, ExtraInformationKind, ResolutionKind).
A change of spec revision updates these sets; the emulator's constants must follow.
"""

from __future__ import annotations

from emulator.conversations import assets, learner, runtime
from emulator.text_offsets import STRING_INDEX_TYPES

AUTHORING_PROJECT_KINDS = {"Conversation", "Orchestration"}
TRAINING_MODES = {"advanced", "standard"}
COMPOSITION_SETTINGS = {
    "returnLongestOverlap",
    "requireExactOverlap",
    "separateComponents",
    "combineComponents",
}
ORCHESTRATION_TARGET_KINDS = {"Luis", "Conversation", "QuestionAnswering"}
EXPORTED_PROJECT_FORMATS = {"Conversation", "Luis"}
AUTHORING_STRING_INDEX_TYPES = {"Utf16CodeUnit"}
DATASETS = {"Train", "Test"}
REQUIRED_COMPONENTS = {"learned", "list", "prebuilts", "regex"}

RUNTIME_TASK_KINDS = {"Conversation"}
RUNTIME_RESULT_KINDS = {"ConversationResult"}
RUNTIME_TARGET_KINDS = {"Luis", "Conversation", "QuestionAnswering", "NonLinked"}
RUNTIME_STRING_INDEX_TYPES = {"TextElements_v8", "UnicodeCodePoint", "Utf16CodeUnit"}
EXTRA_INFORMATION_KINDS = {"EntitySubtype", "ListKey", "RegexKey"}
RESOLUTION_KINDS = {
    "BooleanResolution",
    "DateTimeResolution",
    "NumberResolution",
    "OrdinalResolution",
    "SpeedResolution",
    "WeightResolution",
    "LengthResolution",
    "VolumeResolution",
    "AreaResolution",
    "AgeResolution",
    "InformationResolution",
    "TemperatureResolution",
    "CurrencyResolution",
    "NumericRangeResolution",
    "TemporalSpanResolution",
}


def test_authoring_enums_match_the_spec() -> None:
    assert set(assets.PROJECT_KINDS) == AUTHORING_PROJECT_KINDS
    assert set(assets.TRAINING_MODES) == TRAINING_MODES
    assert set(assets.COMPOSITION_SETTINGS) == COMPOSITION_SETTINGS
    assert set(assets.TARGET_DETAILS) == ORCHESTRATION_TARGET_KINDS
    assert set(assets.EXPORT_FORMATS) == EXPORTED_PROJECT_FORMATS
    assert {assets.STRING_INDEX_TYPE} == AUTHORING_STRING_INDEX_TYPES
    assert set(assets.DATASETS) == DATASETS
    assert set(assets.COMPONENT_KINDS) == REQUIRED_COMPONENTS


def test_runtime_enums_match_the_spec() -> None:
    assert {runtime.TASK_KIND} == RUNTIME_TASK_KINDS
    assert {runtime.RESULT_KIND} == RUNTIME_RESULT_KINDS
    assert {runtime.NON_LINKED, *assets.TARGET_DETAILS} == RUNTIME_TARGET_KINDS
    assert set(STRING_INDEX_TYPES) == RUNTIME_STRING_INDEX_TYPES


def test_every_extra_information_and_resolution_the_learner_emits_is_a_spec_value() -> None:
    entity = {
        "category": "E",
        "compositionSetting": "separateComponents",
        "list": [["Key", ["coffees"]]],
        "prebuilts": ["Quantity.Number", "DateTime", "General.Email"],
        "regex": [["mail", r"\w+@\w+\.\w+"]],
    }
    found = learner.extract({"entities": [entity]}, "3 coffees at 6pm for a@b.co")
    extra = {x["extraInformationKind"] for m in found for x in m.extra_information}
    resolutions = {r["resolutionKind"] for m in found for r in m.resolutions}
    assert extra == EXTRA_INFORMATION_KINDS
    assert resolutions and resolutions <= RESOLUTION_KINDS
