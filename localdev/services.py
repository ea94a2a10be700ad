"""Start and stop the local stand-ins for Azure: Azurite and emulated Language regions.

Every process listens on 127.0.0.1 on a free port and is stopped by its PID.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

# Azurite's well-known development account plus two more, so each emulated Language
# resource can be linked to a storage account of its own, as in Azure.
DEV_ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
ACCOUNTS = ("devstoreaccount1", "primarydocs", "secondarydocs")


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now, below the kernel's ephemeral range.

    A port the kernel handed out for bind(0) comes from the ephemeral range, where any outgoing
    connection (a test's HTTP client, Azurite's own) may take it before the server we start binds it.
    Below that range only another listener can take it. A port is handed out once per process, so two
    calls before either server binds (Azurite's blob and queue ports) never get the same one.
    """
    low, _ = _ephemeral_range()
    floor = 20000 if low > 20200 else 1024
    candidates = random.Random().sample(range(floor, low), k=min(200, low - floor))
    for port in candidates:
        if port in _HANDED_OUT:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            # As our servers do: a port in TIME_WAIT is free for a new listener.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            _HANDED_OUT.add(port)
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_listening(port: int, timeout: float, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with code {process.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listened on 127.0.0.1:{port} within {timeout} s")


def stop_process(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Stop a process we started, by its PID: SIGTERM, then SIGKILL."""
    if process.poll() is not None:
        return
    os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)


# Azurite's blob GC first runs at start, then every 10 minutes (DEFAULT_GC_INTERVAL_MS); a process
# recycled before that never runs a sweep over a large heap of garbage (see Azurite.clear).
RECYCLE_AFTER = 8 * 60.0
NAME_LOOKUPS_LAUNCHER = Path(__file__).resolve().parent / "azurite_name_lookups.js"


@dataclass
class Azurite:
    """One Azurite process serving blob and queue for several storage accounts."""

    blob_port: int = field(default_factory=free_port)
    queue_port: int = field(default_factory=free_port)
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="azurite-")))
    process: subprocess.Popen[bytes] | None = None
    started_at: float | None = None
    # Benchmarks of large projects: blob lookups by name (localdev/azurite_name_lookups.js says why).
    name_lookups: bool = False

    def connection_string(self, account: str = "devstoreaccount1") -> str:
        return (
            "DefaultEndpointsProtocol=http;"
            f"AccountName={account};AccountKey={DEV_ACCOUNT_KEY};"
            f"BlobEndpoint=http://127.0.0.1:{self.blob_port}/{account};"
            f"QueueEndpoint=http://127.0.0.1:{self.queue_port}/{account};"
        )

    def blob_url(self, account: str = "devstoreaccount1") -> str:
        return f"http://127.0.0.1:{self.blob_port}/{account}"

    def start(self, timeout: float = 60.0) -> Azurite:
        binary = REPO_ROOT / "node_modules" / ".bin" / "azurite"
        if not binary.exists():
            raise RuntimeError("Azurite is not installed: run `npm ci` in the repository root")
        env = dict(os.environ)
        env["AZURITE_ACCOUNTS"] = ";".join(f"{name}:{DEV_ACCOUNT_KEY}" for name in ACCOUNTS)
        # Appended to: a recycled Azurite's log follows its predecessor's.
        log = open(self.workdir / "azurite.log", "ab")  # noqa: SIM115 - closed once the child holds it
        launcher = ["node", str(NAME_LOOKUPS_LAUNCHER)] if self.name_lookups else [str(binary)]
        self.process = subprocess.Popen(
            [
                *launcher,
                "--silent",
                "--skipApiVersionCheck",
                "--disableTelemetry",
                "--inMemoryPersistence",
                "--blobHost", "127.0.0.1", "--blobPort", str(self.blob_port),
                "--queueHost", "127.0.0.1", "--queuePort", str(self.queue_port),
                "--tableHost", "127.0.0.1", "--tablePort", str(free_port()),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=self.workdir,
        )
        log.close()  # the child has its own descriptor; ours would leak at every recycle
        wait_until_listening(self.blob_port, timeout, self.process)
        wait_until_listening(self.queue_port, timeout, self.process)
        self.started_at = time.monotonic()
        return self

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None
        shutil.rmtree(self.workdir, ignore_errors=True)

    def restart(self) -> None:
        """A fresh, empty Azurite on the same ports (clients keep their connection strings)."""
        if self.process is not None:
            stop_process(self.process)
            self.process = None
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.start()

    def clear(self) -> None:
        """Delete every container and queue in every account (between tests).

        An in-memory Azurite older than RECYCLE_AFTER is restarted instead, on the same ports: every ten
        minutes its blob garbage collector removes the extents of deleted blobs one by one, each removal
        a scan of all extents, and after a few thousand test blobs that blocks every request for minutes.
        A fresh process holds nothing, exactly what clearing it would leave.
        """
        if self.started_at is not None and time.monotonic() - self.started_at > RECYCLE_AFTER:
            self.restart()
            return
        from azure.storage.blob import BlobServiceClient
        from azure.storage.queue import QueueServiceClient

        for account in ACCOUNTS:
            blobs = BlobServiceClient.from_connection_string(self.connection_string(account))
            for container in blobs.list_containers():
                blobs.delete_container(container.name)
            queues = QueueServiceClient.from_connection_string(self.connection_string(account))
            for queue in queues.list_queues():
                queues.delete_queue(queue.name)


@dataclass
class EmulatorRegion:
    """One `python -m emulator` process: one Language resource in one region."""

    storage_connection_string: str
    region: str = "eastus"
    key: str = field(default_factory=lambda: "key-" + os.urandom(8).hex())
    secondary_key: str = field(default_factory=lambda: "key2-" + os.urandom(8).hex())
    time_scale: float = 0.001
    port: int = field(default_factory=free_port)
    control_port: int = field(default_factory=free_port)
    state_dir: Path | None = None
    extra_args: list[str] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def control_url(self) -> str:
        return f"http://127.0.0.1:{self.control_port}"

    def command(self) -> list[str]:
        args = [
            sys.executable, "-m", "emulator",
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--key", self.key,
            "--secondary-key", self.secondary_key,
            "--storage-connection-string", self.storage_connection_string,
            "--region", self.region,
            "--time-scale", repr(self.time_scale),
            "--control-port", str(self.control_port),
        ]
        if self.state_dir is not None:
            args += ["--state-dir", str(self.state_dir)]
        return args + self.extra_args

    def start(self, timeout: float = 30.0) -> EmulatorRegion:
        if self.log_path is None:
            self.log_path = Path(tempfile.mkdtemp(prefix="emulator-")) / f"{self.region}.log"
        log = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the process
        self.process = subprocess.Popen(
            self.command(), stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT
        )
        self.wait_healthy(timeout)
        return self

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        url = f"{self.control_url}/_emulator/health"
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"emulator exited with {self.process.returncode}; log: {self.log_path}")
            try:
                with urllib.request.urlopen(url, timeout=1) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        raise TimeoutError(f"emulator not healthy within {timeout} s; log: {self.log_path}")

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None

    def kill(self) -> None:
        """Die like a region does: no goodbye."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def control(self, path: str, body: bytes = b"{}") -> bytes:
        request = urllib.request.Request(
            f"{self.control_url}{path}", data=body, method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return bytes(response.read())

    def reset(self) -> None:
        self.control("/_emulator/reset")
