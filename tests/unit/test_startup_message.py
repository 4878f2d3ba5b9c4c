"""What `procure up` tells people to do next: sign in to the web workspace with an account
`procure user add` made (the savings dashboard is there); tokens only for machine clients."""

from pathlib import Path

from procure.cli import next_steps

URLS = {
    "web": "http://127.0.0.1:8000",
    "demand": "http://127.0.0.1:8001",
    "tendering": "http://127.0.0.1:8002",
    "savings": "http://127.0.0.1:8003",
}


def test_people_are_pointed_to_the_workspace_and_machines_to_tokens() -> None:
    for trust in (None, "4001"):
        said = next_steps(Path("/nonexistent/procure"), URLS, trust)
        assert "sign in at http://127.0.0.1:8000/sign-in" in said
        assert "savings dashboard there" in said
        for role in ("--role manager --trust", "--role school --urn", "--role supplier"):
            assert f"procure user add --email E --name N {role}" in said
        assert "machine clients" in said
        # No token to paste into the savings service's own sign-in page any more.
        assert "paste" not in said and f"{URLS['savings']}/sign-in" not in said
    assert "procure registry load" in next_steps(Path("/nonexistent/procure"), URLS, None)
    assert "token create --role manager --trust 4001" in next_steps(
        Path("/nonexistent/procure"), URLS, "4001"
    )
