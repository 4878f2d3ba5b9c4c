"""`procure`: run the whole system locally, issue tokens; each service adds its own commands."""

import argparse
import asyncio
import os
import signal
import sys
import threading
from datetime import timedelta

import httpx

from procure import demand_cli, savings_cli
from procure.cli_support import clear_runtime, runtime_setting, token_secret, write_runtime
from procure.dead_letters import list_dead_letters, replay
from procure.infra.processes import port_in_use
from procure.infra.provision import provision
from procure.launcher import DEFAULT_HOST, DEFAULT_PORTS, run_system
from shared.auth import Role, TokenError, is_token_id, issue_token, token_id


def cmd_up(args: argparse.Namespace) -> None:
    from procure.demo import TRUST_ID, run_demo

    secret = token_secret(create=True)
    ports = {s: args.base_port + i for i, s in enumerate(DEFAULT_PORTS)}
    # Else the old processes would answer the new ones' readiness checks, and this one would
    # report itself running while they serve.
    host = os.environ.get("HTTP_HOST") or DEFAULT_HOST
    taken = [f"{service} ({port})" for service, port in ports.items() if port_in_use(host, port)]
    if taken:
        raise SystemExit(
            f"procure: ports already in use on {host}: {', '.join(taken)}. Is another"
            " `procure up` running? Stop it, or choose other ports with --base-port."
        )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with provision(partitions=args.partitions) as infra, run_system(infra, secret, ports) as system:
        print(f"broker    {infra.kafka_bootstrap_servers}")
        for service, url in system.urls.items():
            print(f"{service:<10}{url}  (OpenAPI: {url}/docs)")
        print(f"logs      {infra.workdir}")
        write_runtime(
            {
                "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap_servers,
                "KAFKA_ENABLE_IDEMPOTENCE": str(infra.kafka_enable_idempotence).lower(),
            }
        )
        if args.demo:
            print("running the demo: 14 schools, 3 categories, 3 joint tenders ...")
            report = run_demo(system)
            print(f"\nSavings for trust {TRUST_ID}:\n{savings_cli.savings_table(report)}")
            print(f"\nmanager token for trust {TRUST_ID}: {system.token(Role.MANAGER, TRUST_ID)}")
        print("\nrunning; press Ctrl-C to stop")
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        print("stopping ...")
        clear_runtime()


def cmd_dlq_list(args: argparse.Namespace) -> None:
    bootstrap = runtime_setting("KAFKA_BOOTSTRAP_SERVERS")
    letters = asyncio.run(list_dead_letters(bootstrap, args.topic, args.limit))
    for d in letters:
        print(
            f"{d.partition}:{d.offset}  key={d.key}  consumer={d.consumer}  "
            f"attempts={d.attempts}  reason={d.reason}"
        )
        if args.show_values:
            print(f"    {d.value[:500].decode(errors='replace')}")
    print(f"{len(letters)} dead letter(s) on {args.topic}.dlq")


def cmd_dlq_replay(args: argparse.Namespace) -> None:
    bootstrap = runtime_setting("KAFKA_BOOTSTRAP_SERVERS")
    idempotence = runtime_setting("KAFKA_ENABLE_IDEMPOTENCE") == "true"
    count = asyncio.run(replay(bootstrap, args.topic, idempotence))
    print(f"replayed {count} record(s) from {args.topic}.dlq onto {args.topic}")


def cmd_token_create(args: argparse.Namespace) -> None:
    role = Role(args.role)
    scope = {
        Role.SCHOOL: args.urn,
        Role.MANAGER: args.trust,
        Role.SUPPLIER: args.supplier,
        Role.OPERATOR: None,
    }[role]
    secret = token_secret()
    try:
        token = issue_token(secret, role, scope, ttl=timedelta(days=args.days))
    except TokenError as exc:
        raise SystemExit(f"procure: {exc} (use --urn, --trust or --supplier)") from exc
    print(token)
    # Not on stdout, which scripts capture as the token: what `procure token revoke` takes.
    print(f"token id: {token_id(secret, token)}", file=sys.stderr)


def cmd_token_revoke(args: argparse.Namespace) -> None:
    secret = token_secret()
    revoking = args.token.strip()
    try:
        revoked = revoking if is_token_id(revoking) else token_id(secret, revoking)
    except TokenError as exc:
        raise SystemExit(f"procure: not a token id or a token of this system: {exc}") from exc
    try:
        response = httpx.post(
            f"{args.url}/v1/tokens/revocations",
            json={"token_id": revoked, "reason": args.reason},
            headers={"Authorization": f"Bearer {issue_token(secret, Role.OPERATOR, None)}"},
            timeout=30,
        )
    except httpx.HTTPError as exc:
        raise SystemExit(
            f"procure: the demand service at {args.url} did not answer: {exc}"
        ) from exc
    if response.status_code != 202:
        raise SystemExit(f"procure: {response.status_code} {response.text}")
    print(f"revoked token {revoked}: every service refuses it within seconds")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="procure", description=__doc__)
    sub = p.add_subparsers(required=True)

    up = sub.add_parser("up", help="start broker, database and the three services")
    up.add_argument("--demo", action="store_true", help="load a demo trust and run its tenders")
    up.add_argument("--base-port", type=int, default=8001, help="demand's port; +1, +2 follow")
    up.add_argument("--partitions", type=int, default=None, help="partitions per topic (6)")
    up.set_defaults(run=cmd_up)

    token = sub.add_parser("token", help="bearer tokens").add_subparsers(required=True)
    create = token.add_parser("create", help="print a bearer token")
    create.add_argument("--role", required=True, choices=[str(r) for r in Role])
    create.add_argument("--urn")
    create.add_argument("--trust")
    create.add_argument("--supplier")
    create.add_argument("--days", type=int, default=30, help="valid for this many days (30)")
    create.set_defaults(run=cmd_token_create)
    revoke = token.add_parser("revoke", help="revoke a token (by its id, or the token itself)")
    revoke.add_argument("token", help="the token id `procure token create` printed, or the token")
    revoke.add_argument("--reason")
    revoke.add_argument("--url", default="http://127.0.0.1:8001", help="the demand service")
    revoke.set_defaults(run=cmd_token_revoke)

    dlq = sub.add_parser("dlq", help="dead letters").add_subparsers(required=True)
    listing = dlq.add_parser("list", help="list a topic's dead letters with their reasons")
    listing.add_argument("topic", help="the topic, e.g. procurement.demand (not its .dlq)")
    listing.add_argument("--limit", type=int, default=1000)
    listing.add_argument("--show-values", action="store_true")
    listing.set_defaults(run=cmd_dlq_list)
    again = dlq.add_parser("replay", help="republish a topic's dead letters after a fix")
    again.add_argument("topic")
    again.set_defaults(run=cmd_dlq_replay)

    for service_cli in (demand_cli, savings_cli):
        service_cli.add_commands(sub)
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main(sys.argv[1:])
