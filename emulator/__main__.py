"""`python -m emulator`: one emulated Language resource in one region, until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from emulator.app import create_app, emulator_context
from emulator.behaviour import Behaviour
from emulator.config import (
    DEFAULT_GET_PER_MINUTE,
    DEFAULT_POST_PER_MINUTE,
    DEFAULT_RUNTIME_PER_MINUTE,
    EmulatorConfig,
)
from emulator.errors import ServiceError
from emulator.server import EmulatorServer


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m emulator",
        description="Offline emulator of one Azure AI Language resource (custom NER, text classification).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, required=True, help="service port")
    parser.add_argument("--key", required=True, help="subscription key (Ocp-Apim-Subscription-Key)")
    parser.add_argument("--secondary-key", help="second subscription key")
    parser.add_argument(
        "--storage-connection-string",
        required=True,
        help="connection string of the linked storage account (documents)",
    )
    parser.add_argument("--region", default="eastus", help="region name reported by /_emulator/health")
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="multiplier for job durations and rate-limit windows (e.g. 0.001 in tests)",
    )
    parser.add_argument("--state-dir", type=Path, help="persist state here and reload it on start")
    parser.add_argument("--control-port", type=int, help="extra port serving only /_emulator/")
    parser.add_argument("--tls-cert", help="PEM certificate: serve HTTPS")
    parser.add_argument("--tls-key", help="PEM private key for --tls-cert")
    parser.add_argument(
        "--token-secret", help="HS256 secret of accepted bearer tokens (default: the test secret)"
    )
    parser.add_argument(
        "--post-per-minute",
        type=int,
        default=DEFAULT_POST_PER_MINUTE,
        help="authoring write calls per minute (0: unlimited)",
    )
    parser.add_argument(
        "--get-per-minute",
        type=int,
        default=DEFAULT_GET_PER_MINUTE,
        help="authoring read calls per minute (0: unlimited)",
    )
    parser.add_argument(
        "--runtime-per-minute",
        type=int,
        default=DEFAULT_RUNTIME_PER_MINUTE,
        help="runtime calls per minute (0: unlimited)",
    )
    parser.add_argument(
        "--behaviour",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="start with a switch set (docs/reference/emulator-fidelity.md), e.g. importKeepsModels=false"
        " (repeatable)",
    )
    parser.add_argument(
        "--split-seed",
        type=int,
        help="seed the random percentage split each training draws (default: unseeded, as the service)",
    )
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    if args.time_scale <= 0:
        parser.error("--time-scale must be positive")
    try:
        args.behaviour = behaviour_switches(args.behaviour)
    except ValueError as error:
        parser.error(str(error))
    return args


def behaviour_switches(pairs: list[str]) -> dict[str, Any]:
    """`name=value` pairs; values are JSON (true, 400) or else plain strings (strict)."""
    switches: dict[str, Any] = {}
    for pair in pairs:
        name, separator, raw = pair.partition("=")
        if not separator or not name:
            raise ValueError(f"--behaviour takes NAME=VALUE, not {pair!r}")
        try:
            switches[name] = json.loads(raw)
        except json.JSONDecodeError:
            switches[name] = raw
    try:
        Behaviour().update(switches)
    except ServiceError as error:
        raise ValueError(error.message) from error
    return switches


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    config = EmulatorConfig(
        key=args.key,
        secondary_key=args.secondary_key,
        storage_connection_string=args.storage_connection_string,
        region=args.region,
        time_scale=args.time_scale,
        state_dir=args.state_dir,
        post_per_minute=args.post_per_minute,
        get_per_minute=args.get_per_minute,
        runtime_per_minute=args.runtime_per_minute,
        token_secret=args.token_secret,
        behaviour=args.behaviour,
        split_seed=args.split_seed,
    )
    app = create_app(config)
    server = EmulatorServer(
        app,
        emulator_context(app).faults,
        host=args.host,
        port=args.port,
        control_port=args.control_port,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
    )
    stopped = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server.start()
    scheme = "https" if args.tls_cert else "http"
    print(f"Language emulator ({args.region}) on {scheme}://{args.host}:{server.service.port}", flush=True)
    stopped.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
