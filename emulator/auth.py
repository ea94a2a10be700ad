"""Who may call what: subscription keys, bearer tokens and the Language role matrix."""

from __future__ import annotations

import hmac
import re
import time
from typing import Any

import jwt

from emulator.errors import ServiceError
from emulator.paths import is_authoring
from emulator.tokens import AUDIENCE, ROLE_NAMES

READER, WRITER, OWNER = 1, 2, 3
_RANK = {ROLE_NAMES["Reader"]: READER, ROLE_NAMES["Writer"]: WRITER, ROLE_NAMES["Owner"]: OWNER}
_ROLE_OF_RANK = {READER: "Reader", WRITER: "Writer", OWNER: "Owner"}

# Writes that the Writer role may not perform (concepts/role-based-access-control.md).
_OWNER_ONLY = (
    ("PUT", re.compile(r"/projects/[^/]+/deployments/[^/:]+$")),
    ("DELETE", re.compile(r"/projects/[^/]+/deployments/[^/]+$")),
    ("POST", re.compile(r"/projects/[^/]+/deployments/:swap$")),
    ("DELETE", re.compile(r"/projects/[^/]+/models/[^/]+$")),
    ("DELETE", re.compile(r"/projects/[^/]+$")),
)
_READER_POSTS = (re.compile(r"/projects/[^/]+/:export$"),)

_KEY_MESSAGE = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid "
    "key for an active subscription and use a correct regional API endpoint for your resource."
)


def unauthorized(message: str = _KEY_MESSAGE) -> ServiceError:
    # The gateway answers with the status as a string code.
    return ServiceError("401", message, status=401)


def required_rank(method: str, path: str) -> int:
    """The least role a request needs."""
    if not is_authoring(path):
        return READER  # runtime: Reader and up
    if method in ("GET", "HEAD", "OPTIONS"):
        return READER
    if method == "POST" and any(p.search(path) for p in _READER_POSTS):
        return READER
    if any(method == m and p.search(path) for m, p in _OWNER_ONLY):
        return OWNER
    return WRITER


def _token_rank(claims: dict[str, Any]) -> int:
    roles = claims.get("roles")
    if roles is None:
        return OWNER
    if isinstance(roles, str):
        roles = [roles]
    return max((_RANK.get(str(role), 0) for role in roles), default=0)


class Authenticator:
    def __init__(self, keys: tuple[str, ...], token_secret: str) -> None:
        self.keys = keys
        self.token_secret = token_secret

    def _claims(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
            # Expiry and audience are checked below against the emulator's clock and our audience.
            options: Any = {"verify_exp": False, "verify_aud": False, "verify_nbf": False}
            if header.get("alg") == "none":
                unsigned: Any = {"verify_signature": False, **options}
                claims: dict[str, Any] = jwt.decode(token, options=unsigned)
            elif header.get("alg") == "HS256":
                claims = jwt.decode(token, self.token_secret, algorithms=["HS256"], options=options)
            else:
                raise unauthorized("Unsupported token signing algorithm.")
        except jwt.PyJWTError as exc:
            raise unauthorized(f"The access token is invalid: {exc}.") from exc
        audiences = claims.get("aud")
        audiences = [audiences] if isinstance(audiences, str) else (audiences or [])
        if not any(str(a).rstrip("/") == AUDIENCE for a in audiences):
            raise unauthorized(f"The access token has the wrong audience; expected {AUDIENCE}.")
        # Tokens are minted with the wall clock, whatever clock the emulator's jobs run on.
        expiry = claims.get("exp")
        if not isinstance(expiry, int | float) or expiry <= time.time():
            raise unauthorized("The access token is expired.")
        return claims

    def authorize(self, headers: Any, method: str, path: str) -> None:
        """Raise 401 for missing or wrong credentials, 403 when the token's role is too weak."""
        key = headers.get("Ocp-Apim-Subscription-Key")
        if key is not None:
            if any(hmac.compare_digest(key.encode(), k.encode()) for k in self.keys):
                return
            raise unauthorized()
        authorization = headers.get("Authorization", "")
        if not authorization.lower().startswith("bearer "):
            raise unauthorized()
        claims = self._claims(authorization[7:].strip())
        needed = required_rank(method, path)
        if _token_rank(claims) < needed:
            raise ServiceError(
                "PermissionDenied",
                f"The principal '{claims.get('oid', 'unknown')}' lacks the required role for "
                f"{method} {path}: "
                f"it needs Cognitive Services Language {_ROLE_OF_RANK[needed]} or higher.",
                status=403,
            )
