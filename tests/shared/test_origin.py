"""Credentials go only to the configured endpoint's scheme, host and port: one check, both clients."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from shared.language.authoring import AuthoringClient, LanguageApiError
from shared.language.credentials import KeyAuth
from shared.language.runtime import RuntimeApiError, RuntimeClient
from shared.origin import is_same_origin

ENDPOINT = "https://westeu.cognitiveservices.azure.com"
JOB = "/language/authoring/analyze-text/projects/p/train/jobs/1"

FOREIGN = [
    f"http://westeu.cognitiveservices.azure.com{JOB}",  # same host, clear text: the key would be readable
    f"https://eastus.cognitiveservices.azure.com{JOB}",
    f"https://westeu.cognitiveservices.azure.com:8443{JOB}",
    f"https://westeu.cognitiveservices.azure.com.evil.example{JOB}",
    f"https://user:pw@westeu.cognitiveservices.azure.com{JOB}",
    f"https://westeu.cognitiveservices.azure.com:notaport{JOB}",
    f"//westeu.cognitiveservices.azure.com{JOB}",
    JOB,
]
SAME = [
    f"{ENDPOINT}{JOB}",
    f"https://WESTEU.cognitiveservices.azure.com:443{JOB}",
    f"HTTPS://westeu.cognitiveservices.azure.com{JOB}",
]


@pytest.mark.parametrize("url", FOREIGN)
def test_a_url_off_the_endpoints_origin_is_refused(url: str) -> None:
    assert not is_same_origin(url, ENDPOINT)


@pytest.mark.parametrize("url", SAME)
def test_the_endpoints_own_origin_is_accepted(url: str) -> None:
    assert is_same_origin(url, ENDPOINT)


class NoNetwork(requests.Session):
    """A session that fails the test if anything is sent: the check must refuse before any request."""

    def request(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        raise AssertionError(f"a request was sent: {args}")


@pytest.mark.parametrize("url", FOREIGN)
def test_both_clients_refuse_the_same_urls_before_sending(url: str) -> None:
    authoring = AuthoringClient(ENDPOINT, KeyAuth("k"), session=NoNetwork())
    runtime = RuntimeClient(ENDPOINT, KeyAuth("k"), session=NoNetwork())
    with pytest.raises(LanguageApiError, match="refusing to send credentials"):
        authoring.get_job(url)
    with pytest.raises(RuntimeApiError, match="refusing to send credentials"):
        runtime.get(url)
