"""azd (azure.yaml, main.parameters.json), the CI workflow, and the alert rules."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml

from tests.infra.templates import INFRA, MAIN, REPO_ROOT, module_body, parse, render

ALERTS = INFRA / "app" / "alerts.bicep"
# The telemetry the code must emit for the alerts (docs/reference/infrastructure.md, "Alerts").
RECOVERY_POINT_AGE = "replication.recovery_point_age_hours"
RUN_FAILED = "replication.run_failed"


def test_azure_yaml_deploys_this_folder_to_the_tagged_function_app() -> None:
    project = yaml.safe_load((REPO_ROOT / "azure.yaml").read_text())
    assert project["infra"] == {"provider": "bicep", "path": "infra", "module": "main"}
    (service_name, service), *others = project["services"].items()
    assert not others
    assert service == {"project": ".", "language": "python", "host": "function"}
    site = next(
        r["config"]
        for r in parse(INFRA / "app" / "function-app.bicep")["resources"].values()
        if r["type"] == "Microsoft.Web/sites"
    )
    assert render(site["tags"]) == f"union(tags, {{'azd-service-name': {service_name}}})"


def test_parameters_file_names_main_parameters_and_every_required_one() -> None:
    document = json.loads((INFRA / "main.parameters.json").read_text())
    given = set(document["parameters"])
    declared = parse(MAIN)["parameters"]
    assert given <= set(declared), f"unknown parameters: {given - set(declared)}"
    required = {name for name, p in declared.items() if "default" not in p}
    assert required <= given, f"required but not in main.parameters.json: {required - given}"
    for name, entry in document["parameters"].items():
        assert re.fullmatch(r"\$\{[A-Z_]+(=[^}]*)?\}", entry["value"]), f"{name}: an azd ${{ENV}} reference"


def test_ci_runs_the_test_command_and_deploys_main_with_oidc_when_configured() -> None:
    workflow: dict[Any, Any] = yaml.safe_load((REPO_ROOT / ".github" / "workflows" / "ci.yml").read_text())
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert "push" in triggers
    test_steps = [step.get("run", "") for step in workflow["jobs"]["test"]["steps"]]
    assert "./scripts/test" in test_steps

    deploy = workflow["jobs"]["deploy"]
    assert deploy["needs"] == "test"
    assert "refs/heads/main" in deploy["if"] and "vars.AZURE_CLIENT_ID" in deploy["if"]
    assert deploy["permissions"]["id-token"] == "write"
    commands = " ".join(step.get("run", "") for step in deploy["steps"])
    assert "--federated-credential-provider github" in commands
    assert "azd deploy --no-prompt" in commands
    text = (REPO_ROOT / ".github" / "workflows" / "ci.yml").read_text()
    assert "secrets." not in text, "OIDC: no stored client secret"


def _rules() -> dict[str, dict[str, Any]]:
    return {
        name: r["config"]
        for name, r in parse(ALERTS)["resources"].items()
        if r["type"] == "Microsoft.Insights/scheduledQueryRules"
    }


def test_recovery_point_age_alert_uses_the_threshold_parameter_default_36_hours() -> None:
    main = parse(MAIN)
    assert main["parameters"]["recoveryPointAgeAlertHours"]["default"] == 36
    alerts = module_body(main["modules"]["alerts"])
    assert render(alerts["params"]["recoveryPointAgeThresholdHours"]) == "recoveryPointAgeAlertHours"
    rule = _rules()["recoveryPointAgeAlert"]
    (criterion,) = rule["properties"]["criteria"]["allOf"]
    query = criterion["query"]
    assert "${recoveryPointAgeThresholdHours}" in query
    assert f'name == "{RECOVERY_POINT_AGE}"' in query  # the metric
    assert f'message startswith "{RECOVERY_POINT_AGE} "' in query  # or the log line
    assert render(rule["properties"]["scopes"]) == "[applicationInsightsId]"


def test_failed_runs_alert_on_the_log_marker_or_the_custom_event() -> None:
    rule = _rules()["failedRunAlert"]
    (criterion,) = rule["properties"]["criteria"]["allOf"]
    assert f'message startswith "{RUN_FAILED} "' in criterion["query"]
    assert f'name == "{RUN_FAILED}"' in criterion["query"]
    assert criterion["operator"] == "GreaterThan" and criterion["threshold"] == 0


# ---- the alert queries read the exact lines the code logs ------------------------------------------------

# Escapes of a single-quoted Bicep string; any other backslash sequence fails to compile.
_BICEP_ESCAPES = {"\\": "\\", "'": "'", "n": "\n", "r": "\r", "t": "\t", "$": "$"}


def bicep_string_value(raw: str) -> str:
    """The value Bicep gives a single-quoted string literal (pycep keeps the escapes as written)."""
    value, index = [], 0
    while index < len(raw):
        if raw[index] == "\\":
            escaped = raw[index + 1 : index + 2]
            context = raw[max(index - 20, 0) : index + 20]
            assert escaped in _BICEP_ESCAPES, f"Bicep rejects the escape \\{escaped} in {context!r}"
            value.append(_BICEP_ESCAPES[escaped])
            index += 2
        else:
            value.append(raw[index])
            index += 1
    return "".join(value)


def _query(rule: str) -> str:
    (criterion,) = _rules()[rule]["properties"]["criteria"]["allOf"]
    return bicep_string_value(criterion["query"])


def extract_columns(query: str, line: str) -> dict[str, str]:
    """Apply the query's `let name = @"regex";` and `column = extract(name, group, message)` to one line.

    KQL's extract() uses RE2; these expressions (anchors, \\S+, literal text) mean the same in Python's re.
    """
    lets = dict(re.findall(r'let (\w+) = @"([^"]*)";', query))
    extracted = re.findall(r"(\w+) = (?:todouble\()?extract\((\w+), (\d), message\)", query)
    assert extracted, "the query reads the log line with extract()"
    columns = {}
    for column, pattern_name, group in extracted:
        match = re.search(lets[pattern_name], line)
        assert match, f"{pattern_name} does not match the logged line {line!r}"
        columns[column] = match.group(int(group))
    return columns


def test_the_recovery_point_age_query_reads_the_line_the_drift_adapters_log(caplog) -> None:
    from shared.functions.telemetry import report_recovery_point_ages

    entry = {"project": "Loan.Agreements_2", "target": "north-europe", "recoveryPointAgeSeconds": 45000}
    drift = {"projects": [entry]}
    with caplog.at_level(logging.INFO, logger="shared.functions.telemetry"):
        assert report_recovery_point_ages(drift) == 1
    (line,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith(RECOVERY_POINT_AGE)]
    query = _query("recoveryPointAgeAlert")
    assert f'message startswith "{RECOVERY_POINT_AGE} "' in query
    columns = extract_columns(query, line)
    assert columns == {"projectName": "Loan.Agreements_2", "targetName": "north-europe", "hours": "12.5"}
    float(columns["hours"])  # todouble() reads it
    # A line of another shape is left out rather than misread.
    assert not re.search(dict(re.findall(r'let (\w+) = @"([^"]*)";', query))["ageLine"],
                         f"{RECOVERY_POINT_AGE} project=A hours=1.0")


def test_the_failed_run_query_reads_the_line_the_engine_logs(azurite, caplog) -> None:
    """A real run failed by the real engine (the poisoned-message path), on Azurite."""
    from shared.clock import FakeClock
    from shared.engine import ReplicationEngine
    from shared.runs.manifest import RUNNING, RunManifest, new_run_id
    from shared.runs.scheduler.messages import StepMessage
    from shared.settings import settings_from_values

    settings = settings_from_values({
        "PRIMARY_LANGUAGE_ENDPOINT": "https://primary.cognitiveservices.azure.com",
        "PRIMARY_LANGUAGE_KEY": "primary-key",
        "SECONDARY_LANGUAGE_ENDPOINT": "https://secondary.cognitiveservices.azure.com",
        "SECONDARY_LANGUAGE_KEY": "secondary-key",
        "PRIMARY_DOCUMENTS_STORAGE": azurite.connection_string("primarydocs"),
        "SECONDARY_DOCUMENTS_STORAGE": azurite.connection_string("secondarydocs"),
        "SNAPSHOT_STORAGE": azurite.connection_string(),
        "AzureWebJobsStorage": azurite.connection_string(),
        "REPLICATED_PROJECTS": "*",
    })
    now = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
    engine = ReplicationEngine.from_settings(settings, clock=FakeClock(now))
    run = RunManifest(run_id=new_run_id(now), project="LoanAgreements", target="secondary", trigger="timer",
                      force=False, created_at=now, updated_at=now, status=RUNNING)
    engine.manifests.create(run)
    with caplog.at_level(logging.ERROR):
        poisoned = StepMessage(run.run_id, run.project, run.target, "train:v1", 0)
        engine.fail_poisoned(poisoned, "dequeued 5 times")
    (line,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith(RUN_FAILED)]

    query = _query("failedRunAlert")
    assert f'message startswith "{RUN_FAILED} "' in query
    assert extract_columns(query, line) == {
        "projectName": "LoanAgreements", "targetName": "secondary", "runId": run.run_id,
    }


# KQL operator names are keywords: as column names they would need quoting (['project']).
KQL_OPERATORS = {"project", "where", "extend", "summarize", "parse", "union", "join", "count", "take", "top",
                 "sort", "order", "range", "print", "render", "search", "find", "distinct", "limit", "as"}


@pytest.mark.parametrize("rule", ["recoveryPointAgeAlert", "failedRunAlert", "silenceAlert"])
def test_every_alert_query_is_a_valid_bicep_string_and_splits_by_columns_it_outputs(rule: str) -> None:
    query = _query(rule)
    assert "\\\\" not in query  # a doubled backslash would reach KQL and change the regex
    assigned = set(re.findall(r"(?:extend|project|,) +(\w+) = ", query))
    assert not assigned & KQL_OPERATORS, f"columns named like KQL keywords: {assigned & KQL_OPERATORS}"
    (criterion,) = _rules()[rule]["properties"]["criteria"]["allOf"]
    for dimension in criterion.get("dimensions", []):
        assert dimension["name"] in assigned, f"{rule}: no column {dimension['name']} to split by"


# The deployment guide and its reference page, where parameters and telemetry are documented.
DEPLOY_GUIDE = REPO_ROOT / "docs" / "how-to" / "deploy.md"
INFRASTRUCTURE_REFERENCE = REPO_ROOT / "docs" / "reference" / "infrastructure.md"


def test_docs_name_every_parameter_of_main_bicep() -> None:
    guide = DEPLOY_GUIDE.read_text() + INFRASTRUCTURE_REFERENCE.read_text()
    undocumented = [
        name for name in parse(MAIN)["parameters"] if f"`{name}`" not in guide and f"{name}=" not in guide
    ]
    assert not undocumented, f"parameters the deployment docs do not mention: {undocumented}"


def test_docs_name_the_exact_telemetry_the_alerts_query() -> None:
    guide = INFRASTRUCTURE_REFERENCE.read_text()
    for marker in (
        RECOVERY_POINT_AGE,
        RUN_FAILED,
        f"{RECOVERY_POINT_AGE} project=",
        f"{RUN_FAILED} project=",
    ):
        assert marker in guide
