"""Authentication: argon2id passwords, JWT bearer tokens, guards, login rate limits."""

from danvan.backend.auth.guards import allow, authenticated, principal_of
from danvan.backend.auth.passwords import hash_password, needs_rehash, verify_password
from danvan.backend.auth.tokens import Principal, issue_token, read_token

__all__ = ["Principal", "allow", "authenticated", "hash_password", "issue_token",
           "needs_rehash", "principal_of", "read_token", "verify_password"]
