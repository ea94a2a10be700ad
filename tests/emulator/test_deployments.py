"""Contract: deployments (PUT/GET/list/DELETE), deployment and swap jobs, pinning, limits, expiry."""

from __future__ import annotations

import copy
from datetime import date

from emulator.timefmt import parse_date
from tests.emulator.authoring_client import DEPLOYMENT_FIELDS, error_of
from tests.emulator.conftest import Api


def deploy_location(api: Api, project: str, deployment: str, label: str = "model1") -> str:
    response = api.call(
        "PUT", f"/projects/{project}/deployments/{deployment}", json={"trainedModelLabel": label}
    )
    return api.accepted(response)


def test_deploy_job_then_deployment_body(api: Api) -> None:
    project = api.ready_project(train=True)
    location = deploy_location(api, project.name, "prod")
    assert f"/projects/{project.name}/deployments/prod/jobs/" in location
    assert api.get(location).get_json()["status"] == "notStarted"
    assert api.get(f"/projects/{project.name}/deployments/prod").status_code == 404
    assert api.wait(location)["status"] == "succeeded"
    deployment = api.get(f"/projects/{project.name}/deployments/prod").get_json()
    model = api.get(f"/projects/{project.name}/models/model1").get_json()
    assert set(deployment) == DEPLOYMENT_FIELDS
    assert deployment["modelId"] == model["modelId"]
    assert deployment["lastTrainedDateTime"] == model["lastTrainedDateTime"]
    assert deployment["modelTrainingConfigVersion"] == "2022-05-01"
    # Deployments outlive their model's training config by a year.
    assert (
        parse_date(deployment["deploymentExpirationDate"]) - parse_date(model["modelExpirationDate"])
    ).days == 365
    assert api.get(f"/projects/{project.name}/deployments").get_json() == {
        "value": [deployment],
        "nextLink": None,
    }
    assert (
        api.get(f"/projects/{project.name}").get_json()["lastDeployedDateTime"]
        == deployment["lastDeployedDateTime"]
    )


def test_a_deployment_pins_its_model_until_redeployed(api: Api) -> None:
    project = api.ready_project(deploy="prod")
    pinned = api.get(f"/projects/{project.name}/deployments/prod").get_json()["modelId"]
    served_before = api.context.resource.deployed_artifact(project.name, "prod")
    fewer = copy.deepcopy(project.export)
    fewer["assets"]["documents"] = fewer["assets"]["documents"][:8]
    assert (
        api.wait(api.accepted(api.post(f"/projects/{project.name}/:import", json=fewer)))["status"]
        == "succeeded"
    )
    assert api.train(project.name)["status"] == "succeeded"
    retrained = api.get(f"/projects/{project.name}/models/model1").get_json()["modelId"]
    assert retrained != pinned
    assert api.get(f"/projects/{project.name}/deployments/prod").get_json()["modelId"] == pinned
    assert api.context.resource.deployed_artifact(project.name, "prod") == served_before
    assert api.deploy(project.name, "prod")["status"] == "succeeded"
    assert api.get(f"/projects/{project.name}/deployments/prod").get_json()["modelId"] == retrained
    served_after = api.context.resource.deployed_artifact(project.name, "prod")
    assert served_after is not None and served_after != served_before


def test_deleting_a_deployed_model_keeps_the_deployment_serving(api: Api) -> None:
    project = api.ready_project(deploy="prod")
    assert api.call("DELETE", f"/projects/{project.name}/models/model1").status_code == 204
    assert api.context.resource.deployed_artifact(project.name, "prod") is not None


def test_deploying_a_missing_model_is_refused(api: Api) -> None:
    project = api.ready_project()
    response = api.call(
        "PUT", f"/projects/{project.name}/deployments/prod", json={"trainedModelLabel": "none"}
    )
    assert response.status_code == 404
    assert error_of(response)["code"] == "NotFound"
    api.control("/behaviour", {"deployMissingModelStatus": 400})
    response = api.call(
        "PUT", f"/projects/{project.name}/deployments/prod", json={"trainedModelLabel": "none"}
    )
    assert response.status_code == 400
    assert api.call("PUT", f"/projects/{project.name}/deployments/prod", json={}).status_code == 400
    assert (
        api.call(
            "PUT", f"/projects/{project.name}/deployments/bad name", json={"trainedModelLabel": "model1"}
        ).status_code
        == 400
    )


