"""How requests to a Language resource authenticate: a key header, or a cached Entra ID bearer token.

Production builds `DefaultAzureCredential` lazily, the first time a token is needed; tests inject a
credential (and a clock), so no test ever reaches an identity endpoint.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Protocol

from azure.core.credentials import AccessToken, TokenCredential
from azure.core.exceptions import ClientAuthenticationError

from shared.clock import Clock, SystemClock
from shared.errors import ConfigurationError
from shared.settings import LanguageResource, resource_setting

COGNITIVE_SERVICES_SCOPE = "https://cognitiveservices.azure.com/.default"
KEY_HEADER = "Ocp-Apim-Subscription-Key"

CredentialFactory = Callable[[], TokenCredential]


class MissingCredential(ConfigurationError):
    """No key is set and no Microsoft Entra ID credential could be found; names the key's setting.

    Replaces azure-identity's many-line account of every credential it tried: whoever reads it needs
    to know what to set, not the chain.
    """

    def __init__(self, key_setting: str) -> None:
        super().__init__(
            f"{key_setting}: is not set, and no Microsoft Entra ID credential is available: set the "
            "resource's key, or sign in (`az login`) locally, or give the app a managed identity with a "
            "role on the resource")
        self.setting = key_setting


class RequestAuth(Protocol):
    def headers(self) -> dict[str, str]:
        """The headers that authenticate one request (fresh each call: tokens expire)."""
        ...


class KeyAuth:
    """A resource key in `Ocp-Apim-Subscription-Key`."""

    def __init__(self, key: str) -> None:
        if not key:
            raise ValueError("an empty key cannot authenticate")
        self._key = key

    def headers(self) -> dict[str, str]:
        return {KEY_HEADER: self._key}

    def __repr__(self) -> str:
        return "KeyAuth(key='***')"


class TokenAuth:
    """A bearer token for `scope`, cached and refreshed `refresh_margin` before it expires."""

    def __init__(
        self,
        credential: TokenCredential,
        scope: str = COGNITIVE_SERVICES_SCOPE,
        *,
        clock: Clock | None = None,
        refresh_margin: timedelta = timedelta(minutes=5),
        key_setting: str | None = None,
    ) -> None:
        self._credential = credential
        self._key_setting = key_setting
        self._scope = scope
        self._clock = clock or SystemClock()
        self._margin = refresh_margin.total_seconds()
        self._token: AccessToken | None = None
        self._lock = threading.Lock()

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._current_token()}"}

    def _current_token(self) -> str:
        with self._lock:
            now = self._clock.now().timestamp()
            if self._token is None or now >= self._token.expires_on - self._margin:
                try:
                    self._token = self._credential.get_token(self._scope)
                except ClientAuthenticationError:
                    if self._key_setting is None:
                        raise
                    raise MissingCredential(self._key_setting) from None
            return self._token.token

    def __repr__(self) -> str:
        return f"TokenAuth(scope={self._scope!r})"


def default_credential_factory() -> TokenCredential:
    """`DefaultAzureCredential` (managed identity in Azure, developer sign-in locally), built on demand."""
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential()


class LazyCredential:
    """A TokenCredential that builds the real one on first use and then reuses it.

    Lets every resource without a key share one credential object, and keeps its construction
    (which may probe the environment) out of start-up and out of any path that never needs a token.
    """

    def __init__(self, factory: CredentialFactory = default_credential_factory) -> None:
        self._factory = factory
        self._credential: TokenCredential | None = None
        self._lock = threading.Lock()

    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: object,
    ) -> AccessToken:
        with self._lock:
            if self._credential is None:
                self._credential = self._factory()
            credential = self._credential
        return credential.get_token(*scopes, claims=claims, tenant_id=tenant_id, **kwargs)  # type: ignore[arg-type]


def auth_for(
    resource: LanguageResource,
    credential_factory: CredentialFactory = default_credential_factory,
    *,
    clock: Clock | None = None,
) -> RequestAuth:
    """Key auth when the resource has a key, else a bearer token from a lazily built credential."""
    if resource.key:
        return KeyAuth(resource.key)
    return TokenAuth(LazyCredential(credential_factory), clock=clock,
                     key_setting=resource_setting(resource.name, "LANGUAGE_KEY"))
