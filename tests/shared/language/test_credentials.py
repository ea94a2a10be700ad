"""Auth headers: the key as given, or a bearer token cached until a few minutes before it expires."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from azure.core.credentials import AccessToken

from shared.clock import FakeClock
from shared.language.credentials import COGNITIVE_SERVICES_SCOPE, KeyAuth, LazyCredential, TokenAuth, auth_for
from shared.settings import LanguageResource


class FakeCredential:
    """Hands out numbered tokens valid for an hour of the fake clock."""

    def __init__(self, clock: FakeClock, lifetime: timedelta = timedelta(hours=1)) -> None:
        self.clock = clock
        self.lifetime = lifetime
        self.requests: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.requests.append(scopes)
        expires = self.clock.now() + self.lifetime
        return AccessToken(f"token-{len(self.requests)}", int(expires.timestamp()))


def test_key_auth_sends_the_key_and_hides_it() -> None:
    auth = KeyAuth("abc123")
    assert auth.headers() == {"Ocp-Apim-Subscription-Key": "abc123"}
    assert "abc123" not in repr(auth)
    with pytest.raises(ValueError):
        KeyAuth("")


def test_token_is_cached_and_refreshed_before_expiry() -> None:
    clock = FakeClock()
    credential = FakeCredential(clock)
    auth = TokenAuth(credential, clock=clock, refresh_margin=timedelta(minutes=5))
    assert auth.headers() == {"Authorization": "Bearer token-1"}
    clock.advance(timedelta(minutes=54))
    assert auth.headers() == {"Authorization": "Bearer token-1"}  # still 6 minutes left
    clock.advance(timedelta(minutes=1, seconds=1))
    assert auth.headers() == {"Authorization": "Bearer token-2"}  # inside the 5-minute margin
    assert credential.requests == [(COGNITIVE_SERVICES_SCOPE,), (COGNITIVE_SERVICES_SCOPE,)]


def test_auth_for_prefers_the_key_and_builds_credentials_lazily() -> None:
    clock = FakeClock()
    built: list[FakeCredential] = []

    def factory() -> FakeCredential:
        built.append(FakeCredential(clock))
        return built[-1]

    with_key = auth_for(LanguageResource("p", "https://p.cognitiveservices.azure.com", "k"), factory)
    assert isinstance(with_key, KeyAuth)
    without_key = auth_for(
        LanguageResource("s", "https://s.cognitiveservices.azure.com"), factory, clock=clock
    )
    assert built == []  # nothing built until a token is needed
    assert without_key.headers() == {"Authorization": "Bearer token-1"}
    assert without_key.headers() == {"Authorization": "Bearer token-1"}
    assert len(built) == 1


def test_lazy_credential_builds_once() -> None:
    clock = FakeClock()
    calls: list[int] = []

    def factory() -> FakeCredential:
        calls.append(1)
        return FakeCredential(clock)

    lazy = LazyCredential(factory)
    lazy.get_token("a")
    lazy.get_token("b")
    assert calls == [1]
