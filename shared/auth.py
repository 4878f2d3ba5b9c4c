"""Bearer tokens: a signed role and scope. Every service checks them on its own.

Roles and their scope: school (a URN), manager (a trust code), supplier (a supplier id),
operator (no scope). Tokens are HS256 JWTs signed with PROCURE_TOKEN_SECRET.
"""

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import lru_cache

import jwt

ISSUER = "collective-procurement"


class Role(StrEnum):
    SCHOOL = "school"
    MANAGER = "manager"
    SUPPLIER = "supplier"
    OPERATOR = "operator"


@dataclass(frozen=True)
class Principal:
    role: Role
    scope: str | None
    subject: str


class TokenError(ValueError):
    pass


def issue_token(
    secret: str, role: Role, scope: str | None, ttl: timedelta = timedelta(days=30)
) -> str:
    if not secret:
        raise TokenError("PROCURE_TOKEN_SECRET is not set")
    if role is not Role.OPERATOR and not scope:
        raise TokenError(f"a {role} token needs a scope")
    now = datetime.now(UTC)
    claims = {
        "iss": ISSUER,
        "sub": f"{role}:{scope or '*'}",
        "role": str(role),
        "scope": scope,
        "iat": now,
        "exp": now + ttl,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def read_token(secret: str, token: str) -> Principal:
    if not secret:
        raise TokenError("the service has no token secret configured")
    try:
        principal, expires = _verified(secret, token)
    except (jwt.PyJWTError, KeyError, ValueError) as exc:
        raise TokenError(str(exc)) from exc
    if expires <= time.time():
        raise TokenError("Signature has expired")
    return principal


@lru_cache(maxsize=1024)
def _verified(secret: str, token: str) -> tuple[Principal, float]:
    # Checking a signature costs more than the rest of a request's auth, and a client sends
    # one token many times: it is checked once, its expiry at every use. Only valid tokens are
    # remembered (lru_cache does not keep a call that raised).
    claims = jwt.decode(token, secret, algorithms=["HS256"], issuer=ISSUER)
    principal = Principal(
        role=Role(claims["role"]), scope=claims.get("scope"), subject=claims["sub"]
    )
    return principal, float(claims["exp"])