def test_delete_deployment_runs_a_job(api: Api) -> None:
    project = api.ready_project(deploy="prod")
    location = api.accepted(api.call("DELETE", f"/projects/{project.name}/deployments/prod"))
    assert "/deployments/prod/jobs/" in location
    assert api.wait(location)["status"] == "succeeded"
    missing = api.get(f"/projects/{project.name}/deployments/prod")
    assert missing.status_code == 404 and error_of(missing)["code"] == "NotFound"
    assert api.call("DELETE", f"/projects/{project.name}/deployments/prod").status_code == 404


def test_swap_exchanges_the_models_of_two_deployments(api: Api) -> None:
    project = api.ready_project(deploy="prod")
    assert api.train(project.name, "model2")["status"] == "succeeded"
    assert api.deploy(project.name, "staging", "model2")["status"] == "succeeded"
    prod = api.get(f"/projects/{project.name}/deployments/prod").get_json()["modelId"]
    staging = api.get(f"/projects/{project.name}/deployments/staging").get_json()["modelId"]
    location = api.accepted(
        api.post(
            f"/projects/{project.name}/deployments/:swap",
            json={"firstDeploymentName": "prod", "secondDeploymentName": "staging"},
        )
    )
    assert f"/projects/{project.name}/deployments/swap/jobs/" in location
    assert api.wait(location)["status"] == "succeeded"
    assert api.get(f"/projects/{project.name}/deployments/prod").get_json()["modelId"] == staging
    assert api.get(f"/projects/{project.name}/deployments/staging").get_json()["modelId"] == prod
    missing = api.post(
        f"/projects/{project.name}/deployments/:swap",
        json={"firstDeploymentName": "prod", "secondDeploymentName": "nope"},
    )
    assert missing.status_code == 404


def test_ten_deployments_per_project(api: Api) -> None:
    project = api.ready_project(train=True)
    for index in range(10):
        deploy_location(api, project.name, f"d{index}")
    api.clock.advance(3600)
    refused = api.call(
        "PUT", f"/projects/{project.name}/deployments/d10", json={"trainedModelLabel": "model1"}
    )
    assert refused.status_code == 400
    assert deploy_location(api, project.name, "d3")  # redeploying an existing name is fine


def test_near_expiry_dates_can_be_injected(api: Api) -> None:
    project = api.ready_project(deploy="prod")
    api.control(
        "/expiry/models", {"project": project.name, "label": "model1", "modelExpirationDate": "2026-02-01"}
    )
    api.control("/expiry/deployments", {"project": project.name, "deployment": "prod", "inDays": 3})
    assert (
        api.get(f"/projects/{project.name}/models/model1").get_json()["modelExpirationDate"] == "2026-02-01"
    )
    expected = date.fromordinal(api.clock.now().date().toordinal() + 3).isoformat()
    assert (
        api.get(f"/projects/{project.name}/deployments/prod").get_json()["deploymentExpirationDate"]
        == expected
    )


def test_expired_models_cannot_be_deployed_and_expired_deployments_do_not_serve(api: Api) -> None:
    project = api.ready_project(deploy="prod")
    api.control("/expiry/models", {"project": project.name, "label": "model1", "inDays": -1})
    refused = api.call(
        "PUT", f"/projects/{project.name}/deployments/other", json={"trainedModelLabel": "model1"}
    )
    assert refused.status_code == 400 and "expired" in error_of(refused)["message"]
    assert api.context.resource.deployed_artifact(project.name, "prod") is not None
    api.control("/expiry/deployments", {"project": project.name, "deployment": "prod", "inDays": -1})
    assert api.context.resource.deployed_artifact(project.name, "prod") is None


def test_deleting_a_project_removes_its_models_and_deployments(api: Api) -> None:
    project = api.ready_project(deploy="prod")
    assert api.wait(api.accepted(api.call("DELETE", f"/projects/{project.name}")))["status"] == "succeeded"
    assert api.context.resource.deployed_artifact(project.name, "prod") is None
    assert api.context.resource.state.artifacts == {}
    assert api.get(f"/projects/{project.name}/models").status_code == 404
