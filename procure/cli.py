"""`procure`: run the whole system locally, issue tokens; each service adds its own commands."""

import argparse
import asyncio
import os
import shutil
import signal
import sys
import tempfile
import threading
from datetime import timedelta
from pathlib import Path

import httpx

from procure import demand_cli, savings_cli, web_cli
from procure.backup import SERVER_SETTING, BackupError, backup, restore
from procure.cli_support import (
    clear_runtime,
    data_dir,
    default_data_dir,
    hold_data_dir,
    named_data_dir,
    prepare_data_dir,
    runtime_setting,
    scope_of,
    service_url,
    token_secret,
    write_runtime,
)
from procure.dead_letters import list_dead_letters, replay
from procure.infra.processes import port_in_use
from procure.infra.provision import database_url, provision
from procure.launcher import DEFAULT_HOST, DEFAULT_PORTS, run_system
from shared.auth import Role, TokenError, is_token_id, issue_token, token_id


def cmd_up(args: argparse.Namespace) -> None:
    named = named_data_dir(args.data_dir)
    throwaway = args.demo and named is None
    folder = (
        Path(tempfile.mkdtemp(prefix="procure-demo-")) if throwaway else data_dir(args.data_dir)
    )
    try:
        prepare_data_dir(folder)
        with hold_data_dir(folder):
            _up(args, folder, throwaway)
    finally:
        if throwaway:
            shutil.rmtree(folder, ignore_errors=True)


def _up(args: argparse.Namespace, folder: Path, throwaway: bool) -> None:
    from procure.demo import TRUST_ID, demo_accounts, demo_sign_in, realised_summary, run_demo

    secret = token_secret(create=True, folder=folder)
    apis = [s for s in DEFAULT_PORTS if s != "web"]
    ports = {s: args.base_port + i for i, s in enumerate(apis)}
    ports["web"] = args.base_port - 1 if args.web_port is None else args.web_port
    # Else the old processes would answer the new ones' readiness checks, and this one would
    # report itself running while they serve.
    host = os.environ.get("HTTP_HOST") or DEFAULT_HOST
    taken = [f"{service} ({port})" for service, port in ports.items() if port_in_use(host, port)]
    if taken:
        raise SystemExit(
            f"procure: ports already in use on {host}: {', '.join(taken)}. Is another"
            " `procure up` running? Stop it, or choose other ports with --base-port."
        )
    if throwaway:
        print(f"data      {folder}  (a throwaway folder for the demo, deleted on stop;")
        print("          name one with --data-dir or PROCURE_DATA_DIR to keep the data)")
    elif os.environ.get("DATABASE_URL") or os.environ.get("PROCURE_INFRA") == "containers":
        print(f"data      {folder}  (token secret and logs; the database is not embedded)")
    else:
        print(f"data      {folder}  (kept across stops and restarts)")
    sys.stdout.flush()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    durable = None if throwaway else folder
    with (
        provision(partitions=args.partitions, data_dir=durable) as infra,
        run_system(
            infra, secret, ports, supervise=True, also_supervise=infra.restartable
        ) as system,
    ):
        print(f"broker    {infra.kafka_bootstrap_servers}")
        for service, url in system.urls.items():
            about = "sign in here" if service == "web" else f"OpenAPI: {url}/docs"
            print(f"{service:<10}{url}  ({about})")
        print(f"logs      {infra.workdir}")
        write_runtime(
            folder,
            {
                "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap_servers,
                "KAFKA_ENABLE_IDEMPOTENCE": str(infra.kafka_enable_idempotence).lower(),
                SERVER_SETTING: database_url(infra.database_urls["demand"], "postgres"),
            }
            | {f"{service.upper()}_URL": url for service, url in system.urls.items()},
        )
        demo_done = folder / "demo-loaded"
        if args.demo and demo_done.exists():
            print(f"the demo trust {TRUST_ID} is already in this data folder: not loaded again")
            print(f"\n{demo_sign_in(demo_accounts(), system.urls['web'])}")
        elif args.demo:
            print(
                "running the demo: 14 schools, 3 categories, 3 joint tenders, then a year of"
                " their invoices ..."
            )
            demo = run_demo(system)
            print(f"\nSavings for trust {TRUST_ID}:\n{savings_cli.savings_table(demo.savings)}")
            print(
                "\n"
                + realised_summary(
                    demo.realised, demo.invoices, system.urls["savings"], system.urls["web"]
                )
            )
            print(f"\n{demo_sign_in(demo.people, system.urls['web'])}")
            demo_done.touch(mode=0o600)
        print(next_steps(folder, system.urls, TRUST_ID if args.demo else None))
        print("\nrunning; press Ctrl-C to stop", flush=True)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        # A second Ctrl-C would cut the stop short with a traceback and could leave PostgreSQL
        # or the broker running: the stop finishes first. (A handler, not SIG_IGN, which a
        # child started meanwhile would inherit.)
        signal.signal(signal.SIGINT, lambda *_: print("still stopping ...", flush=True))
        print("stopping (the services, the broker and PostgreSQL) ...", flush=True)
        clear_runtime(folder)


