"""What a new password must be (docs/http-api.md, "Web workspace"), after NCSC's guidance: long
rather than complex, no composition rules, no expiry, and not one of the passwords attackers try
first. A passphrase of three random words passes; "Password1234" does not.
"""

MIN_LENGTH = 12
# Argon2 hashes any length, but a form's field need not carry a novel.
MAX_LENGTH = 256
# Among the most used passwords of 12 characters or more in public breach corpora, in lower
# case; a password that is one of them, whatever its case, is refused. A small list on purpose:
# length does most of the work, and the throttle (throttle.py) the rest.
COMMON = frozenset(
    {
        "123456789012",
        "1234567890123",
        "12345678901234",
        "123456789123",
        "111111111111",
        "000000000000",
        "qwertyuiopas",
        "qwertyuiop123",
        "1q2w3e4r5t6y",
        "1qaz2wsx3edc",
        "password1234",
        "password12345",
        "password123!",
        "passwordpassword",
        "iloveyou1234",
        "letmein12345",
        "welcome12345",
        "changeme1234",
        "administrator",
        "abcdefghijkl",
        "abc123456789",
        "qwerty123456",
        "aaaaaaaaaaaa",
        "football1234",
        "monkey123456",
        "baseball1234",
        "superman1234",
        "trustno11234",
        "correcthorsebatterystaple",
        "procurement1",
        "procurement123",
    }
)
# "aaaaaaaaaaaa" and "abababababab" are long but guessed at once.
MIN_DISTINCT_CHARACTERS = 5


def password_problem(password: str, again: str, email: str = "") -> str | None:
    """Why this new password is refused (a sentence for the person), or None when it is fine.
    `again` is what they typed in the second field."""
    if not password:
        return "Enter a new password"
    if len(password) < MIN_LENGTH:
        return f"Password must be {MIN_LENGTH} characters or more"
    if len(password) > MAX_LENGTH:
        return f"Password must be {MAX_LENGTH} characters or fewer"
    lowered = password.lower()
    local_part = email.partition("@")[0].lower()
    if (
        lowered in COMMON
        or len(set(lowered)) < MIN_DISTINCT_CHARACTERS
        or (len(local_part) >= 4 and lowered.startswith(local_part))
    ):
        return "Password is too easy to guess: try three random words together"
    if again != password:
        return "Passwords do not match"
    return None
