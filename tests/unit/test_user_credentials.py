"""A user's credentials generation (the version of its latest credentials change) and the
token claim that carries it."""

from __future__ import annotations

from collections.abc import Callable

import jwt
import pytest

from danvan.backend.auth.tokens import TokenError, issue_token, read_token
from danvan.domain.commands import ChangeGrants, ChangePassword, DeactivateUser, RegisterUser
from danvan.domain.policies import RoleGrant
from danvan.domain.users import CredentialsChanged, User, credentials_changes
from tests.unit.builders import TENANT, ctx

SECRET = "unit-secret-unit-secret-unit-secret-0123"
KEEP_TOKENS = {"Registered", "LoginFailed", "LoggedIn", "PasswordRehashed"}
"""User events that leave every token standing: nothing a token asserts changes."""


def grant(role: str) -> RoleGrant:
    return RoleGrant(role=role, province_code="15", tenant_id=TENANT)


def registered() -> User:
    user = User.register(ctx("tenant_admin"), RegisterUser("can.bo", "hash-1", "Cán bộ",
                                                           (grant("reviewer"),)))
    user.collect_events()
    return user


def test_every_user_event_is_either_a_credentials_change_or_known_to_keep_tokens() -> None:
    """A new User event must be classified here (and derive from CredentialsChanged if it
    changes roles, password or status)."""
    own = {name for name, value in vars(User).items()
           if isinstance(value, type) and issubclass(value, User.Event)
           and name not in ("Event", "Created")}
    changes = {cls.__name__ for cls in credentials_changes()}
    assert changes == {n for n in own if issubclass(getattr(User, n), CredentialsChanged)}
    assert changes | KEEP_TOKENS == own
    assert not changes & KEEP_TOKENS


CHANGES: dict[str, Callable[[User], object]] = {
    "roles": lambda u: u.change_grants(ctx("tenant_admin"), ChangeGrants((grant("approver"),))),
    "password": lambda u: u.change_password(ctx("tenant_admin"), ChangePassword("hash-2")),
    "deactivation": lambda u: u.deactivate(ctx("tenant_admin"), DeactivateUser("Nghỉ hưu")),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_credentials_change_moves_the_generation_to_its_version(change: str) -> None:
    user = registered()
    assert user.credentials_generation == 0
    CHANGES[change](user)
    [event] = user.collect_events()
    assert isinstance(event, CredentialsChanged)
    assert user.credentials_generation == user.version == event.originator_version == 2


def test_a_replay_gives_the_same_generation() -> None:
    user = registered()
    for change in ("roles", "password"):
        CHANGES[change](user)
    user.rehash_password(ctx("self"), password_hash="hash-3")
    user.record_failed_login(ctx("anonymous"), address="127.0.0.1")
    original = User.register(ctx("tenant_admin"), RegisterUser("can.bo", "hash-1", "Cán bộ",
                                                        (grant("reviewer"),)))
    rebuilt: User | None = None
    for event in [*original.collect_events(), *user.collect_events()]:
        rebuilt = event.mutate(rebuilt)
    assert isinstance(rebuilt, User)
    assert rebuilt.credentials_generation == 3 == user.credentials_generation
    assert rebuilt.version == 5


def test_a_rehash_or_a_login_keeps_the_generation() -> None:
    user = registered()
    CHANGES["roles"](user)
    user.rehash_password(ctx("self"), password_hash="hash-3")
    user.record_failed_login(ctx("anonymous"), address="127.0.0.1")
    user.record_login(ctx("self"))
    assert user.version == 5
    assert user.credentials_generation == 2
    assert user.password_hash == "hash-3"


def test_a_token_carries_the_generation_it_was_issued_at() -> None:
    token = issue_token(user_id="u", username="can.bo", grants=[], secret=SECRET,
                        lifetime_seconds=60, generation=7)
    assert jwt.decode(token, SECRET, algorithms=["HS256"], issuer="danvan")["gen"] == 7
    assert read_token(token, secret=SECRET).generation == 7


def test_a_token_without_the_claim_counts_as_generation_zero_and_a_bad_one_is_invalid() -> None:
    claims = jwt.decode(issue_token(user_id="u", username="can.bo", grants=[], secret=SECRET,
                                    lifetime_seconds=60), SECRET, algorithms=["HS256"],
                        issuer="danvan")
    del claims["gen"]
    assert read_token(jwt.encode(claims, SECRET, algorithm="HS256"),
                      secret=SECRET).generation == 0
    for bad in (-1, "3", 2.5, True):
        with pytest.raises(TokenError):
            read_token(jwt.encode({**claims, "gen": bad}, SECRET, algorithm="HS256"),
                       secret=SECRET)


def test_a_token_says_whether_it_was_issued_for_a_one_time_password() -> None:
    once = issue_token(user_id="u", username="can.bo", grants=[], secret=SECRET,
                       lifetime_seconds=60, must_change_password=True)
    assert read_token(once, secret=SECRET).must_change_password is True
    claims = jwt.decode(once, SECRET, algorithms=["HS256"], issuer="danvan")
    del claims["mcp"]
    assert read_token(jwt.encode(claims, SECRET, algorithm="HS256"),
                      secret=SECRET).must_change_password is False
    for bad in (1, "true", None):
        with pytest.raises(TokenError):
            read_token(jwt.encode({**claims, "mcp": bad}, SECRET, algorithm="HS256"),
                       secret=SECRET)
