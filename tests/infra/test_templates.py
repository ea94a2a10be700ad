"""Every Bicep file parses, uses local modules only, and deploys the topology issue 6 asks for."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shared.language.regions import AUTHORING_REGIONS, REGION_SUPPORT_URL
from tests.infra.templates import (
    INFRA,
    MAIN,
    bicep_files,
    module_body,
    module_file,
    only_resource,
    parse,
    render,
    resources_of_type,
)

# Regions that serve predictions but cannot import, train or deploy: a secondary there is useless for DR.
PREDICTION_ONLY_REGIONS = {
    "swedencentral",
    "francecentral",
    "japaneast",
    "westus",
    "centralus",
    "koreacentral",
}


@pytest.mark.parametrize("path", bicep_files(), ids=lambda p: str(p.relative_to(INFRA)))
def test_every_bicep_file_parses(path: Path) -> None:
    template = parse(path)
    assert template.get("resources") or template.get("modules"), f"{path.name} declares nothing"


def test_main_uses_local_modules_that_exist() -> None:
    text = "\n".join(path.read_text() for path in bicep_files())
    assert not re.search(r"'(br|ts)[:/]", text), "registry modules cannot be restored or scanned offline"
    for name, module in parse(MAIN)["modules"].items():
        assert module["type"] == "local", name
        assert module_file(name).is_file(), f"module {name}: {module_file(name)} is missing"


def test_function_app_is_flex_consumption_python_311() -> None:
    path = INFRA / "app" / "function-app.bicep"
    plan = only_resource(path, "Microsoft.Web/serverfarms")
    assert plan["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
    assert plan["properties"]["reserved"] is True  # Linux
    site = only_resource(path, "Microsoft.Web/sites")
    assert site["kind"] == "functionapp,linux"
    assert site["properties"]["httpsOnly"] is True
    config = site["properties"]["functionAppConfig"]
    assert config["runtime"] == {"name": "python", "version": "3.11"}
    # The deployment package is read with the user-assigned identity, not a connection string.
    assert config["deployment"]["storage"]["authentication"]["type"] == "UserAssignedIdentity"
    assert site["identity"]["type"] == "UserAssigned"


def _created_storage_accounts() -> list[tuple[str, dict]]:
    found = []
    for path in bicep_files():
        for name, resource in resources_of_type(parse(path), "Microsoft.Storage/storageAccounts").items():
            if not resource.get("existing"):
                found.append((f"{path.name}:{name}", resource["config"]))
    return found


def test_every_created_storage_account_refuses_shared_keys_and_anonymous_access() -> None:
    accounts = _created_storage_accounts()
    assert len(accounts) == 2, accounts  # the app's own, and the created secondary's documents
    for name, account in accounts:
        properties = account["properties"]
        assert properties["allowSharedKeyAccess"] is False, name
        assert properties["allowBlobPublicAccess"] is False, name
        assert properties["minimumTlsVersion"] == "TLS1_2", name
        assert properties["supportsHttpsTrafficOnly"] is True, name


def test_geo_redundant_storage_is_a_parameter_on_by_default() -> None:
    parameter = parse(MAIN)["parameters"]["geoRedundantStorage"]
    assert parameter["type"] == "bool" and parameter["default"] is True
    for module in ("appStorage", "secondaryLanguage"):
        assert (
            render(module_body(parse(MAIN)["modules"][module])["params"]["geoRedundant"])
            == "geoRedundantStorage"
        )
    for _, account in _created_storage_accounts():
        assert render(account["sku"]["name"]) == "geoRedundant ? Standard_RAGRS : Standard_LRS"


def test_snapshot_storage_keeps_versions_and_soft_deleted_blobs() -> None:
    template = parse(INFRA / "app" / "storage.bicep")
    blob_service = next(
        iter(resources_of_type(template, "Microsoft.Storage/storageAccounts/blobServices").values())
    )
    properties = blob_service["config"]["properties"]
    assert properties["isVersioningEnabled"] is True
    assert properties["deleteRetentionPolicy"]["enabled"] is True
    assert properties["containerDeleteRetentionPolicy"]["enabled"] is True
    assert template["parameters"]["softDeleteRetentionDays"]["default"] >= 7


def test_app_storage_holds_the_snapshot_container_and_the_step_queues_the_code_uses() -> None:
    settings = pytest.importorskip("shared.settings")
    template = parse(INFRA / "app" / "storage.bicep")
    main = parse(MAIN)
    assert main["variables"]["snapshotContainerName"]["value"] == settings.DEFAULT_SNAPSHOT_CONTAINER
    assert main["variables"]["routingContainerName"]["value"] == settings.DEFAULT_ROUTING_CONTAINER
    assert main["variables"]["stepQueueName"]["value"] == "replication-steps"
    queues = resources_of_type(template, "Microsoft.Storage/storageAccounts/queueServices/queues")
    assert {render(q["config"]["name"]) for q in queues.values()} == {
        "stepQueueName",
        "${stepQueueName}-poison",
    }
    containers = resources_of_type(template, "Microsoft.Storage/storageAccounts/blobServices/containers")
    assert {render(c["config"]["name"]) for c in containers.values()} == {
        "deploymentContainerName",
        "snapshotContainerName",
        "routingContainerName",
    }


def test_the_app_and_its_snapshots_never_deploy_to_the_primary_region() -> None:
    main = parse(MAIN)
    assert render(main["parameters"]["location"]["default"]) == "resource_group().location"
    for name in ("appStorage", "monitoring", "functionApp", "alerts"):
        body = module_body(main["modules"][name])
        assert render(body["params"]["location"]) == "location", name
        assert "scope" not in body, f"{name} must deploy to this (secondary or third) region's resource group"
    assert render(main["resources"]["appIdentity"]["config"]["location"]) == "location"
    # Only role assignments reach into the primary's resource group; nothing is created there.
    for name, module in main["modules"].items():
        scope = render(module_body(module).get("scope", ""))
        if "primary" in scope:
            assert module["detail"]["path"].startswith("rbac/"), name
    # And the primary's region is never used as a location.
    assert "primaryLanguage.location" not in MAIN.read_text()


def test_secondary_region_is_restricted_to_custom_text_authoring_regions() -> None:
    parameter = parse(MAIN)["parameters"]["secondaryLocation"]
    allowed = next(d["argument"] for d in parameter["decorators"] if d["type"] == "allowed")
    # shared.language.regions is the one list: the app's health and drift checks use it too.
    assert set(allowed) == AUTHORING_REGIONS
    assert not set(allowed) & PREDICTION_ONLY_REGIONS
    assert REGION_SUPPORT_URL.removeprefix("https://") in MAIN.read_text(), (
        "cite Microsoft's published list next to the @allowed list"
    )
    secondary = module_body(parse(MAIN)["modules"]["secondaryLanguage"])
    assert render(secondary["params"]["location"]) == "secondaryLocation"
    # Created where its role assignments are made.
    assert render(secondary["scope"]) == "resource_group(secondaryResourceGroupName)"


def test_created_secondary_has_custom_subdomain_identity_and_linked_storage_in_its_region() -> None:
    path = INFRA / "app" / "language.bicep"
    language = only_resource(path, "Microsoft.CognitiveServices/accounts")
    storage = only_resource(path, "Microsoft.Storage/storageAccounts")
    assert language["kind"] == "TextAnalytics"
    assert language["identity"]["type"] == "SystemAssigned"
    assert render(language["properties"]["customSubDomainName"]) == "customSubDomainName"
    assert [render(s["resourceId"]) for s in language["properties"]["userOwnedStorage"]] == [
        "documentsStorage.id"
    ]
    assert render(language["location"]) == render(storage["location"]) == "location"
    # Optional: an existing secondary can be named instead.
    main = parse(MAIN)
    assert main["parameters"]["createSecondaryLanguage"]["default"] is True
    assert main["modules"]["secondaryLanguage"]["config"]["condition"] == "createSecondaryLanguage"
    assert main["resources"]["existingSecondaryLanguage"]["existing"] is True


def test_custom_subdomain_endpoints_are_output_and_wired_into_the_settings() -> None:
    main = parse(MAIN)
    variables, outputs = main["variables"], main["outputs"]
    settings = variables["productSettings"]["value"]
    assert render(variables["primaryLanguageEndpoint"]["value"]) == "primaryLanguage.properties.endpoint"
    assert render(variables["secondaryLanguageEndpoint"]["value"]) == (
        "createSecondaryLanguage ? secondaryLanguage.outputs.endpoint"
        " : existingSecondaryLanguage.properties.endpoint"
    )
    language_outputs = parse(INFRA / "app" / "language.bicep")["outputs"]
    assert render(language_outputs["endpoint"]["value"]) == "language.properties.endpoint"
    for name, variable in (
        ("PRIMARY_LANGUAGE_ENDPOINT", "primaryLanguageEndpoint"),
        ("SECONDARY_LANGUAGE_ENDPOINT", "secondaryLanguageEndpoint"),
    ):
        assert render(settings[name]) == variable
        assert render(outputs[name]["value"]) == variable


def test_telemetry_goes_to_workspace_based_application_insights_with_entra_id_only() -> None:
    path = INFRA / "app" / "monitoring.bicep"
    workspace = only_resource(path, "Microsoft.OperationalInsights/workspaces")
    components = only_resource(path, "Microsoft.Insights/components")
    assert render(components["properties"]["WorkspaceResourceId"]) == "logAnalytics.id"
    assert components["properties"]["DisableLocalAuth"] is True  # no instrumentation-key ingestion
    assert workspace["properties"]["retentionInDays"] == "retentionInDays"
    # The app sends as its user-assigned identity: connection string plus Entra ID authentication string.
    main = parse(MAIN)
    params = module_body(main["modules"]["functionApp"])["params"]
    assert render(params["applicationInsightsConnectionString"]) == "monitoring.outputs.connectionString"
    assert render(params["identityClientId"]) == "appIdentity.properties.clientId"
    host = parse(INFRA / "app" / "function-app.bicep")["variables"]["hostSettings"]["value"]
    authentication = host["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"]
    assert authentication == "ClientId=${identityClientId};Authorization=AAD"
    assert main["resources"]["appIdentity"]["type"] == "Microsoft.ManagedIdentity/userAssignedIdentities"
