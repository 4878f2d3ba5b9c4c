"""What every `procure` command needs: the token secret."""

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
