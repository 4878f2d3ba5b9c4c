"""The web workspace's pure rules: the new-password rule, the sign-in throttle's window,
session expiry, and the CSRF tokens' binding to browser and session."""

from datetime import UTC, datetime, timedelta

import pytest

from services.web.domain.accounts import is_email, normal_email
from services.web.domain.passwords import MIN_LENGTH, password_problem
from services.web.domain.sessions import Limits
from services.web.domain.throttle import Throttle, minutes
from services.web.forms import csrf_key, csrf_token
from services.web.pages import FieldError, sign_in_page

NOW = datetime(2027, 4, 1, 12, 0, tzinfo=UTC)
GOOD = "violet kettle harbour"


@pytest.mark.parametrize(
    ("password", "again", "problem"),
    [
        (GOOD, GOOD, None),
        ("", "", "Enter a new password"),
        ("x" * (MIN_LENGTH - 1), "", "Password must be 12 characters or more"),
        ("x" * 257, "", "Password must be 256 characters or fewer"),
        ("Password1234", "Password1234", "Password is too easy to guess"),
        ("abababababababab", "", "Password is too easy to guess"),
        ("pat.jones-kettle-blue", "", "Password is too easy to guess"),  # the email's name
        (GOOD, GOOD + " ", "Passwords do not match"),
    ],
)
def test_the_new_password_rule(password: str, again: str, problem: str | None) -> None:
    found = password_problem(password, again, "pat.jones@example-trust.org.uk")
    if problem is None:
        assert found is None
    else:
        assert found is not None and found.startswith(problem), found


def test_the_throttle_counts_failures_within_its_window_only() -> None:
    throttle = Throttle(window=timedelta(minutes=15), per_email=5, per_client=20)
    four = [NOW - timedelta(minutes=m) for m in (1, 2, 3, 4)]
    assert throttle.wait(four, four, NOW) is None
    five = [*four, NOW - timedelta(minutes=10)]
    # The oldest of the five leaves the window 5 minutes from now.
    assert throttle.wait(five, five, NOW) == timedelta(minutes=5)
    assert minutes(timedelta(minutes=5)) == 5
    stale = [*four, NOW - timedelta(minutes=15)]
    assert throttle.wait(stale, stale, NOW) is None


def test_the_throttle_counts_one_client_address_across_emails() -> None:
    throttle = Throttle(window=timedelta(minutes=15), per_email=5, per_client=20)
    many = [NOW - timedelta(seconds=s) for s in range(1, 21)]
    assert throttle.wait([], many[:19], NOW) is None
    wait = throttle.wait([], many, NOW)
    assert wait is not None and minutes(wait) == 15


def test_a_wait_is_said_in_whole_minutes_rounded_up() -> None:
    assert minutes(timedelta(seconds=1)) == 1
    assert minutes(timedelta(seconds=61)) == 2


def test_a_session_ends_when_idle_or_at_its_lifetime() -> None:
    limits = Limits(idle=timedelta(minutes=30), lifetime=timedelta(hours=12))
    assert limits.live(NOW - timedelta(hours=1), NOW - timedelta(minutes=29), NOW)
    assert not limits.live(NOW - timedelta(hours=1), NOW - timedelta(minutes=30), NOW)
    # Busy all along, but signed in 12 hours ago.
    assert not limits.live(NOW - timedelta(hours=12), NOW - timedelta(seconds=1), NOW)


def test_emails_are_compared_in_lower_case() -> None:
    assert normal_email("  Pat@Example.ORG ") == "pat@example.org"
    assert is_email("pat@example.org")
    for bad in ("pat", "pat@example", "pat @example.org", "a@b@c.org", "x" * 250 + "@e.org"):
        assert not is_email(bad), bad


def test_a_csrf_token_is_bound_to_the_browser_and_the_session() -> None:
    key = csrf_key("s" * 16 + "0123456789abcdefghijklmnop")
    before = csrf_token(key, "browser-1", "")
    assert before == csrf_token(key, "browser-1", "")
    assert before != csrf_token(key, "browser-2", "")
    assert before != csrf_token(key, "browser-1", "session-1")
    assert before != csrf_token(csrf_key("another secret of 32 bytes or more!!"), "browser-1", "")


def test_the_sign_in_page_shows_an_error_at_the_top_and_at_its_field() -> None:
    page = sign_in_page("token", [FieldError("email", "Enter your email address")], "pat@x.org")
    assert page.index('class="error-summary"') < page.index("<form")
    assert '<a href="#email">Enter your email address</a>' in page
    assert 'aria-describedby="email-error"' in page
    assert "<title>Error: Sign in" in page
    assert 'value="pat@x.org"' in page
