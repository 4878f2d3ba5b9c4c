"""What every `procure` command needs: the token secret."""

import json
import os
import secrets
from pathlib import Path

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
