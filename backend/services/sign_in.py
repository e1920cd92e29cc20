"""Signing in: the password checked against the user's hash, failed attempts recorded as
events, an old-parameter hash renewed. The token itself is the HTTP layer's business."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from danvan.backend.auth.passwords import dummy_verify, hash_password, needs_rehash, verify_password
from danvan.domain.base import Actor, Context
from danvan.domain.policies import SpecialRole
from danvan.domain.users import User

ANONYMOUS = Actor(user_id="anonymous", role=SpecialRole.ANONYMOUS)
SAVE_ATTEMPTS = 3


@dataclass(frozen=True)
class SignInAttempt:
    username: str
    password: str
    address: str
    request_id: str
    correlation_id: str

    def context(self, tenant_id: str, actor: Actor) -> Context:
        return Context(tenant_id=tenant_id, actor=actor, at=datetime.now(UTC),
                       correlation_id=self.correlation_id or uuid.uuid4().hex,
                       request_id=self.request_id or None)


def _save_with_retry(store: Application, user_id: uuid.UUID,
                     change: Callable[[User], object]) -> None:
    """Apply ``change(user)`` to the latest version and save, retrying version clashes."""
    for _ in range(SAVE_ATTEMPTS):
        user: object = store.repository.get(user_id)
        assert isinstance(user, User)
        change(user)
        try:
            store.save(user)
            return
        except IntegrityError:
            continue


def authenticate(store: Application, attempt: SignInAttempt) -> User | None:
    """The user if the password is right and the account active, else None; failed attempts
    become events.

    The token is issued from the version loaded here: its grants and its credentials
    generation come from the same events. Re-hashing an old-parameter hash is recorded as
    ``PasswordRehashed``, which changes no generation, so it revokes no token."""
    user_id = User.id_for(attempt.username)
    try:
        user: object = store.repository.get(user_id)
    except AggregateNotFoundError:
        dummy_verify(attempt.password)
        return None
    if not isinstance(user, User):
        dummy_verify(attempt.password)
        return None
    if not verify_password(user.password_hash, attempt.password) or not user.active:
        ctx = attempt.context(user.tenant_id, ANONYMOUS)
        _save_with_retry(store, user_id,
                         lambda u: u.record_failed_login(ctx, address=attempt.address))
        return None
    rehash = needs_rehash(user.password_hash)
    if rehash or user.failed_logins:
        ctx = attempt.context(user.tenant_id, Actor(user_id=str(user.id),
                                                    role=SpecialRole.SELF))
        new_hash = hash_password(attempt.password) if rehash else None

        def change(u: User) -> None:
            u.record_login(ctx)
            if new_hash is not None:
                u.rehash_password(ctx, password_hash=new_hash)

        with contextlib.suppress(Exception):  # bookkeeping must not refuse a good password
            _save_with_retry(store, user_id, change)
    return user
