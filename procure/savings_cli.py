"""`procure savings ...`: a trust's savings report in the terminal, and rebuilding the ledger.

The report prints the dashboard's figures in the dashboard's words (presentation.py).
"""

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from typing import Any

import httpx

from procure.cli_support import service_url, token_secret
from services.savings.presentation import headlines, percent, saving_note, school_name
from services.savings.rebuild import RebuildError, rebuild
from services.savings.reports import ContractSavings, TrustSavings
from shared.auth import Role, issue_token
from shared.domain.suppliers import supplier_label
from shared.presentation import category_name, money, quantity
from shared.settings import ServiceSettings


def text_table(rows: Sequence[Sequence[str]], left: int = 1, rule_before_last: bool = False) -> str:
    """Columns padded to width; the first `left` columns left-aligned, numbers right-aligned."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            c.ljust(w) if i < left else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ).rstrip()
        for r in rows
    ]
    rule = "-" * max(len(line) for line in lines)
    lines.insert(1, rule)
    if rule_before_last:
        lines.insert(len(lines) - 1, rule)
    return "\n".join(lines)


def savings_table(report: dict[str, Any]) -> str:
    """The trust's headline figures, then a line per school and per category."""
    summary = TrustSavings.model_validate(report)
    title = summary.trust_name or f"Trust {summary.trust_id}"
    out = [f"{title} (trust {summary.trust_id})", ""]
    items = headlines(summary)
    width = max(len(h.label) for h in items)
    out += [f"{h.label.ljust(width)}  {h.value:>14}   {h.note}" for h in items]
    schools = [
        (
            "School",
            "URN",
            "Today/yr",
            "Joint/yr",
            "Saving/yr",
            "Saving %",
            "Over terms",
            "Pooling/yr",
            "",
        )
    ]
    for s in sorted(summary.schools, key=lambda x: (-x.annual_saving, x.urn)):
        schools.append(
            (
                school_name(s.urn, s.name)[:34],
                s.urn,
                money(s.annual_baseline_cost),
                money(s.annual_contract_cost),
                money(s.annual_saving),
                percent(s.saving_pct),
                money(s.term_saving),
                money(s.economy_of_scale),
                saving_note(s.annual_saving),
            )
        )
    schools.append(
        (
            "All schools",
            "",
            money(summary.annual_baseline_cost),
            money(summary.annual_contract_cost),
            money(summary.annual_saving),
            percent(summary.saving_pct),
            money(summary.term_saving),
            money(summary.economy_of_scale),
            saving_note(summary.annual_saving),
        )
    )
    out += ["", text_table(schools, left=2, rule_before_last=True)]
    categories = [("Category", "Today/yr", "Saving/yr", "Saving %", "Over terms", "")]
    categories += [
        (
            category_name(c.category),
            money(c.annual_baseline_cost),
            money(c.annual_saving),
            percent(c.saving_pct),
            money(c.term_saving),
            saving_note(c.annual_saving),
        )
        for c in summary.categories
    ]
    out += ["", text_table(categories)]
    return "\n".join(out)


def contracts_table(contracts: list[dict[str, Any]]) -> str:
    rows = [
        ("Contract", "Supplier", "Supply starts", "Term", "Schools", "Volume/yr", "Saving/yr", "")
    ]
    for raw in contracts:
        c = ContractSavings.model_validate(raw)
        rows.append(
            (
                f"{category_name(c.category)} {c.tender_id}",
                supplier_label(c.supplier_id, c.supplier_name),
                _supply_starts(c),
                f"{c.term_months} months",
                str(c.schools),
                quantity(c.pooled_quantity, c.unit),
                money(c.annual_saving),
                saving_note(c.annual_saving),
            )
        )
    return text_table(rows, left=3)


def _supply_starts(c: ContractSavings) -> str:
    """The first school's supply start; "first to last" where the schools' differ."""
    first, last = c.first_supply_start.isoformat(), c.last_supply_start.isoformat()
    return first if first == last else f"{first} to {last}"


def cmd_savings_report(args: argparse.Namespace) -> None:
    token = issue_token(token_secret(), Role.MANAGER, args.trust)
    base = f"{service_url('savings', args.url)}/v1/trusts/{args.trust}/savings"
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
        summary, contracts = (_get(http, base), _get(http, f"{base}/contracts"))
    print(savings_table(summary))
    if contracts:
        print(f"\nJoint contracts\n{contracts_table(contracts)}")


def _get(http: httpx.Client, url: str) -> Any:
    response = http.get(url)
    if response.status_code >= 400:
        raise SystemExit(f"procure: {response.status_code} {response.text}")
    return response.json()


def cmd_savings_rebuild(args: argparse.Namespace) -> None:
    if not args.database_url or not args.bootstrap_servers:
        raise SystemExit("procure: give --database-url and --bootstrap-servers (or set the env)")
    settings = ServiceSettings()
    try:
        result = asyncio.run(
            rebuild(
                args.database_url,
                args.bootstrap_servers,
                max_attempts=settings.consumer_max_attempts,
                backoff_seconds=settings.consumer_retry_backoff_ms / 1000,
            )
        )
    except RebuildError as exc:
        raise SystemExit(f"procure: {exc}") from exc
    print(f"replayed {result.records} records; the ledger has {result.entries} entries")
    for failure in result.failures:
        print(f"could not apply: {failure}", file=sys.stderr)
    if result.failures:
        raise SystemExit(1)


def add_commands(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    savings = sub.add_parser("savings", help="savings reports").add_subparsers(required=True)
    report = savings.add_parser("report", help="print a trust's savings, as on its dashboard")
    report.add_argument("--trust", required=True)
    report.add_argument("--url", help="the savings service (default: the running system's)")
    report.set_defaults(run=cmd_savings_report)
    rebuild = savings.add_parser(
        "rebuild", help="rebuild the ledger into an empty database by replaying the topics"
    )
    rebuild.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    rebuild.add_argument("--bootstrap-servers", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS"))
    rebuild.set_defaults(run=cmd_savings_rebuild)
