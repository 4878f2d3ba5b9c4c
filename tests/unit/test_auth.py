"""Bearer tokens: a role and a scope, signed; anything else is refused."""

from datetime import timedelta

import pytest

from shared.auth import Principal, Role, TokenError, issue_token, read_token

SECRET = "a-test-secret-that-is-long-enough-for-hs256"


def test_a_token_carries_role_and_scope() -> None:
    token = issue_token(SECRET, Role.SCHOOL, "100001")
    assert read_token(SECRET, token) == Principal(Role.SCHOOL, "100001", "school:100001")


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
