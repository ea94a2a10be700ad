"""The Functions worker's logging: no record of this process (ours, urllib3's, the Azure SDKs') carries
a secret. function_app.py calls it before any function runs."""

from shared.redaction import install_log_redaction


def redact_worker_logs() -> None:
    install_log_redaction()
