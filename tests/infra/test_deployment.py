"""azd (azure.yaml, main.parameters.json), the CI workflow, and the alert rules."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from tests.infra.templates import INFRA, MAIN, REPO_ROOT, module_body, parse, render

ALERTS = INFRA / "app" / "alerts.bicep"
# The telemetry the code must emit for the alerts (docs/deploy.md, "Alerts").
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


def test_docs_name_the_exact_telemetry_the_alerts_query() -> None:
    guide = (REPO_ROOT / "docs" / "deploy.md").read_text()
    for marker in (
        RECOVERY_POINT_AGE,
        RUN_FAILED,
        f"{RECOVERY_POINT_AGE} project=",
        f"{RUN_FAILED} project=",
    ):
        assert marker in guide
