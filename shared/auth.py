"""Bearer tokens: a signed role and scope. Every service checks them on its own.

Roles and their scope: school (a URN), manager (a trust code), supplier (a supplier id),
operator (no scope). Tokens are HS256 JWTs signed with PROCURE_TOKEN_SECRET.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

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
        claims = jwt.decode(token, secret, algorithms=["HS256"], issuer=ISSUER)
        return Principal(
            role=Role(claims["role"]), scope=claims.get("scope"), subject=claims["sub"]
        )
    except (jwt.PyJWTError, KeyError, ValueError) as exc:
        raise TokenError(str(exc)) from exc
