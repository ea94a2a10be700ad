"""Test bearer tokens the emulator accepts in place of Microsoft Entra ID tokens.

A token is a JWT, HS256-signed with `DEFAULT_TOKEN_SECRET` (or the emulator's
--token-secret) or unsigned (`alg: none`), with the audience `https://cognitiveservices.azure.com`
and optionally a `roles` claim naming a Language role. Without a role claim the caller is
treated as an Owner of the resource (as a subscription Owner/Contributor would be).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
from azure.core.credentials import AccessToken

AUDIENCE = "https://cognitiveservices.azure.com"
DEFAULT_TOKEN_SECRET = "language-emulator-test-secret-not-for-production"
ROLE_NAMES = {
    "Reader": "Cognitive Services Language Reader",
    "Writer": "Cognitive Services Language Writer",
    "Owner": "Cognitive Services Language Owner",
}


def role_claim(role: str) -> str:
    """The full role name for "Reader"/"Writer"/"Owner" (full names pass through)."""
    for short, full in ROLE_NAMES.items():
        if role in (short, full, f"Language {short}"):
            return full
    raise ValueError(f"unknown role {role!r}; use one of {sorted(ROLE_NAMES)}")


def mint_token(
    role: str | None = None,
    *,
    audience: str = AUDIENCE,
    expires_in: float = 3600.0,
    now: float | None = None,
    signed: bool = True,
    secret: str = DEFAULT_TOKEN_SECRET,
    object_id: str | None = None,
) -> str:
    """A bearer token for the emulator: `Authorization: Bearer <token>`."""
    issued = time.time() if now is None else now
    claims: dict[str, Any] = {
        "aud": audience,
        "iss": "https://sts.windows.net/emulator/",
        "oid": object_id or str(uuid.uuid4()),
        "iat": int(issued),
        "nbf": int(issued) - 60,
        "exp": int(issued + expires_in),
    }
    if role is not None:
        claims["roles"] = [role_claim(role)]
    if signed:
        return jwt.encode(claims, secret, algorithm="HS256")
    return jwt.encode(claims, "", algorithm="none")


class EmulatorTokenCredential:
    """An azure-core TokenCredential minting emulator tokens (for SDK clients in tests)."""

    def __init__(self, role: str | None = None, *, secret: str = DEFAULT_TOKEN_SECRET) -> None:
        self.role = role
        self.secret = secret
        self.scopes_requested: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes_requested.append(scopes)
        expires_on = int(time.time()) + 3600
        return AccessToken(mint_token(self.role, secret=self.secret), expires_on)
