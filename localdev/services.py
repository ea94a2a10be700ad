"""Start and stop the local stand-ins for Azure: Azurite and emulated Language regions.

Every process listens on 127.0.0.1 on a free port and is stopped by its PID.
"""

from __future__ import annotations

import fcntl
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
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


# Ports are handed out in blocks, each held by one process through an flock on a file of its own: two
# processes on this machine (pytest-xdist workers, a demo or benchmark a test starts, another checkout's
# test run) never hand out the same port, and the kernel releases a dead process's blocks.
PORT_BLOCK = 32
PORT_LOCK_DIR = Path(tempfile.gettempdir()) / "language-dr-ports"


def _port_floor() -> int:
    """Where the blocks start: above the well-known ports (and the demo's) when the range allows."""
    return 20000 if _ephemeral_range()[0] > 20000 + 10 * PORT_BLOCK else 1024


def port_block_of(port: int) -> int:
    """The first port of the block that holds `port`."""
    return port - (port - _port_floor()) % PORT_BLOCK


class _PortBlocks:
    """The port blocks this process holds; each of their ports is handed out once."""

    def __init__(self) -> None:
        self.locks: list[int] = []  # descriptors held open: closing one would release its block
        self.ports: list[int] = []  # not yet handed out, from the blocks held
        self.pid = os.getpid()

    def reserve_block(self) -> bool:
        starts = list(range(_port_floor(), _ephemeral_range()[0] - PORT_BLOCK + 1, PORT_BLOCK))
        random.Random().shuffle(starts)  # processes starting together try different blocks first
        try:
            PORT_LOCK_DIR.mkdir(mode=0o777, exist_ok=True)
        except OSError:
            return False
        for first in starts:
            descriptor = hold_port_block(first)
            if descriptor is not None:
                self.locks.append(descriptor)
                self.ports.extend(range(first, first + PORT_BLOCK))
                return True
        return False


def hold_port_block(first: int) -> int | None:
    """The descriptor that holds the block of ports from `first` for this process; None if it is held."""
    try:
        descriptor = os.open(PORT_LOCK_DIR / f"{first}.lock", os.O_RDWR | os.O_CREAT, 0o666)
    except OSError:
        return None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(descriptor)
        return None
    return descriptor


_BLOCKS = _PortBlocks()
_BLOCKS_LOCK = threading.Lock()


def port_is_free(port: int) -> bool:
    """Whether a server could listen on `port` on 127.0.0.1 now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As our servers do: a port in TIME_WAIT (say, the previous demo's) is free for a new listener.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port() -> int:
    """A TCP port on 127.0.0.1, free right now, that no other process of ours will hand out.

    Below the kernel's ephemeral range: a port from there (bind(0)) may be taken by any outgoing
    connection (a test's HTTP client, Azurite's own) before the server we start binds it. From a block
    this process holds (see PORT_BLOCK), so no other worker or subprocess is handed it, and handed out
    once per process, so two calls before either server binds never get the same port. A port that a
    process not using this function holds is skipped.
    """
    global _BLOCKS
    with _BLOCKS_LOCK:  # threads starting services together (the benchmarks') share the blocks
        if _BLOCKS.pid != os.getpid():  # a forked child must not hand out its parent's ports again
            _BLOCKS = _PortBlocks()
        while _BLOCKS.ports or _BLOCKS.reserve_block():
            port = _BLOCKS.ports.pop(0)
            if port_is_free(port):
                return port
    # No block left to hold (or no lock directory): the kernel's choice, free but unguarded.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# A first start that finds a port taken (by a process not using free_port) tries again on new ports.
START_ATTEMPTS = 3


class PortTaken(RuntimeError):
    """Another process listens on a port we meant to serve on."""


def _listening_socket_inodes(port: int) -> set[str] | None:
    """The inodes of the sockets listening on TCP `port`, or None where /proc cannot tell."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            if table.endswith("tcp"):
                return None
            continue
        for line in lines:
            fields = line.split()
            # local_address is HEXIP:HEXPORT; state 0A is LISTEN; field 9 is the socket's inode.
            if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes


