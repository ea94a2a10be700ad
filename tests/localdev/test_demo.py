"""./scripts/demo: the whole story on its own services, and the settings it shares with the example."""

from __future__ import annotations

import io
import json
import re
import socket
from pathlib import Path

from localdev.demo import PRIMARY_KEY, SECONDARY_KEY, DemoEnvironment, DemoPorts, main
from localdev.services import Azurite, EmulatorRegion
from shared.settings import KNOWN_SETTINGS, settings_from_values

REPO = Path(__file__).resolve().parents[2]


def listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_the_demo_replicates_shows_it_in_sync_with_identical_predictions_and_stops_everything(tmp_path):
    out = io.StringIO()
    settings_file = tmp_path / "local.settings.json"

    code = main(["--free-ports", "--time-scale", "0.001", "--settings-file", str(settings_file)], out=out)

    text = out.getvalue()
    assert code == 0, text
    before, after = text.split("== Drift report after replication")
    assert re.search(r"LoanAgreements\s+secondary\s+missing", before)
    assert "train:model1: succeeded" in before and "deploy:production: succeeded" in before
    assert "All replicated projects are in sync." in before
    assert re.search(r"LoanAgreements\s+secondary\s+in_sync", after)
    assert "Summary: 3 in_sync" in after
    # The orchestration waits for the CLU project it routes to, whose run starts it.
    assert before.index("CoffeeOrders -> secondary: run ") < before.index("FrontDesk -> secondary: waiting")
    # That run is the dependency's, said so: not "resuming" a run that was already under way.
    assert re.search(r"FrontDesk -> secondary: run \S+ started by the run \S+ of CLU project 'CoffeeOrders'",
                     before), before
    assert "FrontDesk -> secondary: resuming" not in before
    assert "[FrontDesk -> secondary]   warning: intent 'Faq' routes to custom question answering" in before
    assert "Conversation answers match on 8 of 8 utterances." in after
    assert "FrontDesk: 'do you have wifi' -> intent Faq routed to QuestionAnswering: identical" in after
    assert "Predictions match on 3 of 3 documents." in after
    assert after.count(", identical (e.g.") == 3
    assert "the secondary is in sync and answers exactly like the primary" in after
    # The last scene: the primary stops, callers are answered by the secondary, then fail back.
    assert re.search(r"9 requests, 0 errors \(healthy: eastus x3, primary down: westus2 x3, "
                     r"fail-back: eastus x3\)", after)
    ports = [int(port) for port in re.findall(r"http://127\.0\.0\.1:(\d+)", text)]
    assert len(set(ports)) >= 4
    assert not [port for port in set(ports) if listening(port)], "the demo left a service running"
    # The settings it used are on disk, and it said where; the control ports were printed.
    written = json.loads(settings_file.read_text(encoding="utf-8"))["Values"]
    assert settings_from_values(written).primary.endpoint in text
    assert f"--settings {settings_file}" in text
    assert len(re.findall(r"control http://127\.0\.0\.1:\d+", text)) == 2
    # Timings where they belong: the run's under the scenes, the stop's under the stop heading.
    assert re.search(r"Demo finished: .*\n   demo ran in \d+\.\d s\n", text)
    assert re.search(r"== Stopping everything the demo started\n"
                     r"   stopped in \d+\.\d s; \d+\.\d s in all", text)


def test_a_port_in_time_wait_counts_as_free():
    from localdev.services import port_is_free

    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    assert not port_is_free(port), "a listening port is taken"
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    # The server side closes first, so its end of the connection stays in TIME_WAIT on `port`.
    accepted.close()
    server.close()
    client.recv(1)
    client.close()
    assert port_is_free(port)


def test_local_settings_example_is_what_the_demo_uses_on_its_default_ports():
    example = json.loads((REPO / "local.settings.json.example").read_text(encoding="utf-8"))["Values"]
    ports = DemoPorts()
    azurite = Azurite(blob_port=ports.blob, queue_port=ports.queue)
    try:
        env = DemoEnvironment(
            azurite,
            EmulatorRegion("unused", region="eastus", key=PRIMARY_KEY, port=ports.primary),
            EmulatorRegion("unused", region="westus2", key=SECONDARY_KEY, port=ports.secondary),
        )
        assert env.settings_values() == example
    finally:
        azurite.stop()  # never started: only its scratch directory to remove


def test_local_settings_example_sets_every_setting_and_loads():
    values = json.loads((REPO / "local.settings.json.example").read_text(encoding="utf-8"))["Values"]

    assert set(KNOWN_SETTINGS) <= set(values)
    assert values["FUNCTIONS_WORKER_RUNTIME"] == "python"
    assert values["AzureWebJobsStorage"] == "UseDevelopmentStorage=true"
    assert values["DRIFT_SCHEDULE"] == "0 0 2 * * *"
    settings = settings_from_values(values)
    assert settings.drift_schedule == "0 0 2 * * *"
    assert not settings.documents_shared
