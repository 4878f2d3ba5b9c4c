"""`procure savings ...`: a trust's savings report in the terminal."""

import argparse
from decimal import Decimal
from typing import Any

import httpx

from shared.auth import Role, issue_token
from shared.cli_support import token_secret


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


def add_commands(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    savings = sub.add_parser("savings", help="savings reports").add_subparsers(required=True)
    report = savings.add_parser("report", help="print a trust's per-school savings")
    report.add_argument("--trust", required=True)
    report.add_argument("--url", default="http://127.0.0.1:8003")
    report.set_defaults(run=cmd_savings_report)
