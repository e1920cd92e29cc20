"""Password hashing with argon2id, OWASP's parameters (m=19 MiB, t=2, p=1).

argon2-cffi's default (RFC 9106 low-memory: 64 MiB, t=3, p=4) took 230 ms per verification
on our 2-core machines, a denial-of-service lever on the login route; these take about 40 ms.
Hashes made with other parameters still verify and are rehashed at the next good login.
Verification is CPU-bound: call it off the event loop.
Unknown usernames are checked against a dummy hash so that a miss costs about as much as a
wrong password.
"""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

OWASP = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)  # argon2id
_hasher = OWASP

MAX_PASSWORD_LENGTH = 1024


def configure(hasher: PasswordHasher) -> None:
    """Swap the cost parameters (tests may use a cheaper hasher); existing hashes still verify."""
    global _hasher
    _hasher = hasher
    _dummy_hash.cache_clear()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether a stored hash was made with other parameters than today's (rehash on login)."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash("danvan-dummy-password-for-unknown-users")


def dummy_verify(password: str) -> bool:
    """Spend a verification's worth of time for a user that does not exist; always False."""
    verify_password(_dummy_hash(), password)
    return False
