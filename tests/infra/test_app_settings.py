"""App settings: the Bicep sets every setting the code reads, and nothing else but host and SDK settings.

Both sides are read for real: shared.settings.KNOWN_SETTINGS on one, the parsed templates on the other. The
settings are then evaluated with sample deployment values and loaded by the code's own settings loader and
storage resolver, so a setting the Bicep writes in a shape the code cannot read fails here, not in Azure.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.infra.templates import INFRA, MAIN, module_body, object_keys, parse, render

FUNCTION_APP = INFRA / "app" / "function-app.bicep"

# Settings the Functions host or an Azure SDK reads (not the product's own).
HOST_AND_SDK_SETTINGS = {
    "AzureWebJobsStorage__blobServiceUri",  # host: identity-based storage (blob: locks, timers)
    "AzureWebJobsStorage__queueServiceUri",  # host: the queue trigger on the step queue
    "AzureWebJobsStorage__credential",
    "AzureWebJobsStorage__clientId",  # host: which (user-assigned) identity
    "AZURE_CLIENT_ID",  # azure-identity: DefaultAzureCredential's managed identity
    "APPLICATIONINSIGHTS_CONNECTION_STRING",  # host and the Application Insights SDK
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",  # Entra ID ingestion (local auth is off)
}

# Deprecated or rejected on Flex Consumption (the runtime lives in functionAppConfig instead).
FLEX_DEPRECATED = re.compile(
    r"^(FUNCTIONS_.*|WEBSITE_.*|SCM_.*|ENABLE_ORYX_BUILD|AzureWebJobsDashboard|AzureWebJobsStorage"
    r"|PYTHON_ISOLATE_WORKER_DEPENDENCIES)$"
)


def known_settings() -> tuple[str, ...]:
    settings = pytest.importorskip("shared.settings", reason="shared.settings (seam C) has not landed yet")
    known = getattr(settings, "KNOWN_SETTINGS", None)
    if known is None:
        pytest.skip("shared.settings.KNOWN_SETTINGS (seam C) has not landed yet")
    return tuple(known)


def product_settings() -> dict[str, Any]:
    value: dict[str, Any] = parse(MAIN)["variables"]["productSettings"]["value"]
    return value


def host_settings() -> dict[str, Any]:
    value: dict[str, Any] = parse(FUNCTION_APP)["variables"]["hostSettings"]["value"]
    return value


def test_the_app_receives_host_settings_and_product_settings_and_nothing_else() -> None:
    site = next(
        r["config"] for r in parse(FUNCTION_APP)["resources"].values() if r["type"] == "Microsoft.Web/sites"
    )
    app_settings = site["properties"]["siteConfig"]["appSettings"]
    assert (
        render(app_settings["loop_type"]["detail"]["array_name"])
        == "items(union(hostSettings, productSettings))"
    )
    function_app = module_body(parse(MAIN)["modules"]["functionApp"])
    # The further targets' SECONDARY__<NAME>__* settings come in as a parameter, so a redeployment keeps them.
    passed = render(function_app["params"]["productSettings"])
    assert passed == "union(productSettings, secondaryTargetSettings)"
    # They may carry Language keys: both parameters are secure, so deployments do not echo them.
    for template, name in ((FUNCTION_APP, "productSettings"), (MAIN, "secondaryTargetSettings")):
        parameter = parse(template)["parameters"][name]
        assert parameter["type"] == "object", name
        assert "secure" in [d["type"] for d in parameter["decorators"]], name
    assert parse(MAIN)["parameters"]["secondaryTargetSettings"]["default"] == {}


def test_every_setting_the_code_reads_is_set_by_the_bicep() -> None:
    missing = set(known_settings()) - object_keys(product_settings())
    assert not missing, f"KNOWN_SETTINGS the Bicep does not set: {sorted(missing)}"


def test_every_other_setting_the_bicep_sets_is_read_by_the_host_or_an_sdk() -> None:
    unknown_product = object_keys(product_settings()) - set(known_settings())
    assert not unknown_product, f"set by the Bicep but not in KNOWN_SETTINGS: {sorted(unknown_product)}"
    unknown_host = object_keys(host_settings()) - HOST_AND_SDK_SETTINGS
    assert not unknown_host, f"neither the host nor an SDK reads: {sorted(unknown_host)}"


def test_no_setting_is_deprecated_on_flex_consumption() -> None:
    names = object_keys(product_settings()) | object_keys(host_settings())
    assert not {name for name in names if FLEX_DEPRECATED.match(name)}


def test_drift_schedule_is_set_to_a_daily_utc_ncrontab() -> None:
    assert render(product_settings()["DRIFT_SCHEDULE"]) == "driftSchedule"
    default = parse(MAIN)["parameters"]["driftSchedule"]["default"]
    fields = default.split()
    assert len(fields) == 6 and fields[3:] == ["*", "*", "*"], "six-field NCRONTAB, once a day"
    settings = pytest.importorskip("shared.settings")
    if hasattr(settings, "DEFAULT_DRIFT_SCHEDULE"):
        assert default == settings.DEFAULT_DRIFT_SCHEDULE


def test_keys_are_empty_unless_the_deployment_chooses_keys() -> None:
    for name in ("PRIMARY_LANGUAGE_KEY", "SECONDARY_LANGUAGE_KEY"):
        value = render(product_settings()[name])
        assert value.startswith("useLanguageKeys ? ") and value.endswith(" : "), value
    assert parse(MAIN)["parameters"]["useLanguageKeys"]["default"] is False


# ---- the settings, evaluated with sample deployment values, load in the code ---------------------------

CLIENT_ID = "00000000-0000-0000-0000-0000000000c1"
SAMPLE_EXPRESSIONS = {
    # main.bicep
    "primaryLanguageEndpoint": "https://contoso-lang-eastus.cognitiveservices.azure.com/",
    "secondaryLanguageEndpoint": "https://lang-dr-abc123.cognitiveservices.azure.com/",
    "primaryDocumentsStorage.properties.primaryEndpoints.blob": "https://contosodocs.blob.core.windows.net/",
    "secondaryDocumentsBlobEndpoint": "https://stlangdocsabc123.blob.core.windows.net/",
    "secondaryRegion": "westus2",
    "replicatedProjects": "*",
    "snapshotContainerName": "snapshots",
    "routingContainerName": "routing",
    "string(drillEveryDays)": "7",
    "string(driftFullCheckDays)": "7",
    "driftSchedule": None,  # the parameter's default
    "languageApiVersion": None,
    "conversationsApiVersion": None,
    "cluDefaultTrainingMode": None,
    "string(maxTrainingsPerProjectPerDay)": "3",
    "verifyAgreementThreshold": None,
    "verifyAgreementThresholdResampled": None,
    "verifyEvaluationTolerance": None,
    "trainingSplit": None,
    "string(runStallTimeoutMinutes)": "30",
    "secondaryTargets": None,
    "snapshotRetentionCount": "10",
    "snapshotRetentionDays": "90",
    "string(expiryWarningDays)": "30",
    "string(recoveryPointAgeAlertHours)": "36",
    "notifyWebhookUrl": "https://hooks.slack.com/services/T000/B000/XXXX",
    "notifyFormat": None,
    "deleteRemovedProjects ? true : false": "false",
    # function-app.bicep
    "storageAccountName": "stlangdrabc123",
    "environment().suffixes.storage": "core.windows.net",
    "identityClientId": CLIENT_ID,
    "applicationInsightsConnectionString": "InstrumentationKey=00000000-0000-0000-0000-000000000001",
}
MAIN_PARAMETERS = {"driftSchedule", "languageApiVersion", "verifyAgreementThreshold", "secondaryTargets",
                   "notifyFormat", "verifyAgreementThresholdResampled", "verifyEvaluationTolerance",
                   "trainingSplit", "conversationsApiVersion", "cluDefaultTrainingMode"}


def evaluate(value: Any, *, use_keys: bool = False) -> str:
    text = render(value)
    if text.startswith("useLanguageKeys ? "):
        return "sample-key" if use_keys else ""
    if text in SAMPLE_EXPRESSIONS:
        sample = SAMPLE_EXPRESSIONS[text]
        if sample is None:
            assert text in MAIN_PARAMETERS
            return str(parse(MAIN)["parameters"][text]["default"])
        return sample

    def interpolate(match: re.Match[str]) -> str:
        expression = match.group(1)
        assert expression in SAMPLE_EXPRESSIONS, f"no sample value for ${{{expression}}}"
        return str(SAMPLE_EXPRESSIONS[expression])

    if not isinstance(value, str):
        raise AssertionError(f"no sample value for the expression {text!r}: add one to SAMPLE_EXPRESSIONS")
    return re.sub(r"\$\{([^}]+)\}", interpolate, value)


def deployed_environment(*, use_keys: bool = False, secondary_target_settings: dict[str, str] | None = None
                         ) -> dict[str, str]:
    environ = {name.strip("'"): evaluate(v, use_keys=use_keys) for name, v in host_settings().items()}
    environ.update(
        {name.strip("'"): evaluate(v, use_keys=use_keys) for name, v in product_settings().items()}
    )
    environ.update(secondary_target_settings or {})  # union(productSettings, secondaryTargetSettings)
    return environ


@pytest.mark.parametrize("use_keys", [False, True], ids=["managed-identity", "keys"])
def test_the_deployed_settings_load_in_the_code(use_keys: bool) -> None:
    known_settings()
    from shared.settings import settings_from_values

    environ = deployed_environment(use_keys=use_keys)
    settings = settings_from_values(environ)
    assert settings.primary.endpoint.startswith("https://contoso-lang-eastus.cognitiveservices.azure.com")
    assert (settings.primary.key is not None) is use_keys
    target = settings.targets[0]
    assert (target.language.key is not None) is use_keys
    assert target.language.region == "westus2"
    assert target.documents_shared is False
    assert settings.replicate_all
    assert not settings.warnings


def test_the_parameter_defaults_load_as_no_limit_no_webhook_and_no_further_target() -> None:
    known_settings()
    from shared.settings import settings_from_values

    environ = deployed_environment()
    for name, parameter in (("SNAPSHOT_RETENTION_COUNT", "snapshotRetentionCount"),
                            ("SNAPSHOT_RETENTION_DAYS", "snapshotRetentionDays"),
                            ("NOTIFY_WEBHOOK_URL", "notifyWebhookUrl"),
                            ("SECONDARY_TARGETS", "secondaryTargets")):
        environ[name] = parse(MAIN)["parameters"][parameter]["default"]
    settings = settings_from_values(environ)
    assert (settings.snapshot_retention_count, settings.snapshot_retention_days) == (None, None)
    assert settings.notify_webhook_url is None
    assert settings.target_names() == ["secondary"]
    assert settings.recovery_point_max_age.total_seconds() == 36 * 3600  # the alert's threshold too


def test_further_targets_load_from_secondary_targets_and_their_settings_parameter() -> None:
    known_settings()
    from shared.settings import settings_from_values

    environ = deployed_environment(secondary_target_settings={
        "SECONDARY__NORTH_EUROPE__LANGUAGE_ENDPOINT": "https://lang-dr-neu.cognitiveservices.azure.com/",
        "SECONDARY__NORTH_EUROPE__DOCUMENTS_STORAGE": "https://stdocsneu.blob.core.windows.net/",
        "SECONDARY__NORTH_EUROPE__REGION": "northeurope",
    })
    environ["SECONDARY_TARGETS"] = "north-europe"
    settings = settings_from_values(environ)
    assert settings.target_names() == ["secondary", "north-europe"]
    further = settings.target("north-europe")
    assert further.language.region == "northeurope" and further.language.key is None  # Entra ID


def test_the_snapshot_connection_resolves_to_the_apps_storage_with_its_identity() -> None:
    known_settings()
    from shared.connections import resolve_connection

    environ = deployed_environment()
    for service in ("blob", "queue"):
        resolved = resolve_connection(
            environ["SNAPSHOT_STORAGE"], environ, service, setting="SNAPSHOT_STORAGE"
        )
        assert resolved.service_url == f"https://stlangdrabc123.{service}.core.windows.net"
        assert resolved.credential is not None
        assert resolved.credential.kind == "managedidentity"
        assert resolved.credential.client_id == CLIENT_ID
    # The step queue uses the host's own connection, resolved the same way.
    host = resolve_connection("AzureWebJobsStorage", environ, "queue")
    assert host.service_url == "https://stlangdrabc123.queue.core.windows.net"
