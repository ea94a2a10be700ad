"""An application outside this repository can `pip install` it and use FailoverTextAnalyticsClient."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from localdev.services import REPO_ROOT

DISTRIBUTION = "language-dr-replicator"


def test_pip_installs_the_shared_package_into_a_fresh_venv_offline(tmp_path: Path) -> None:
    # The files a build of the repository reads, copied so the build leaves the checkout untouched.
    source = tmp_path / "repo"
    source.mkdir()
    shutil.copy(REPO_ROOT / "pyproject.toml", source)
    shutil.copytree(REPO_ROOT / "shared", source / "shared", ignore=shutil.ignore_patterns("__pycache__"))

    venv = tmp_path / "app-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout.strip()
    # No network: the dependencies (and setuptools for the build) come from this test's environment.
    Path(purelib, "test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-index",
         "--no-build-isolation", "--disable-pip-version-check", str(source)],
        check=True, timeout=240, cwd=tmp_path,
    )

    probe = (
        "import importlib.metadata as metadata\n"
        "import shared.failover\n"
        "from shared.failover import FailoverTextAnalyticsClient, RegionEndpoint\n"
        "from azure.core.credentials import AzureKeyCredential\n"
        "client = FailoverTextAnalyticsClient(\n"
        "    RegionEndpoint('eastus', 'https://a.example', AzureKeyCredential('k')),\n"
        "    [RegionEndpoint('westus2', 'https://b.example', AzureKeyCredential('k'))])\n"
        "print(shared.failover.__file__)\n"
        f"print(metadata.version({DISTRIBUTION!r}))\n"
        "print(client.region_names)\n"
    )
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    result = subprocess.run(
        [python, "-c", probe], cwd=outside, check=True, capture_output=True, text=True, timeout=60
    )
    module_file, version, regions = result.stdout.strip().splitlines()
    assert Path(module_file).is_relative_to(venv), "imported from the checkout, not the installed package"
    assert version == "0.1.0"
    assert regions == "['eastus', 'westus2']"
