"""Password hashes: Argon2id, salted per password, with OWASP's recommended parameters (the
Password Storage Cheat Sheet: 19 MiB of memory, 2 passes, 1 lane). argon2-cffi's defaults (RFC
9106: 64 MiB, 3 passes, 4 lanes) took over a second per sign-in on a busy two-core machine,
which makes the sign-in page itself a way to exhaust the server. A hash made under other
parameters is replaced at the next successful sign-in."""

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MEMORY_KIB = 19 * 1024
PASSES = 2
LANES = 1
_hasher = PasswordHasher(time_cost=PASSES, memory_cost=MEMORY_KIB, parallelism=LANES)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@cache
def _dummy_hash() -> str:
    return _hasher.hash("a password nobody has, hashed once to spend time")


def verify(password_hash: str | None, password: str) -> bool:
    """Whether `password` is the one hashed. With no hash (no such account, or no password set
    yet) a dummy one is checked all the same, so the answer takes as long either way and the
    time does not tell whether an address has an account."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
