"""The one rule for "this text looks like a secret", and the redaction applied wherever a value is quoted.

Settings are never quoted at all (only their names); this is the second line of defence for the values
that must be quoted (a caller's input echoed in a 400, a service's message relayed in an error): an
account key, a SAS or a signature never reaches an answer, a log line or the terminal.
"""

from __future__ import annotations

import logging
import re
from typing import Any

REDACTED = "***"

# Connection-string parts run to the next ';', a SAS query parameter to the next '&'; then any run of 32
# or more base64 or hex characters with both a letter and a digit in it (account keys, resource keys,
# tokens, signatures), so a long name made of words ("customer_support_ticket_classifier") stays readable.
_SECRET_PART = re.compile(
    r"(?<![A-Za-z0-9])(?i:(?P<part>accountkey|sharedaccesssignature)\s*=)[^;\s\"']*"
    r"|(?<![A-Za-z0-9])(?i:(?P<query>sig)\s*=)[^&;\s\"']*"
    r"|(?<![A-Za-z0-9+/])(?=[A-Za-z+/]*[0-9])(?=[0-9+/]*[A-Za-z])[A-Za-z0-9+/]{32,}={0,2}"
)


def looks_secret(text: str) -> bool:
    """True when `text` holds something shaped like a key, a SAS or a signature."""
    return _SECRET_PART.search(text) is not None


def redact(text: str) -> str:
    """`text` with every secret-looking part replaced by ***, keeping the name before `=` as a hint."""

    def replace(match: re.Match[str]) -> str:
        name = match.group("part") or match.group("query")
        return f"{name}={REDACTED}" if name else REDACTED

    return _SECRET_PART.sub(replace, text)


def redact_all(value: Any) -> Any:
    """`value` (JSON-shaped: strings, lists, dicts) with every string redacted, e.g. a recorded error."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [redact_all(item) for item in value]
    if isinstance(value, dict):
        return {key: redact_all(item) for key, item in value.items()}
    return value


_installed = False


def install_log_redaction() -> None:
    """Redact every log record of this process, whichever logger made it (urllib3 and the Azure SDKs log
    URLs with their SAS at DEBUG), before any handler sees it; idempotent.

    A record factory, not a filter: a filter on a logger misses records its children propagate, and the
    Functions host owns the handlers.
    """
    global _installed
    if _installed:
        return
    _installed = True
    make_record = logging.getLogRecordFactory()
    formatter = logging.Formatter()

    def redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: leave it to the handler to report, as logging does
            return record
        if looks_secret(message):
            record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(formatter.formatException(record.exc_info))
        return record

    logging.setLogRecordFactory(redacting_factory)
