"""The failover client is its own distribution: `pip install ./failover_client` works in a clean venv,
a call through the installed package is answered by an emulated region, and the replicator is not there.
The `conversations` extra is declared, its client answers from a region, and without the conversations
SDK the package still imports and the text client still works.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from azure.ai.language.conversations.authoring import ConversationAuthoringClient
from azure.core.credentials import AzureKeyCredential

from language_failover import __version__
from localdev.conversation_samples import clu_project
from localdev.deploy_sample import deploy_sample_project
from localdev.sample_project import ner_project
from localdev.services import REPO_ROOT, Azurite
from tests.conftest import Regions

DISTRIBUTION = "language-dr-failover"
SOURCE = REPO_ROOT / "failover_client"
PROJECT = ner_project(documents=12)
CLU = clu_project("CoffeeOrders")
POLL = 0.02

# Runs in the clean venv, outside the checkout. The settings come from the environment.
PROBE = """
import importlib.metadata as metadata
import importlib.util
import json
from pathlib import Path

import language_failover
from language_failover import (
    FailoverConversationAnalysisClient,
    FailoverTextAnalyticsClient,
    RegionClientPolicy,
)

client = FailoverTextAnalyticsClient.from_settings(
    client_policy=RegionClientPolicy(retries=0, polling_interval=0.02, read_timeout=10))
with client:
    poller = client.begin_recognize_custom_entities(json.loads(Path("texts.json").read_text()),
                                                    "{project}", "prod")
    documents = list(poller.result())
with FailoverConversationAnalysisClient.from_settings() as conversations:
    answer = conversations.analyze_conversation_with_region({{
        "kind": "Conversation",
        "analysisInput": {{"conversationItem": {{"id": "1", "participantId": "1",
                                                "text": "one small latte"}}}},
        "parameters": {{"projectName": "{clu}", "deploymentName": "prod"}},
    }})
print(json.dumps({{
    "module": language_failover.__file__,
    "version": language_failover.__version__,
    "distribution": metadata.version("{distribution}"),
    "typed": Path(language_failover.__file__).with_name("py.typed").is_file(),
    "replicator": importlib.util.find_spec("shared") is not None,
    "regions": client.region_names,
    "answered_by": poller.region,
    "errors": [d.is_error for d in documents],
    "entities": sum(len(d.entities) for d in documents),
    "extras": metadata.metadata("{distribution}").get_all("Provides-Extra"),
    "requires": metadata.requires("{distribution}"),
    "conversations_answered_by": answer.region,
    "top_intent": answer.result["result"]["prediction"]["topIntent"],
}}))
"""

# Runs in the same venv with the conversations SDK made unimportable: an install without the extra.
WITHOUT_EXTRA = """
import json
import sys

sys.modules["azure.ai.language.conversations"] = None
import language_failover
from language_failover import FailoverTextAnalyticsClient

client = FailoverTextAnalyticsClient.from_settings()
try:
    language_failover.FailoverConversationAnalysisClient
    error = None
except ModuleNotFoundError as missing:
    error = str(missing)
print(json.dumps({"regions": client.region_names, "error": error}))
"""


def make_venv(tmp_path: Path) -> Path:
    """A venv without pip whose dependencies (and the build's setuptools) come from this test's
    environment, so nothing is downloaded; it sees neither the checkout nor any package of ours."""
    venv = tmp_path / "caller-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout.strip()
    Path(purelib, "test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def test_pip_installs_the_failover_client_alone_and_it_answers_from_a_region(
    tmp_path: Path, regions: Regions, azurite: Azurite
) -> None:
    deploy_sample_project(regions.primary.endpoint, regions.primary.key,
                          azurite.connection_string("primarydocs"), PROJECT, deployment="prod")
    authoring = ConversationAuthoringClient(regions.primary.endpoint, AzureKeyCredential(regions.primary.key))
    authoring.begin_import_project("CoffeeOrders", CLU, polling_interval=POLL).result()
    authoring.begin_train("CoffeeOrders", {"modelLabel": "m1", "trainingMode": "standard"},
                          polling_interval=POLL).result()
    authoring.begin_deploy_project("CoffeeOrders", "prod", {"trainedModelLabel": "m1"},
                                   polling_interval=POLL).result()
    # Built from a copy: the build's egg-info and build/ stay out of the checkout.
    source = tmp_path / "failover_client"
    shutil.copytree(SOURCE, source, ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
    python = make_venv(tmp_path)
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-index",
         "--no-deps", "--no-build-isolation", "--disable-pip-version-check", str(source)],
        check=True, timeout=240, cwd=tmp_path,
    )

    caller = tmp_path / "caller"
    caller.mkdir()
    (caller / "texts.json").write_text(json.dumps(list(PROJECT.documents.values())[:3]))
    environment = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"} | {
        "PRIMARY_LANGUAGE_ENDPOINT": regions.primary.endpoint,
        "PRIMARY_LANGUAGE_KEY": regions.primary.key,
        # The secondary has no deployment: a healthy primary answers alone.
        "SECONDARY_LANGUAGE_ENDPOINT": regions.secondary.endpoint,
        "SECONDARY_LANGUAGE_KEY": regions.secondary.key,
        "SECONDARY_REGION": "westus2",
    }
    probe = PROBE.format(project=PROJECT.name, clu="CoffeeOrders", distribution=DISTRIBUTION)
    result = subprocess.run(
        [python, "-c", probe], cwd=caller, env=environment, check=True, capture_output=True, text=True,
        timeout=120,
    )
    report = json.loads(result.stdout)
    assert Path(report["module"]).is_relative_to(tmp_path / "caller-venv"), "not the installed package"
    assert report["version"] == report["distribution"] == __version__
    assert report["typed"]
    assert report["replicator"] is False, "the replicator's `shared` package is importable beside it"
    assert report["regions"] == ["primary", "westus2"]
    assert report["answered_by"] == "primary"
    assert report["errors"] == [False, False, False]
    assert report["entities"] > 0
    assert report["extras"] == ["conversations"]
    assert 'azure-ai-language-conversations<2,>=1.1; extra == "conversations"' in report["requires"]
    assert not [r for r in report["requires"] if "conversations" in r and "extra ==" not in r]
    assert (report["conversations_answered_by"], report["top_intent"]) == ("primary", "OrderDrink")

    without = subprocess.run(
        [python, "-c", WITHOUT_EXTRA], cwd=caller, env=environment, check=True, capture_output=True,
        text=True, timeout=120,
    )
    report = json.loads(without.stdout)
    assert report["regions"] == ["primary", "westus2"]
    assert 'pip install "language-dr-failover[conversations]"' in report["error"]

