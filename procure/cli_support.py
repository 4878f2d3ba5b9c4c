"""What every `procure` command needs: the token secret."""

import json
import os
import secrets
from pathlib import Path

from shared.auth import WeakSecretError, check_secret

STATE_DIR = Path(".procure")
SECRET_FILE = STATE_DIR / "token-secret"


def token_secret(create: bool = False) -> str:
    """PROCURE_TOKEN_SECRET, else the local secret `procure up` keeps in .procure/ (0600); a
    weak one stops the command, naming the variable."""
    secret = os.environ.get("PROCURE_TOKEN_SECRET")
    if secret is None and SECRET_FILE.exists():
        secret = SECRET_FILE.read_text().strip()
    if secret is None:
        if not create:
            raise SystemExit(
                "procure: no PROCURE_TOKEN_SECRET set and no local secret: run `procure up` first"
            )
        STATE_DIR.mkdir(exist_ok=True)
        SECRET_FILE.touch(mode=0o600)
        SECRET_FILE.write_text(secrets.token_urlsafe(48))
        secret = SECRET_FILE.read_text().strip()
    try:
        return check_secret(secret)
    except WeakSecretError as exc:
        raise SystemExit(f"procure: {exc}") from exc


RUNTIME_FILE = STATE_DIR / "runtime.json"


def write_runtime(settings: dict[str, str]) -> None:
    """What a running `procure up` tells the other commands: where its broker is."""
    STATE_DIR.mkdir(exist_ok=True)
    RUNTIME_FILE.write_text(json.dumps(settings, indent=2))


def clear_runtime() -> None:
    RUNTIME_FILE.unlink(missing_ok=True)


def runtime_setting(name: str) -> str:
    """An environment variable, else what the running `procure up` recorded."""
    value = os.environ.get(name)
    if value:
        return value
    if RUNTIME_FILE.exists():
        recorded: dict[str, str] = json.loads(RUNTIME_FILE.read_text())
        if name in recorded:
            return recorded[name]
    raise SystemExit(f"procure: set {name} (or start the system with `procure up`)")
