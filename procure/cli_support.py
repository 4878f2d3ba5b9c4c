"""What every `procure` command needs: the data folder, the token secret, the running system.

`procure up` keeps everything in one data folder (`PROCURE_DATA_DIR` or `--data-dir`, else
`default_data_dir()`): PostgreSQL's cluster (`pgdata/`), the logs (`logs/`), the token secret
(`token-secret`), what the running system tells the other commands (`runtime.json`) and the lock
that keeps a second `procure up` off it (`procure.lock`). The other commands find all of it
through the same folder, from any working directory.
"""

import fcntl
import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from shared.auth import Role, WeakSecretError, check_secret

DATA_DIR_VARIABLE = "PROCURE_DATA_DIR"
SECRET_NAME = "token-secret"  # noqa: S105 (the file's name)
RUNTIME_NAME = "runtime.json"
LOCK_NAME = "procure.lock"
# As root, PostgreSQL runs as another user, who must pass through the data folder to pgdata/;
# passing is all it may do (no listing, no reading our files).
FOLDER_MODE = 0o711 if os.geteuid() == 0 else 0o700


def default_data_dir() -> Path:
    """Root: /var/lib/procure (the unprivileged PostgreSQL user can reach it; root's home is
    closed). Others: `$XDG_DATA_HOME/procure`, else `~/.local/share/procure`."""
    if os.geteuid() == 0:
        return Path("/var/lib/procure")
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "share"
    return base / "procure"


def named_data_dir(option: str | None = None) -> Path | None:
    """The folder named by `--data-dir`, else by PROCURE_DATA_DIR; None if neither names one."""
    named = option or os.environ.get(DATA_DIR_VARIABLE)
    return Path(named).expanduser().absolute() if named else None


def data_dir(option: str | None = None) -> Path:
    return named_data_dir(option) or default_data_dir()


def prepare_data_dir(folder: Path) -> Path:
    """Make the folder if need be and keep it private: FOLDER_MODE, ours."""
    folder.mkdir(parents=True, exist_ok=True, mode=FOLDER_MODE)
    if folder.stat().st_uid != os.geteuid():
        raise SystemExit(f"procure: the data folder {folder} belongs to another user")
    folder.chmod(FOLDER_MODE)
    return folder


@contextmanager
def hold_data_dir(folder: Path) -> Iterator[None]:
    """An exclusive lock on the folder for as long as this `procure up` runs; the kernel
    releases it when the process ends, however it ends."""
    lock_file = folder / LOCK_NAME
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = lock_file.read_text().strip() or "?"
            raise SystemExit(
                f"procure: another `procure up` (pid {holder}) is using the data folder"
                f" {folder}: it holds the lock {lock_file}. Stop it first, or name another"
                " folder with --data-dir."
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)


def token_secret(create: bool = False, folder: Path | None = None) -> str:
    """PROCURE_TOKEN_SECRET, else the secret `procure up` keeps in the data folder (0600); a
    weak one stops the command, naming the variable."""
    secret = os.environ.get("PROCURE_TOKEN_SECRET")
    folder = folder or data_dir()
    secret_file = folder / SECRET_NAME
    if secret is None and secret_file.exists():
        secret = secret_file.read_text().strip()
    if secret is None:
        if not create:
            raise SystemExit(
                f"procure: no PROCURE_TOKEN_SECRET set and no secret in the data folder {folder}:"
                f" start the system with `procure up`, or set {DATA_DIR_VARIABLE} to its folder"
            )
        prepare_data_dir(folder)
        fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48))
        secret = secret_file.read_text().strip()
    try:
        return check_secret(secret)
    except WeakSecretError as exc:
        raise SystemExit(f"procure: {exc}") from exc


def write_runtime(folder: Path, settings: dict[str, str]) -> None:
    """What a running `procure up` tells the other commands: its broker and URLs (0600)."""
    runtime = folder / RUNTIME_NAME
    partial = folder / f"{RUNTIME_NAME}.partial"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(json.dumps(settings, indent=2))
    partial.replace(runtime)


def clear_runtime(folder: Path) -> None:
    (folder / RUNTIME_NAME).unlink(missing_ok=True)


def recorded(folder: Path) -> dict[str, str]:
    """What the `procure up` running on `folder` recorded; empty if none runs."""
    runtime = folder / RUNTIME_NAME
    if not runtime.exists():
        return {}
    settings: dict[str, str] = json.loads(runtime.read_text())
    return settings


def runtime_setting(name: str) -> str:
    """An environment variable, else what the running `procure up` recorded."""
    value = os.environ.get(name) or recorded(data_dir()).get(name)
    if value:
        return value
    raise SystemExit(
        f"procure: set {name}, or start the system with `procure up` (no running system"
        f" recorded in the data folder {data_dir()}; {DATA_DIR_VARIABLE} names another)"
    )


def service_url(service: str, given: str | None) -> str:
    """`--url` if given, else the running system's URL of `service`, else its default port."""
    if given:
        return given
    default = {"demand": 8001, "tendering": 8002, "savings": 8003, "web": 8000}[service]
    return recorded(data_dir()).get(f"{service.upper()}_URL") or f"http://127.0.0.1:{default}"


def scope_of(role: Role, trust: str | None, urn: str | None, supplier: str | None) -> str | None:
    """The scope a role's token or account has, from the command's --trust, --urn or
    --supplier."""
    return {Role.SCHOOL: urn, Role.MANAGER: trust, Role.SUPPLIER: supplier, Role.OPERATOR: None}[
        role
    ]