def next_steps(folder: Path, urls: dict[str, str], trust: str | None) -> str:
    """What to do with a running system, in commands that work from any folder. People (the
    savings dashboard included) use the web workspace with their own account; tokens are for
    machine clients of the HTTP APIs."""
    prefix = "" if folder == default_data_dir() else f"PROCURE_DATA_DIR={folder} "
    web = urls["web"]
    lines = ["", "next:"]
    if trust is None:
        lines += [
            "  load a schools registry (a GIAS-style CSV with a trust column):",
            f"    {prefix}procure registry load FILE.csv",
        ]
    more = "" if trust is None else " more"
    lines += [
        f"  add{more} people's accounts (each gets a set-password link), then sign in at"
        f" {web}/sign-in",
        "  (managers find the savings dashboard there, schools Your savings):",
        f"    {prefix}procure user add --email E --name N --role manager --trust TRUST_CODE",
        f"    {prefix}procure user add --email E --name N --role school --urn URN",
        f"    {prefix}procure user add --email E --name N --role supplier --supplier SUPPLIER_ID",
        "  machine clients of the HTTP APIs (see README, HTTP API) use a bearer token instead:",
        f"    {prefix}procure token create --role manager --trust {trust or 'TRUST_CODE'}",
        f"    {prefix}procure token create --role school --urn URN  (POST /v1/demands to"
        f" {urls['demand']})",
    ]
    if prefix:
        lines += [f"  the other commands find this system with PROCURE_DATA_DIR={folder}"]
    return "\n".join(lines)


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


def cmd_backup(args: argparse.Namespace) -> None:
    try:
        written = backup(data_dir(args.data_dir), Path(args.file))
    except BackupError as exc:
        raise SystemExit(f"procure: {exc}") from exc
    print(
        f"backed up {', '.join(written.databases)} to {written.path}"
        f" ({written.size:,} bytes, mode 0600)"
    )


def cmd_restore(args: argparse.Namespace) -> None:
    folder = data_dir(args.data_dir)
    try:
        restored = restore(folder, Path(args.file))
    except BackupError as exc:
        raise SystemExit(f"procure: {exc}") from exc
    print(f"restored {', '.join(restored)} from {args.file} into the data folder {folder}")
    print("start it with `procure up`; the broker's topics are not in a backup and start empty")


def cmd_token_create(args: argparse.Namespace) -> None:
    role = Role(args.role)
    scope = scope_of(role, args.trust, args.urn, args.supplier)
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
    url = service_url("demand", args.url)
    try:
        response = httpx.post(
            f"{url}/v1/tokens/revocations",
            json={"token_id": revoked, "reason": args.reason},
            headers={"Authorization": f"Bearer {issue_token(secret, Role.OPERATOR, None)}"},
            timeout=30,
        )
    except httpx.HTTPError as exc:
        raise SystemExit(f"procure: the demand service at {url} did not answer: {exc}") from exc
    if response.status_code != 202:
        raise SystemExit(f"procure: {response.status_code} {response.text}")
    print(f"revoked token {revoked}: every service refuses it within seconds")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="procure", description=__doc__)
    sub = p.add_subparsers(required=True)

    up = sub.add_parser("up", help="start broker, database and the services")
    up.add_argument("--demo", action="store_true", help="load a demo trust and run its tenders")
    up.add_argument("--base-port", type=int, default=8001, help="demand's port; +1, +2 follow")
    up.add_argument(
        "--web-port", type=int, default=None, help="the web workspace's port (base port - 1)"
    )
    up.add_argument("--partitions", type=int, default=None, help="partitions per topic (6)")
    up.add_argument(
        "--data-dir",
        help="where the data is kept (default: PROCURE_DATA_DIR, else /var/lib/procure as root,"
        " else $XDG_DATA_HOME/procure or ~/.local/share/procure; --demo: a throwaway folder)",
    )
    up.set_defaults(run=cmd_up)

    folder_help = "the data folder (default: PROCURE_DATA_DIR, else the default one)"
    saving = sub.add_parser("backup", help="back up the running system's databases to FILE")
    saving.add_argument("file", metavar="FILE")
    saving.add_argument("--data-dir", help=folder_help)
    saving.set_defaults(run=cmd_backup)
    restoring = sub.add_parser(
        "restore", help="restore a backup into a data folder no `procure up` is running on"
    )
    restoring.add_argument("file", metavar="FILE")
    restoring.add_argument("--data-dir", help=folder_help)
    restoring.set_defaults(run=cmd_restore)

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
    revoke.add_argument("--url", help="the demand service (default: the running system's)")
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

    for service_cli in (demand_cli, savings_cli, web_cli):
        service_cli.add_commands(sub)
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main(sys.argv[1:])
