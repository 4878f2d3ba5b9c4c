"""`procure registry ...`, `procure demand ...` and `procure spend ...`: the demand service's
commands."""

import argparse
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import httpx

from procure.cli_support import service_url, token_secret
from shared.auth import Role, issue_token


def cmd_registry_load(args: argparse.Namespace) -> None:
    token = issue_token(token_secret(), Role.OPERATOR, None)
    response = httpx.post(
        f"{service_url('demand', args.url)}/v1/registry",
        content=Path(args.file).read_bytes(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"},
        timeout=120,
    )
    print(response.text)
    if response.status_code >= 400:
        raise SystemExit(1)


def _import_token(args: argparse.Namespace) -> str:
    """A token given (--token or PROCURE_TOKEN), else one signed here for --trust or --urn."""
    token: str | None = args.token or os.environ.get("PROCURE_TOKEN")
    if token:
        return token
    if args.trust:
        return issue_token(token_secret(), Role.MANAGER, args.trust)
    if args.urn:
        return issue_token(token_secret(), Role.SCHOOL, args.urn)
    raise SystemExit("procure: give --trust, --urn or --token (or set PROCURE_TOKEN)")


def cmd_demand_import(args: argparse.Namespace) -> None:
    """Exit status: 0 every row accepted, 1 the file was refused, 2 some rows were refused."""
    data = Path(args.file).read_bytes()
    # By default the key is the file's hash: running the same file again replays it.
    key = args.idempotency_key or f"file-sha256:{hashlib.sha256(data).hexdigest()}"
    _import(args, "/v1/demands/import", data, {"Idempotency-Key": key})


def cmd_spend_import(args: argparse.Namespace) -> None:
    """As `procure demand import`; spend lines need no key (each is its school's invoice)."""
    _import(args, "/v1/spend/import", Path(args.file).read_bytes(), {})


def _import(args: argparse.Namespace, path: str, data: bytes, headers: dict[str, str]) -> None:
    """Send a CSV to an import route and print its report; exit 1 if the file was refused,
    2 if some rows were."""
    response = httpx.post(
        f"{service_url('demand', args.url)}{path}",
        content=data,
        headers={"Authorization": f"Bearer {_import_token(args)}", "Content-Type": "text/csv"}
        | headers,
        timeout=600,
    )
    if response.status_code >= 400:
        print(response.text)
        raise SystemExit(1)
    report = response.json()
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        replayed = sum(1 for row in report["accepted_rows"] if row["replayed"])
        print(
            f"{report['rows']} rows: {report['accepted']} accepted"
            f" ({replayed} already imported before), {report['refused']} refused"
        )
        for row in report["refused_rows"]:
            print(f"line {row['line']}, {row['column'] or 'row'}: {row['reason']}")
    if report["refused"]:
        raise SystemExit(2)


def add_commands(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    registry = sub.add_parser("registry", help="the schools registry").add_subparsers(required=True)
    load = registry.add_parser("load", help="load a GIAS-style CSV into the demand service")
    load.add_argument("file")
    load.add_argument("--url", help="the demand service (default: the running system's)")
    load.set_defaults(run=cmd_registry_load)

    demand = sub.add_parser("demand", help="schools' demand").add_subparsers(required=True)
    imp = _import_parser(demand, "import demand lines from a CSV file", cmd_demand_import)
    imp.add_argument("--idempotency-key", help="default: the file's SHA-256")
    spend = sub.add_parser("spend", help="what schools were invoiced").add_subparsers(required=True)
    _import_parser(spend, "import spend lines (invoice lines) from a CSV file", cmd_spend_import)


def _import_parser(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]",
    help_text: str,
    run: Callable[[argparse.Namespace], None],
) -> argparse.ArgumentParser:
    imp = commands.add_parser("import", help=help_text)
    imp.add_argument("file")
    imp.add_argument("--url", help="the demand service (default: the running system's)")
    who = imp.add_mutually_exclusive_group()
    who.add_argument("--trust", help="import as the trust's manager (token signed locally)")
    who.add_argument("--urn", help="import as the school (token signed locally)")
    who.add_argument("--token", help="a bearer token (default: PROCURE_TOKEN)")
    imp.add_argument("--json", action="store_true", help="print the full JSON report")
    imp.set_defaults(run=run)
    return imp
