"""Which configured services accept a connection at all, by the setting that names them."""

from __future__ import annotations

import socket

import pytest

from localdev.services import free_port
from shared.reachability import Endpoint, require_reachable, unreachable
from shared.settings import SettingsError


def test_a_listening_service_is_reachable_and_a_closed_port_is_not():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        alive = f"http://127.0.0.1:{server.getsockname()[1]}"
        dead = f"http://127.0.0.1:{free_port()}/account"

        failed = unreachable([Endpoint("A", alive), Endpoint("B", dead), Endpoint("C", dead)], timeout=2)

    assert failed == {"B": "the connection was refused", "C": "the connection was refused"}


def test_require_reachable_names_the_first_setting_and_the_others_never_the_value():
    dead = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(SettingsError) as raised:
        require_reachable([Endpoint("SNAPSHOT_STORAGE", dead), Endpoint("PRIMARY_DOCUMENTS_STORAGE", dead)],
                          timeout=2)
    assert raised.value.setting == "SNAPSHOT_STORAGE"
    assert "also unreachable: PRIMARY_DOCUMENTS_STORAGE" in raised.value.message
    assert dead not in raised.value.message


def test_https_without_a_port_means_443():
    endpoint = Endpoint("X", "https://acct.blob.core.windows.net")
    assert endpoint.address() == ("acct.blob.core.windows.net", 443)
