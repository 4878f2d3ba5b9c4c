"""`procure backup` and `procure restore`: the services' databases in one file.

A backup is a tar archive holding `manifest.json` and one `pg_dump` custom-format dump per
database (`demand.dump`, `tendering.dump`, `savings.dump`, `web.dump`), taken from the running
system of a data folder. A backup made before the web workspace holds the first three: a restore
replaces those and leaves the web database (people's accounts) as it is.

A restore needs the folder free of any `procure up`: it starts the folder's embedded PostgreSQL
(making the cluster if the folder is empty), drops and recreates each database, restores its dump
into it, marks it restored and stops PostgreSQL. The broker's topics are not in a backup: the
services start on an empty broker and serve from their databases; on a broker that kept its
topics, the mark makes each service read them again from the start (shared/restored.py).
"""

import asyncio
import io
import json
import os
import re
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from procure.cli_support import hold_data_dir, prepare_data_dir, recorded
from procure.infra.embedded import EmbeddedPostgres, pgserver_install
from procure.infra.provision import SERVICES, create_databases, database_url
from shared import restored

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
# What every backup holds; the web workspace's database joined later.
FIRST_DATABASES = ("demand", "tendering", "savings")
SERVER_SETTING = "DATABASE_SERVER_URL"


class BackupError(Exception):
    """A backup that cannot be taken, or a file that is not a backup this version restores."""


@dataclass(frozen=True)
class Written:
    path: Path
    size: int
    databases: tuple[str, ...]


def _bin(name: str) -> str:
    return str(pgserver_install() / "bin" / name)


def postgres_version() -> str:
    """The PostgreSQL version of pgserver's binaries, e.g. "16.2"."""
    out = subprocess.run(
        [_bin("pg_dump"), "--version"], check=True, capture_output=True, text=True
    ).stdout
    return out.strip().split()[-1]


def _member(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.mode = 0o600
    info.mtime = int(datetime.now(UTC).timestamp())
    return info


def dump_database(url: str, dump: Path) -> None:
    """A `pg_dump` of the database at `url`, in custom format, into the file `dump`."""
    dumped = subprocess.run(
        [_bin("pg_dump"), "-Fc", "-f", str(dump), "-d", url],
        capture_output=True,
        text=True,
        check=False,
    )
    if dumped.returncode != 0:
        raise BackupError(f"pg_dump of {url.rsplit('/', 1)[-1]} failed: {dumped.stderr.strip()}")


def backup(folder: Path, target: Path) -> Written:
    """Dump the databases of the system running on `folder` into the archive `target`,
    written whole or not at all (a temporary file renamed), mode 0600."""
    server_url = recorded(folder).get(SERVER_SETTING)
    if not server_url:
        raise BackupError(
            f"no running `procure up` recorded in the data folder {folder}: start it"
            " (a backup is taken from the running system), or name its folder with --data-dir"
        )
    target = target.expanduser().absolute()
    manifest = {
        "format_version": FORMAT_VERSION,
        "databases": list(SERVICES),
        "created_at": datetime.now(UTC).isoformat(),
        "postgres_version": postgres_version(),
    }
    with tempfile.TemporaryDirectory(prefix="procure-backup-") as work:
        dumps = {}
        for name in SERVICES:
            dump = Path(work) / f"{name}.dump"
            try:
                dump_database(database_url(server_url, name), dump)
            except BackupError as exc:
                raise BackupError(f"{exc} (is the `procure up` of {folder} running?)") from exc
            dumps[name] = dump
        fd, partial = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as out, tarfile.open(fileobj=out, mode="w") as archive:
                body = json.dumps(manifest, indent=2).encode()
                info = _member(MANIFEST)
                info.size = len(body)
                archive.addfile(info, io.BytesIO(body))
                for name, dump in dumps.items():
                    info = _member(f"{name}.dump")
                    info.size = dump.stat().st_size
                    with dump.open("rb") as data:
                        archive.addfile(info, data)
            os.chmod(partial, 0o600)
            os.replace(partial, target)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
    return Written(target, target.stat().st_size, SERVICES)


def read_backup(source: Path, into: Path) -> tuple[str, ...]:
    """Check that `source` is a backup and write its dumps into the folder `into`; the
    databases it holds."""
    try:
        with tarfile.open(source, mode="r:") as archive:
            members = {m.name: m for m in archive.getmembers() if m.isfile()}
            if MANIFEST not in members:
                raise BackupError(f"{source} is not a procure backup: no {MANIFEST}")
            manifest_file = archive.extractfile(members[MANIFEST])
            assert manifest_file is not None
            manifest = json.loads(manifest_file.read())
            if not isinstance(manifest, dict) or manifest.get("format_version") != FORMAT_VERSION:
                raise BackupError(f"{source}: a backup format this version does not restore")
            named = manifest.get("databases", [])
            databases = tuple(name for name in SERVICES if name in named)
            if len(databases) != len(named) or not set(FIRST_DATABASES) <= set(databases):
                raise BackupError(f"{source}: its manifest names other databases")
            missing = sorted({f"{name}.dump" for name in databases} - set(members))
            if missing:
                raise BackupError(f"{source} is not a procure backup: no {', '.join(missing)}")
            for name in databases:
                data = archive.extractfile(members[f"{name}.dump"])
                assert data is not None
                fd = os.open(into / f"{name}.dump", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as out:
                    while chunk := data.read(1 << 20):
                        out.write(chunk)
    except (tarfile.TarError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BackupError(f"{source} is not a procure backup: {exc}") from exc
    except FileNotFoundError as exc:
        raise BackupError(f"no such file: {source}") from exc
    return databases


async def _recreate(server_url: str, names: tuple[str, ...]) -> None:
    conn = await asyncpg.connect(server_url)
    try:
        for name in names:
            if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
                raise ValueError(f"bad database name {name!r}")
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
    await create_databases(server_url, names)


async def _mark_restored(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await restored.mark(conn)
    finally:
        await conn.close()


def restore_database(server_url: str, name: str, dump: Path) -> None:
    """Drop and recreate the database `name` of the server, restore `dump` into it and mark it
    restored: its service's consumer groups read their topics again from the start when it
    next starts (shared/restored.py)."""
    asyncio.run(_recreate(server_url, (name,)))
    target = database_url(server_url, name)
    done = subprocess.run(
        [_bin("pg_restore"), "--no-owner", "--exit-on-error", "-d", target, str(dump)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BackupError(f"pg_restore of {name} failed: {done.stderr.strip()}")
    asyncio.run(_mark_restored(target))


def restore(folder: Path, source: Path) -> tuple[str, ...]:
    """Replace the databases in the data folder `folder` (no `procure up` may run on it) with
    those of the backup `source`; the ones restored."""
    source = source.expanduser().absolute()
    with tempfile.TemporaryDirectory(prefix="procure-restore-") as work:
        databases = read_backup(source, Path(work))
        prepare_data_dir(folder)
        with hold_data_dir(folder):
            logs = folder / "logs"
            logs.mkdir(mode=0o700, exist_ok=True)
            server = EmbeddedPostgres(folder, durable=True, log=logs / "postgres.log")
            server.start()
            try:
                # A database the backup lacks (web, in an older backup) must still exist.
                asyncio.run(create_databases(server.url, SERVICES))
                for name in databases:
                    restore_database(server.url, name, Path(work) / f"{name}.dump")
            finally:
                server.stop()
    return databases