def _socket_inodes_of(pid: int) -> set[str]:
    """The inodes of the sockets open in `pid` and its children."""
    pids = [pid]
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            pids += [int(child) for child in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
    except OSError:
        pass
    inodes: set[str] = set()
    for owner in pids:
        try:
            descriptors = os.listdir(f"/proc/{owner}/fd")
        except OSError:
            continue
        for descriptor in descriptors:
            try:
                target = os.readlink(f"/proc/{owner}/fd/{descriptor}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[len("socket:["):-1])
    return inodes


def listener_is(process: subprocess.Popen[bytes], port: int) -> bool | None:
    """Whether `process` (or a child of it) is what listens on `port`; None where /proc cannot tell."""
    listening = _listening_socket_inodes(port)
    if listening is None:
        return None
    return bool(listening & _socket_inodes_of(process.pid))


def wait_until_listening(port: int, timeout: float, process: subprocess.Popen[bytes] | None = None) -> None:
    """Wait until `port` accepts connections; given `process`, until it is that process that listens.

    Something else answering on the port (another process handed the same port, or one not ours) is
    not our server: it raises PortTaken as soon as our process exits, which a server does when its
    bind fails.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            if not port_is_free(port):
                raise PortTaken(f"127.0.0.1:{port} is taken by another process")
            raise RuntimeError(f"process exited with code {process.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                if process is None or listener_is(process, port) is not False:
                    return
        except OSError:
            pass
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


def start_moving_off_taken_ports(start_once: Callable[[], None], stop: Callable[[], None],
                                 choose_ports: Callable[[], None] | None) -> None:
    """`start_once`, again on new ports (`choose_ports`) while another process turns out to hold one
    (PortTaken), up to START_ATTEMPTS times; `choose_ports` None: the ports were given, so fail."""
    for attempt in range(START_ATTEMPTS):
        try:
            start_once()
            return
        except PortTaken:
            stop()
            if choose_ports is None or attempt == START_ATTEMPTS - 1:
                raise
            choose_ports()


@dataclass
class Azurite:
    """One Azurite process serving blob and queue for several storage accounts."""

    # 0: a free port, chosen here (and chosen again if the first start finds it taken).
    blob_port: int = 0
    queue_port: int = 0
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="azurite-")))
    process: subprocess.Popen[bytes] | None = None
    started_at: float | None = None
    # Benchmarks of large projects: blob lookups by name (localdev/azurite_name_lookups.js says why).
    name_lookups: bool = False
    _may_choose_ports: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.blob_port == 0 and self.queue_port == 0:
            self._may_choose_ports = True
            self.blob_port, self.queue_port = free_port(), free_port()

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
        """Start Azurite; on ports it chose, a port another process took is replaced by a free one."""

        def choose_ports() -> None:
            self.blob_port, self.queue_port = free_port(), free_port()

        start_moving_off_taken_ports(lambda: self._start_once(timeout), self._stop_process,
                                     choose_ports if self._may_choose_ports else None)
        self._may_choose_ports = False  # clients now hold these ports: a restart keeps them
        return self

    def _start_once(self, timeout: float) -> None:
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

    def _stop_process(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None

    def stop(self) -> None:
        self._stop_process()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def restart(self) -> None:
        """A fresh, empty Azurite on the same ports (clients keep their connection strings)."""
        self._stop_process()
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
    # 0: a free port, chosen here (and chosen again if the first start finds it taken).
    port: int = 0
    control_port: int = 0
    state_dir: Path | None = None
    extra_args: list[str] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    _may_choose_ports: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.port == 0 and self.control_port == 0:
            self._may_choose_ports = True
        self.port = self.port or free_port()
        self.control_port = self.control_port or free_port()

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
        """Start the region; on ports it chose, a port another process took is replaced by a free one."""
        if self.log_path is None:
            self.log_path = Path(tempfile.mkdtemp(prefix="emulator-")) / f"{self.region}.log"
        log_path = self.log_path

        def start_once() -> None:
            log = open(log_path, "ab")  # noqa: SIM115 - the child holds its own descriptor
            self.process = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT
            )
            log.close()
            self.wait_healthy(timeout)

        def choose_ports() -> None:
            self.port, self.control_port = free_port(), free_port()

        start_moving_off_taken_ports(start_once, self.stop, choose_ports if self._may_choose_ports else None)
        self._may_choose_ports = False  # clients now hold these ports: a restart after kill() keeps them
        return self

    def wait_healthy(self, timeout: float) -> None:
        """Wait until this process answers health on its control port and listens on both ports."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        url = f"{self.control_url}/_emulator/health"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                for port in (self.port, self.control_port):
                    if not port_is_free(port):
                        raise PortTaken(f"127.0.0.1:{port} is taken by another process; log: {self.log_path}")
                raise RuntimeError(f"emulator exited with {self.process.returncode}; log: {self.log_path}")
            try:
                with urllib.request.urlopen(url, timeout=1) as response:
                    # Another process's server answering on our control port is not our region.
                    if response.status == 200 and listener_is(self.process, self.control_port) is not False:
                        wait_until_listening(self.port, deadline - time.monotonic(), self.process)
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
