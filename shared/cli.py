"""`procure`: run the whole system locally, load a registry, issue tokens, print savings."""

import argparse
import os
import secrets
import signal
import sys
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from shared.auth import Role, TokenError, issue_token
from shared.infra.provision import provision
from shared.launcher import DEFAULT_PORTS, run_system

STATE_DIR = Path(".procure")
SECRET_FILE = STATE_DIR / "token-secret"


def token_secret(create: bool = False) -> str:
    """PROCURE_TOKEN_SECRET, else the local secret `procure up` keeps in .procure/ (0600)."""
    secret = os.environ.get("PROCURE_TOKEN_SECRET")
    if secret:
        return secret
    if SECRET_FILE.exists():
        return SECRET_FILE.read_text().strip()
    if not create:
        raise SystemExit("no PROCURE_TOKEN_SECRET set and no local secret: run `procure up` first")
    STATE_DIR.mkdir(exist_ok=True)
    SECRET_FILE.touch(mode=0o600)
    SECRET_FILE.write_text(secrets.token_urlsafe(48))
    return SECRET_FILE.read_text().strip()


def savings_table(report: dict[str, Any]) -> str:
    rows = [("URN", "school", "baseline/yr", "contract/yr", "saving/yr", "saving %", "pooling/yr")]
    for s in report["schools"]:
        pct = f"{s['saving_pct']}%" if s["saving_pct"] is not None else "-"
        rows.append(
            (
                s["urn"],
                (s.get("name") or "")[:32],
                s["annual_baseline_cost"],
                s["annual_contract_cost"],
                s["annual_saving"],
                pct,
                s["economy_of_scale"],
            )
        )
    total_pct = f"{report['saving_pct']}%" if report.get("saving_pct") is not None else "-"
    rows.append(
        (
            "",
            "TOTAL",
            report["annual_baseline_cost"],
            report["annual_contract_cost"],
            report["annual_saving"],
            total_pct,
            report["economy_of_scale"],
        )
    )
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            str(c).ljust(w) if i < 2 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    lines.insert(len(lines) - 1, "-" * len(lines[0]))
    term = Decimal(report["term_saving"])
    lines.append(f"Saving over the contracts' terms: {term:,.2f} GBP")
    return "\n".join(lines)


def cmd_up(args: argparse.Namespace) -> None:
    from shared.demo import TRUST_ID, run_demo

    secret = token_secret(create=True)
    ports = {s: args.base_port + i for i, s in enumerate(DEFAULT_PORTS)}
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with provision(partitions=args.partitions) as infra, run_system(infra, secret, ports) as system:
        print(f"broker    {infra.kafka_bootstrap_servers}")
        for service, url in system.urls.items():
            print(f"{service:<10}{url}  (OpenAPI: {url}/docs)")
        print(f"logs      {infra.workdir}")
        if args.demo:
            print("running the demo: 14 schools, 3 categories, 3 joint tenders ...")
            report = run_demo(system)
            print(f"\nSavings for trust {TRUST_ID}:\n{savings_table(report)}")
            print(f"\nmanager token for trust {TRUST_ID}: {system.token(Role.MANAGER, TRUST_ID)}")
        print("\nrunning; press Ctrl-C to stop")
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        print("stopping ...")


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


def cmd_token_create(args: argparse.Namespace) -> None:
    role = Role(args.role)
    scope = {
        Role.SCHOOL: args.urn,
        Role.MANAGER: args.trust,
        Role.SUPPLIER: args.supplier,
        Role.OPERATOR: None,
    }[role]
    try:
        print(issue_token(token_secret(), role, scope))
    except TokenError as exc:
        raise SystemExit(f"procure: {exc} (use --urn, --trust or --supplier)") from exc


def cmd_savings_report(args: argparse.Namespace) -> None:
    token = issue_token(token_secret(), Role.MANAGER, args.trust)
    response = httpx.get(
        f"{args.url}/v1/trusts/{args.trust}/savings",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    if response.status_code >= 400:
        raise SystemExit(f"procure: {response.status_code} {response.text}")
    print(savings_table(response.json()))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="procure", description=__doc__)
    sub = p.add_subparsers(required=True)

    up = sub.add_parser("up", help="start broker, database and the three services")
    up.add_argument("--demo", action="store_true", help="load a demo trust and run its tenders")
    up.add_argument("--base-port", type=int, default=8001, help="demand's port; +1, +2 follow")
    up.add_argument("--partitions", type=int, default=None, help="partitions per topic (6)")
    up.set_defaults(run=cmd_up)

    registry = sub.add_parser("registry", help="the schools registry").add_subparsers(required=True)
    load = registry.add_parser("load", help="load a GIAS-style CSV into the demand service")
    load.add_argument("file")
    load.add_argument("--url", default="http://127.0.0.1:8001")
    load.set_defaults(run=cmd_registry_load)

    token = sub.add_parser("token", help="bearer tokens").add_subparsers(required=True)
    create = token.add_parser("create", help="print a bearer token")
    create.add_argument("--role", required=True, choices=[str(r) for r in Role])
    create.add_argument("--urn")
    create.add_argument("--trust")
    create.add_argument("--supplier")
    create.set_defaults(run=cmd_token_create)

    savings = sub.add_parser("savings", help="savings reports").add_subparsers(required=True)
    report = savings.add_parser("report", help="print a trust's per-school savings")
    report.add_argument("--trust", required=True)
    report.add_argument("--url", default="http://127.0.0.1:8003")
    report.set_defaults(run=cmd_savings_report)
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main(sys.argv[1:])
