"""Bearer tokens: a signed role, scope and token id. Every service checks them on its own.

Roles and their scope: school (a URN), manager (a trust code), supplier (a supplier id),
operator (no scope). Tokens are HS256 JWTs signed with PROCURE_TOKEN_SECRET, which must be strong
(see `check_secret`): with a guessable secret anyone could sign a manager's token. Each token
carries an id (`jti`), so that one leaked token can be revoked (shared/revocations.py).
"""

import re
import time
from collections.abc import Container
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any

import jwt

from shared.ids import new_id

ISSUER = "collective-procurement"
SECRET_VARIABLE = "PROCURE_TOKEN_SECRET"  # noqa: S105 (its name, not its value)
# HS256 keys shorter than the hash (32 bytes) are below RFC 7518's minimum (section 3.2).
MIN_SECRET_BYTES = 32
# Values that documentation, examples and habit put in a secret's place. Compared in lower case.
PLACEHOLDERS = frozenset(
    {"change-me", "changeme", "change_me", "secret", "password", "example", "test", "dev"}
)
# A secret of a few distinct characters (aaaa..., 0101...) is long but not random.
MIN_DISTINCT_CHARACTERS = 8
GENERATE_HINT = "generate one with: python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"


class Role(StrEnum):
    SCHOOL = "school"
    MANAGER = "manager"
    SUPPLIER = "supplier"
    OPERATOR = "operator"


# What each role's scope looks like. A token whose scope has another shape is refused, so a
# hand-made token cannot widen a check that compares scopes (a list, null, "*").
SCOPE_SHAPES: dict[Role, re.Pattern[str]] = {
    Role.SCHOOL: re.compile(r"[0-9]{6}"),  # a URN
    Role.MANAGER: re.compile(r"[0-9]{1,20}"),  # a GIAS trust code
    Role.SUPPLIER: re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"),
}
_TOKEN_ID = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class Principal:
    role: Role
    scope: str | None
    subject: str
    token_id: str = ""


class TokenError(ValueError):
    pass


class WeakSecretError(TokenError):
    pass


def check_secret(secret: str) -> str:
    """The secret, if it is strong enough to sign tokens; else WeakSecretError naming the
    variable, the reason and how to make a good one."""
    if not secret:
        reason = "is not set"
    elif secret.strip().lower() in PLACEHOLDERS:
        reason = "is a placeholder"
    elif len(secret.encode()) < MIN_SECRET_BYTES:
        reason = f"is shorter than {MIN_SECRET_BYTES} bytes"
    elif len(set(secret)) < MIN_DISTINCT_CHARACTERS:
        reason = "is not random enough"
    else:
        return secret
    raise WeakSecretError(f"{SECRET_VARIABLE} {reason}: {GENERATE_HINT}")


def check_scope(role: Role, scope: Any) -> str | None:
    """The scope, if it has the shape `role` needs; else TokenError."""
    if role is Role.OPERATOR:
        if scope is not None:
            raise TokenError("an operator token has no scope")
        return None
    if not isinstance(scope, str) or not SCOPE_SHAPES[role].fullmatch(scope):
        raise TokenError(f"a {role} token needs a scope shaped like {SCOPE_SHAPES[role].pattern}")
    return scope


def issue_token(
    secret: str,
    role: Role,
    scope: str | None,
    ttl: timedelta = timedelta(days=30),
    subject: str | None = None,
) -> str:
    """A token for `role` and `scope`. Its subject names who holds it: a person's email address
    when the web workspace acts for them, else the role and scope."""
    check_secret(secret)
    check_scope(role, scope)
    now = datetime.now(UTC)
    claims = {
        "iss": ISSUER,
        "sub": subject or f"{role}:{scope or '*'}",
        "role": str(role),
        "scope": scope,
        "jti": new_id().hex,
        "iat": now,
        "exp": now + ttl,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def token_id(secret: str, token: str) -> str:
    """The id of a token signed with `secret`, even an expired one (to revoke it)."""
    try:
        claims = jwt.decode(
            token, secret, algorithms=["HS256"], issuer=ISSUER, options={"verify_exp": False}
        )
    except jwt.PyJWTError as exc:
        raise TokenError(str(exc)) from exc
    jti = claims.get("jti")
    if not isinstance(jti, str) or not _TOKEN_ID.fullmatch(jti):
        raise TokenError("the token has no id")
    return jti


def is_token_id(value: str) -> bool:
    return _TOKEN_ID.fullmatch(value) is not None


def read_token(secret: str, token: str, revoked: Container[str] = ()) -> Principal:
    if not secret:
        raise TokenError("the service has no token secret configured")
    try:
        principal, expires = _verified(secret, token)
    except (jwt.PyJWTError, KeyError, ValueError, TypeError) as exc:
        raise TokenError(str(exc)) from exc
    if expires <= time.time():
        raise TokenError("Signature has expired")
    if principal.token_id in revoked:
        raise TokenError("this token has been revoked")
    return principal


@lru_cache(maxsize=1024)
def _verified(secret: str, token: str) -> tuple[Principal, float]:
    # Checking a signature costs more than the rest of a request's auth, and a client sends
    # one token many times: it is checked once, its expiry and revocation at every use. Only
    # valid tokens are remembered (lru_cache does not keep a call that raised).
    claims = jwt.decode(
        token, secret, algorithms=["HS256"], issuer=ISSUER, options={"require": ["exp", "jti"]}
    )
    role = Role(claims["role"])
    jti, subject, expires = claims["jti"], claims["sub"], claims["exp"]
    if not isinstance(jti, str) or not _TOKEN_ID.fullmatch(jti):
        raise TokenError("the token id is not valid")
    if not isinstance(subject, str) or not isinstance(expires, int | float):
        raise TokenError("the token's subject or expiry is not valid")
    principal = Principal(role, check_scope(role, claims.get("scope")), subject, jti)
    return principal, float(expires)
