"""`procure user ...`: people's accounts on the web workspace.

The commands call the web service's operators' API (POST /v1/users, POST
/v1/users/{email}/disable, POST /v1/users/{email}/link) with an operator token signed here, as
`procure token revoke` calls demand's: they work the same against `procure up` (found through
the data folder) and against a compose stack (`--url` and PROCURE_TOKEN_SECRET), and never
touch a service's database.
"""

import argparse
import sys
from typing import Any
from urllib.parse import quote

import httpx

from procure.cli_support import scope_of, service_url, token_secret
from shared.auth import Role, issue_token


def _post(args: argparse.Namespace, path: str, body: dict[str, Any] | None = None) -> Any:
    url = service_url("web", args.url)
    token = issue_token(token_secret(), Role.OPERATOR, None)
    try:
        response = httpx.post(
            f"{url}{path}", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=60
        )
    except httpx.HTTPError as exc:
        raise SystemExit(f"procure: the web service at {url} did not answer: {exc}") from exc
    if response.status_code >= 400:
        problem = response.json() if response.content else {}
        reasons = "; ".join(f"{e['field']}: {e['reason']}" for e in problem.get("errors", []))
        detail = problem.get("detail") or problem.get("title") or response.text
        raise SystemExit(
            f"procure: {response.status_code} {detail}" + (f" ({reasons})" if reasons else "")
        )
    return response.json()


def cmd_user_add(args: argparse.Namespace) -> None:
    role = Role(args.role)
    scope = scope_of(role, args.trust, args.urn, args.supplier)
    body: dict[str, Any] = {"email": args.email, "name": args.name, "role": str(role)}
    if scope is not None:
        body["scope"] = scope
    if args.password_stdin:
        # The first line; a password given on the command line would stay in the shell's history.
        body["password"] = sys.stdin.readline().rstrip("\r\n")
    user = _post(args, "/v1/users", body)
    print(f"added {user['email']} ({user['role']}{', ' + user['scope'] if user['scope'] else ''})")
    if user.get("set_password_url"):
        print(f"set-password link (works once, until {user['set_password_expires_at']}):")
        print(user["set_password_url"])


def cmd_user_disable(args: argparse.Namespace) -> None:
    result = _post(args, f"/v1/users/{quote(args.email, safe='@')}/disable")
    print(f"disabled {result['email']}: {result['sessions_ended']} session(s) ended")


def cmd_user_link(args: argparse.Namespace) -> None:
    user = _post(args, f"/v1/users/{quote(args.email, safe='@')}/link")
    print(
        f"new set-password link for {user['email']} (works once, until"
        f" {user['set_password_expires_at']}; older links no longer work):"
    )
    print(user["set_password_url"])


def add_commands(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    user = sub.add_parser("user", help="people's accounts on the web workspace")
    users = user.add_subparsers(required=True)
    add = users.add_parser("add", help="add a person's account (prints a set-password link)")
    add.add_argument("--email", required=True)
    add.add_argument("--name", required=True)
    add.add_argument("--role", required=True, choices=[str(r) for r in Role])
    scope = add.add_mutually_exclusive_group()
    scope.add_argument("--trust", help="a manager's trust")
    scope.add_argument("--urn", help="a school's URN")
    scope.add_argument("--supplier", help="a supplier's id")
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from standard input (else a one-time set-password link)",
    )
    add.add_argument("--url", help="the web workspace (default: the running system's)")
    add.set_defaults(run=cmd_user_add)
    disable = users.add_parser("disable", help="disable an account and end its sessions")
    disable.add_argument("email")
    disable.add_argument("--url", help="the web workspace (default: the running system's)")
    disable.set_defaults(run=cmd_user_disable)
    link = users.add_parser(
        "link", help="issue a new one-time set-password link (older ones stop working)"
    )
    link.add_argument("--email", required=True)
    link.add_argument("--url", help="the web workspace (default: the running system's)")
    link.set_defaults(run=cmd_user_link)
