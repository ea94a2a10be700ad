"""The local stand-ins start, answer and reset: every other integration test relies on them."""

import json
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from azure.storage.blob import BlobServiceClient

from localdev.services import (
    PORT_BLOCK,
    RECYCLE_AFTER,
    Azurite,
    EmulatorRegion,
    PortTaken,
    free_port,
    port_block_of,
    stop_process,
    wait_until_listening,
)


def test_azurite_serves_each_account_separately(azurite: Azurite) -> None:
    primary = BlobServiceClient.from_connection_string(azurite.connection_string("primarydocs"))
    secondary = BlobServiceClient.from_connection_string(azurite.connection_string("secondarydocs"))
    primary.create_container("docs").upload_blob("a.txt", b"hello")
    assert [c.name for c in primary.list_containers()] == ["docs"]
    assert list(secondary.list_containers()) == []


def test_azurite_is_cleared_between_tests(azurite: Azurite) -> None:
    blobs = BlobServiceClient.from_connection_string(azurite.connection_string("primarydocs"))
    assert list(blobs.list_containers()) == []


def test_an_old_azurite_is_recycled_on_the_same_ports_instead_of_cleared() -> None:
    own = Azurite().start()
    try:
        blobs = BlobServiceClient.from_connection_string(own.connection_string("primarydocs"))
        blobs.create_container("docs").upload_blob("a.txt", b"hello")
        first_pid = own.process.pid if own.process else None
        own.started_at = time.monotonic() - RECYCLE_AFTER - 1  # as if it had served a long session

        own.clear()

        assert own.process is not None and own.process.pid != first_pid  # a fresh process...
        assert list(blobs.list_containers()) == []  # ...on the same ports, holding nothing
        blobs.create_container("again")
    finally:
        own.stop()


@pytest.mark.integration
def test_azurite_with_name_lookups_finds_the_blob_of_its_own_account_and_container() -> None:
    """The benchmarks' Azurite (localdev/azurite_name_lookups.js) looks blobs up by name first: the same
    name in two containers of two accounts must still be four blobs, each read, replaced and listed alone."""
    own = Azurite(name_lookups=True).start()
    try:
        folders = {(account, container): BlobServiceClient.from_connection_string(
                       own.connection_string(account)).get_container_client(container)
                   for account in ("primarydocs", "secondarydocs") for container in ("one", "two")}
        for (account, container), folder in folders.items():
            folder.create_container()
            folder.upload_blob("same.txt", f"{account}/{container}".encode())

        folders["secondarydocs", "one"].upload_blob("same.txt", b"replaced", overwrite=True)

        for (account, container), folder in folders.items():
            expected = b"replaced" if (account, container) == ("secondarydocs", "one") \
                else f"{account}/{container}".encode()
            assert folder.download_blob("same.txt").readall() == expected
            assert [blob.name for blob in folder.list_blobs()] == ["same.txt"]
    finally:
        own.stop()


def test_a_port_is_handed_out_once_and_another_process_is_never_handed_it() -> None:
    ours = [free_port() for _ in range(PORT_BLOCK + 1)]  # more than one block
    assert len(set(ours)) == len(ours)
    # Another process (an xdist worker, a demo a test starts) cannot hold a block this one holds...
    blocks = sorted({port_block_of(port) for port in ours})
    child = (
        "import json; from localdev.services import hold_port_block, free_port; "
        f"print(json.dumps([[hold_port_block(first) for first in {blocks}], "
        f"[free_port() for _ in range({2 * PORT_BLOCK})]]))"
    )
    held, theirs = json.loads(subprocess.run([sys.executable, "-c", child], check=True, capture_output=True,
                                             text=True, timeout=60).stdout)
    assert held == [None] * len(blocks)
    # ...so it is handed none of our ports, whether or not our servers listen on them yet.
    assert not set(ours) & set(theirs)


def test_another_process_listening_on_our_port_is_not_taken_for_our_server() -> None:
    port = free_port()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        # Our server has not listened yet: something answering on the port is not it.
        slow = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        try:
            with pytest.raises(TimeoutError):
                wait_until_listening(port, 0.5, slow)
        finally:
            stop_process(slow)
        # A server whose bind fails exits: the port is said to be taken, so a caller can choose another.
        bind = f"import socket; socket.socket().bind(('127.0.0.1', {port}))"
        failed = subprocess.Popen([sys.executable, "-c", bind], stderr=subprocess.DEVNULL)
        with pytest.raises(PortTaken):
            wait_until_listening(port, 30, failed)


def test_azurite_on_ports_it_chose_moves_off_a_taken_port_but_not_off_ports_it_was_given() -> None:
    chosen = Azurite()
    given = Azurite(blob_port=chosen.blob_port, queue_port=chosen.queue_port)
    with socket.socket() as squatter:  # a process not using free_port took the blob port
        squatter.bind(("127.0.0.1", chosen.blob_port))
        squatter.listen()
        taken = chosen.blob_port
        try:
            with pytest.raises(PortTaken):
                given.start()
            chosen.start()
            assert chosen.blob_port != taken
            blobs = BlobServiceClient.from_connection_string(chosen.connection_string("primarydocs"))
            assert list(blobs.list_containers()) == []
        finally:
            given.stop()
            chosen.stop()


def test_a_region_on_ports_it_chose_moves_off_a_taken_port_but_not_off_ports_it_was_given(
    azurite: Azurite,
) -> None:
    chosen = EmulatorRegion(azurite.connection_string("primarydocs"))
    given = EmulatorRegion(azurite.connection_string("primarydocs"), port=chosen.port,
                           control_port=chosen.control_port)
    with socket.socket() as squatter:  # a process not using free_port took the service port
        squatter.bind(("127.0.0.1", chosen.port))
        squatter.listen()
        taken = chosen.port
        try:
            with pytest.raises(PortTaken):
                given.start()
            chosen.start()
            assert chosen.port != taken
            with urllib.request.urlopen(f"{chosen.control_url}/_emulator/health", timeout=10) as health:
                assert health.status == 200
        finally:
            given.stop()
            chosen.stop()
