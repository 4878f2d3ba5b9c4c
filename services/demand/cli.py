"""`procure registry ...` (and the demand service's other commands)."""

import argparse
from pathlib import Path

import httpx

from shared.auth import Role, issue_token
from shared.cli_support import token_secret


def cmd_registry_load(args: argparse.Namespace) -> None:
    token = issue_token(token_secret(), Role.OPERATOR, None)
    response = httpx.post(
        f"{args.url}/v1/registry",
        content=Path(args.file).read_bytes(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"},
        timeout=120,
    )
    print(response.text)
    if response.status_code >= 400:
        raise SystemExit(1)


def add_commands(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    registry = sub.add_parser("registry", help="the schools registry").add_subparsers(required=True)
    load = registry.add_parser("load", help="load a GIAS-style CSV into the demand service")
    load.add_argument("file")
    load.add_argument("--url", default="http://127.0.0.1:8001")
    load.set_defaults(run=cmd_registry_load)
