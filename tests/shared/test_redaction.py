"""The one "looks like a secret" rule, applied wherever a value must be quoted."""

from __future__ import annotations

import logging

import pytest

from shared.redaction import install_log_redaction, looks_secret, redact

KEY = "q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6j7k8l9z0x1c2v3b4n5m6q7w8e9r0t1y2u3i4o5p6+/=="


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (
            f"DefaultEndpointsProtocol=https;AccountName=a;AccountKey={KEY};EndpointSuffix=core.windows.net",
            KEY,
        ),
        ("AcountName=a;accountkey=short;x=y", "short"),
        ("BlobEndpoint=https://a.blob;SharedAccessSignature=sv=2022&ss=b&sig=abc%2B", "sv=2022"),
        ("https://a.blob.core.windows.net/c?sv=2022&sig=s1gn%2Fature&se=2030", "s1gn%2Fature"),
        ("the key is 0123456789abcdef0123456789abcdef, copied", "0123456789abcdef0123456789abcdef"),
    ],
)
def test_a_secret_looking_part_is_redacted_and_its_name_kept(text: str, secret: str) -> None:
    assert looks_secret(text)
    redacted = redact(text)
    assert secret not in redacted
    assert "***" in redacted


@pytest.mark.parametrize(
    "text",
    ["project LoanAgreements", "design=7", "signature=x", "a" * 31, "customer_support_ticket_classifier_v2",
     "LoanAgreementsContractsClassifierForEurope", "run 20260101T000000Z-1a2b3c4d"],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert not looks_secret(text)
    assert redact(text) == text


def test_every_log_record_is_redacted_whichever_logger_makes_it(caplog: pytest.LogCaptureFixture) -> None:
    install_log_redaction()
    install_log_redaction()  # idempotent: one factory, not two stacked
    with caplog.at_level(logging.DEBUG):
        urllib3_log = logging.getLogger("urllib3.connectionpool")
        urllib3_log.debug('"GET /c?restype=container&sig=%s HTTP/1.1" 403', "s1gn")
        try:
            raise ValueError(f"AccountKey={KEY}")
        except ValueError:
            logging.getLogger("shared.anything").exception("failed")
    text = caplog.text + "".join(record.exc_text or "" for record in caplog.records)
    assert "s1gn" not in text and KEY not in text
    assert "sig=***" in text and "AccountKey=***" in text
