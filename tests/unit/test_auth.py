"""Bearer tokens: a role and a scope, signed; anything else is refused."""

import time
from datetime import timedelta
from typing import Any

import jwt
import pytest

from shared.auth import (
    ISSUER,
    Principal,
    Role,
    TokenError,
    WeakSecretError,
    check_secret,
    is_token_id,
    issue_token,
    read_token,
    token_id,
)

SECRET = "a-test-secret-that-is-long-enough-for-hs256"


def test_a_token_carries_role_and_scope() -> None:
    token = issue_token(SECRET, Role.SCHOOL, "100001")
    principal = read_token(SECRET, token)
    assert principal == Principal(Role.SCHOOL, "100001", "school:100001", token_id(SECRET, token))


def test_an_operator_needs_no_scope_but_the_others_do() -> None:
    assert read_token(SECRET, issue_token(SECRET, Role.OPERATOR, None)).scope is None
    for role in (Role.SCHOOL, Role.MANAGER, Role.SUPPLIER):
        with pytest.raises(TokenError, match="scope"):
            issue_token(SECRET, role, None)


@pytest.mark.parametrize(
    "token",
    [
        issue_token("another-secret-that-is-also-long-enough-xx", Role.MANAGER, "1001"),
        issue_token(SECRET, Role.MANAGER, "1001", ttl=timedelta(seconds=-1)),
        "not-a-token",
    ],
    ids=["wrong secret", "expired", "garbage"],
)
def test_bad_tokens_are_refused(token: str) -> None:
    with pytest.raises(TokenError):
        read_token(SECRET, token)


def test_no_secret_no_tokens() -> None:
    with pytest.raises(TokenError):
        issue_token("", Role.OPERATOR, None)
    with pytest.raises(TokenError):
        read_token("", issue_token(SECRET, Role.OPERATOR, None))


@pytest.mark.parametrize(
    "secret",
    ["", "change-me", "CHANGE-ME ", "short-secret", "a" * 64, "01" * 32],
    ids=["empty", "placeholder", "placeholder in capitals", "short", "one letter", "two letters"],
)
def test_weak_secrets_are_refused_naming_the_variable(secret: str) -> None:
    with pytest.raises(WeakSecretError, match="PROCURE_TOKEN_SECRET"):
        check_secret(secret)
    with pytest.raises(WeakSecretError, match="PROCURE_TOKEN_SECRET"):
        issue_token(secret, Role.OPERATOR, None)


def test_each_token_has_its_own_id() -> None:
    first = issue_token(SECRET, Role.MANAGER, "1001")
    second = issue_token(SECRET, Role.MANAGER, "1001")
    ids = {read_token(SECRET, first).token_id, read_token(SECRET, second).token_id}
    assert len(ids) == 2
    assert token_id(SECRET, first) == read_token(SECRET, first).token_id
    assert all(is_token_id(i) for i in ids)


def test_a_revoked_token_is_refused_and_others_are_not() -> None:
    token, other = (issue_token(SECRET, Role.MANAGER, "1001") for _ in range(2))
    revoked = {token_id(SECRET, token)}
    with pytest.raises(TokenError, match="revoked"):
        read_token(SECRET, token, revoked)
    assert read_token(SECRET, other, revoked).scope == "1001"


def _hand_signed(**claims: Any) -> str:
    now = int(time.time())
    base = {"iss": ISSUER, "sub": "x", "iat": now, "exp": now + 60, "jti": "0" * 32}
    return jwt.encode(base | claims, SECRET, algorithm="HS256")


@pytest.mark.parametrize(
    "claims",
    [
        {"role": "manager"},  # no scope: would match no trust, or every trust
        {"role": "manager", "scope": None},
        {"role": "manager", "scope": ["1001", "1002"]},
        {"role": "manager", "scope": "*"},
        {"role": "manager", "scope": "1001 OR 1=1"},
        {"role": "school", "scope": "1001"},  # a URN is 6 digits
        {"role": "supplier", "scope": {"id": "acme"}},
        {"role": "operator", "scope": "1001"},
        {"role": ["manager"], "scope": "1001"},
        {"role": "manager", "scope": "1001", "jti": None},
        {"role": "manager", "scope": "1001", "jti": 7},
        {"role": "manager", "scope": "1001", "exp": "tomorrow"},
    ],
)
def test_hand_signed_tokens_with_odd_claims_are_refused(claims: dict[str, Any]) -> None:
    with pytest.raises(TokenError):
        read_token(SECRET, _hand_signed(**claims))


def test_a_hand_signed_token_of_the_right_shape_is_read() -> None:
    principal = read_token(SECRET, _hand_signed(role="manager", scope="1001"))
    assert (principal.role, principal.scope, principal.token_id) == (Role.MANAGER, "1001", "0" * 32)


def test_a_token_without_an_id_is_refused() -> None:
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": "x", "role": "operator", "scope": None, "exp": now + 60}
    with pytest.raises(TokenError):
        read_token(SECRET, jwt.encode(claims, SECRET, algorithm="HS256"))
