"""Role assignments: least privilege, each role definition GUID commented with its role name."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.infra.templates import GUID, INFRA, MAIN, bicep_files, module_body, module_condition, parse, render

# Built-in role definitions (learn.microsoft.com/azure/role-based-access-control/built-in-roles).
ROLE_NAMES = {
    "7628b7b8-a8b2-4cdc-b46f-e9b35248918e": "Cognitive Services Language Reader",
    "f07febfe-79bc-46b1-8b37-790e26e6e498": "Cognitive Services Language Owner",
    "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1": "Storage Blob Data Reader",
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor",
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
    "974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Storage Queue Data Contributor",
    "3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
}

APP = "appIdentity.properties.principalId"
PRIMARY_SCOPE = "resource_group(primaryResourceGroupName, primarySubscriptionId)"
PRIMARY_DOCUMENTS_SCOPE = "resource_group(primaryDocumentsStorageResourceGroupName, primarySubscriptionId)"
SECONDARY_SCOPE = "resource_group(secondaryResourceGroupName)"


@dataclass(frozen=True)
class Assignment:
    role: str
    principal: str
    target: str  # the account, storage account or component the role is granted on
    scope: str  # the resource group the rbac module deploys to ("" = this one)
    condition: str | None


def role_of(key: str) -> str:
    guid = parse(MAIN)["variables"]["roles"]["value"][key]
    return ROLE_NAMES[guid]


def assignments() -> set[Assignment]:
    found = set()
    for module in parse(MAIN)["modules"].values():
        if not module["detail"]["path"].startswith("rbac/"):
            continue
        body = module_body(module)
        params = body["params"]
        target = next(render(v) for k, v in params.items() if k.endswith("Name"))
        role_reference = render(params["roleDefinitionId"])
        assert role_reference.startswith("roles."), "roles are named through main.bicep's roles variable"
        found.add(
            Assignment(
                role=role_of(role_reference.removeprefix("roles.")),
                principal=render(params["principalId"]),
                target=target,
                scope=render(body.get("scope", "")),
                condition=module_condition(module),
            )
        )
    return found


SECONDARY_LANGUAGE = (
    "createSecondaryLanguage ? secondaryLanguage.outputs.name : existingSecondaryLanguage.name"
)
SECONDARY_DOCUMENTS = (
    "createSecondaryLanguage ? secondaryLanguage.outputs.documentsStorageName"
    " : existingSecondaryDocumentsStorage.name"
)
SECONDARY_IDENTITY = (
    "createSecondaryLanguage ? secondaryLanguage.outputs.principalId"
    " : existingSecondaryLanguage.identity.principalId"
)

EXPECTED = {
    # The primary: read and export (Reader may export), read its documents.
    Assignment("Cognitive Services Language Reader", APP, "primaryLanguage.name", PRIMARY_SCOPE, None),
    Assignment(
        "Storage Blob Data Reader", APP, "primaryDocumentsStorage.name", PRIMARY_DOCUMENTS_SCOPE, None
    ),
    # Restore into the primary, only when asked for.
    Assignment(
        "Cognitive Services Language Owner",
        APP,
        "primaryLanguage.name",
        PRIMARY_SCOPE,
        "allowRestoreToPrimary",
    ),
    Assignment(
        "Storage Blob Data Contributor",
        APP,
        "primaryDocumentsStorage.name",
        PRIMARY_DOCUMENTS_SCOPE,
        "allowRestoreToPrimary",
    ),
    # The secondary: import, train and deploy (deploy needs Owner); write its documents.
    Assignment("Cognitive Services Language Owner", APP, SECONDARY_LANGUAGE, SECONDARY_SCOPE, None),
    Assignment("Storage Blob Data Contributor", APP, SECONDARY_DOCUMENTS, SECONDARY_SCOPE, None),
    # Each Language resource's system identity on its own documents storage.
    Assignment(
        "Storage Blob Data Contributor",
        "primaryLanguage.identity.principalId",
        "primaryDocumentsStorage.name",
        PRIMARY_DOCUMENTS_SCOPE,
        "assignLanguageStorageRoles",
    ),
    Assignment(
        "Storage Blob Data Contributor",
        SECONDARY_IDENTITY,
        SECONDARY_DOCUMENTS,
        SECONDARY_SCOPE,
        "assignLanguageStorageRoles",
    ),
    # The app's own storage and telemetry.
    Assignment("Storage Blob Data Owner", APP, "appStorage.outputs.name", "", None),
    Assignment("Storage Queue Data Contributor", APP, "appStorage.outputs.name", "", None),
    Assignment("Monitoring Metrics Publisher", APP, "monitoring.outputs.applicationInsightsName", "", None),
    # Prediction callers: read the promotion record (scoped to the routing container, see below).
    Assignment("Storage Blob Data Reader", "routingReaderPrincipalId", "appStorage.outputs.name", "",
               "!empty(routingReaderPrincipalId)"),
}


def test_callers_read_the_routing_container_and_nothing_else_of_the_app_s_storage() -> None:
    body = module_body(parse(MAIN)["modules"]["routingReader"])
    assert render(body["params"]["containerName"]) == "appStorage.outputs.routingContainerName"
    module = parse(INFRA / "rbac" / "container-role.bicep")
    [assignment] = [r for r in module["resources"].values()
                    if r["type"] == "Microsoft.Authorization/roleAssignments"]
    assert render(assignment["config"]["scope"]) == "container"


def test_role_assignments_are_exactly_the_least_privileged_set() -> None:
    actual = assignments()
    assert actual - EXPECTED == set(), "unexpected (more privileged?) role assignments"
    assert EXPECTED - actual == set(), "missing role assignments"


def test_restore_to_primary_is_off_by_default() -> None:
    parameter = parse(MAIN)["parameters"]["allowRestoreToPrimary"]
    assert parameter["type"] == "bool" and parameter["default"] is False
    unconditional_on_primary = {
        a.role for a in assignments() if a.principal == APP and "primary" in a.scope and a.condition is None
    }
    assert unconditional_on_primary == {"Cognitive Services Language Reader", "Storage Blob Data Reader"}


def test_the_roles_variable_names_each_guid_once() -> None:
    roles = parse(MAIN)["variables"]["roles"]["value"]
    assert set(roles.values()) == set(ROLE_NAMES)
    assert len(roles) == len(ROLE_NAMES)


@pytest.mark.parametrize("path", bicep_files(), ids=lambda p: str(p.relative_to(INFRA)))
def test_every_role_guid_is_commented_with_its_role_name(path) -> None:
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        for guid in GUID.findall(line):
            assert guid.lower() in ROLE_NAMES, f"{path.name}:{number}: unknown GUID {guid}"
            code, _, comment = line.partition("//")
            assert guid in code
            assert comment.strip() == ROLE_NAMES[guid.lower()], f"{path.name}:{number}: comment the role name"


@pytest.mark.parametrize("name", ["language-role.bicep", "storage-role.bicep", "monitoring-role.bicep"])
def test_rbac_modules_assign_on_the_resource_itself_with_a_stable_name(name: str) -> None:
    template = parse(INFRA / "rbac" / name)
    (assignment,) = [
        r["config"]
        for r in template["resources"].values()
        if r["type"] == "Microsoft.Authorization/roleAssignments"
    ]
    (target,) = [n for n, r in template["resources"].items() if r.get("existing")]
    assert render(assignment["scope"]) == target
    assert render(assignment["name"]) == f"guid({target}.id, principalId, roleDefinitionId)"
    assert render(assignment["properties"]["roleDefinitionId"]) == (
        "subscription_resource_id(Microsoft.Authorization/roleDefinitions, roleDefinitionId)"
    )
    assert assignment["properties"]["principalType"] == "principalType"
