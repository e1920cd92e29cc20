"""A user's account over its life: a one-time password until its holder changes it, a reset by
an admin, a deactivation, and who may touch an inspector's account."""

from __future__ import annotations

import json
import uuid

import pytest
from eventsourcing.persistence import Mapper, StoredEvent

from danvan.domain.base import IllegalTransition, InvalidInput, NotPermitted
from danvan.domain.commands import (
    ChangeGrants,
    ChangePassword,
    DeactivateUser,
    RegisterUser,
    ResetPassword,
)
from danvan.domain.policies import Action, Role, RoleGrant, may
from danvan.domain.users import User
from danvan.projections.event_types import transcoder
from danvan.projections.events import topic_of
from tests.unit.builders import TENANT, ctx


def grant(role: str) -> RoleGrant:
    return RoleGrant(role=role, province_code="15", tenant_id=TENANT)


def registered(role: str = "reviewer", *, one_time: bool = False) -> User:
    user = User.register(ctx("province_admin"), RegisterUser(
        "can.bo", "hash-1", "Cán bộ", (grant(role),), must_change_password=one_time))
    user.collect_events()
    return user


def test_a_user_registered_with_a_one_time_password_must_change_it_and_then_need_not() -> None:
    user = registered(one_time=True)
    assert user.must_change_password
    user.change_password(ctx("self"), ChangePassword("hash-2"))
    assert not user.must_change_password
    assert user.password_hash == "hash-2"
    assert not registered().must_change_password


def test_a_reset_sets_the_password_and_leaves_a_one_time_password_one() -> None:
    user = registered(one_time=True)
    user.reset_password(ctx("tenant_admin"), ResetPassword("hash-2"))
    [event] = user.collect_events()
    assert isinstance(event, User.PasswordReset)
    assert user.password_hash == "hash-2"
    assert user.must_change_password
    assert user.credentials_generation == 2


def test_a_deactivation_records_its_reason_and_happens_once() -> None:
    user = registered()
    user.deactivate(ctx("tenant_admin"), DeactivateUser("  Chuyển công tác  "))
    [event] = user.collect_events()
    assert isinstance(event, User.Deactivated)
    assert event.meta["reason"] == "Chuyển công tác"
    assert not user.active
    with pytest.raises(IllegalTransition) as again:
        user.deactivate(ctx("tenant_admin"), DeactivateUser("Nghỉ hưu"))
    assert again.value.code == "user_inactive"


@pytest.mark.parametrize("reason", ["", "   ", "x" * 20_001])
def test_a_deactivation_needs_a_reason_within_bounds(reason: str) -> None:
    user = registered()
    with pytest.raises(InvalidInput) as refused:
        user.deactivate(ctx("tenant_admin"), DeactivateUser(reason))
    assert set(refused.value.errors) == {"reason"}
    assert user.active and not user.collect_events()


def test_a_deactivated_account_takes_no_new_password_and_no_new_roles() -> None:
    user = registered()
    user.deactivate(ctx("tenant_admin"), DeactivateUser("Nghỉ hưu"))
    user.collect_events()
    for change in (lambda: user.reset_password(ctx("tenant_admin"), ResetPassword("hash-2")),
                   lambda: user.change_password(ctx("self"), ChangePassword("hash-2")),
                   lambda: user.change_grants(ctx("tenant_admin"),
                                              ChangeGrants((grant("approver"),)))):
        with pytest.raises(IllegalTransition):
            change()
    assert not user.collect_events()
    assert user.password_hash == "hash-1"


def test_only_the_province_resets_or_deactivates_an_inspector() -> None:
    inspector = registered(Role.INSPECTOR)
    with pytest.raises(NotPermitted) as reset:
        inspector.reset_password(ctx("tenant_admin"), ResetPassword("hash-2"))
    with pytest.raises(NotPermitted) as stopped:
        inspector.deactivate(ctx("tenant_admin"), DeactivateUser("Nghỉ hưu"))
    assert reset.value.code == stopped.value.code == "inspector_needs_province_admin"
    assert not inspector.collect_events()
    inspector.reset_password(ctx("province_admin"), ResetPassword("hash-2"))
    inspector.deactivate(ctx("province_admin"), DeactivateUser("Nghỉ hưu"))
    assert len(inspector.collect_events()) == 2


def test_a_tenant_admin_resets_and_deactivates_other_roles() -> None:
    for role in (Role.TENANT_ADMIN, Role.REVIEWER, Role.APPROVER):
        user = registered(role)
        user.reset_password(ctx("tenant_admin"), ResetPassword("hash-2"))
        user.deactivate(ctx("tenant_admin"), DeactivateUser("Nghỉ hưu"))
        assert len(user.collect_events()) == 2


@pytest.mark.parametrize("action", [Action.USER_PASSWORD_RESET, Action.USER_DEACTIVATE])
def test_the_admins_of_a_tenant_and_of_its_province_and_nobody_else_may(action: Action) -> None:
    assert {role for role in Role if may(role, action)} == {Role.TENANT_ADMIN,
                                                            Role.PROVINCE_ADMIN}


def test_a_registration_stored_before_one_time_passwords_reads_as_an_ordinary_one() -> None:
    """Version 1 of ``Registered`` has no ``must_change_password``: its upcaster says False."""
    state = {"timestamp": {"_type_": "datetime_iso", "_data_": "2026-01-05T09:00:00+00:00"},
             "tenant_id": TENANT, "meta": {"actor_id": "system"}, "username": "can.bo.cu",
             "password_hash": "hash-1", "full_name": "Cán bộ cũ",
             "grants": [grant("reviewer").as_dict()],
             "originator_topic": topic_of(User)}
    mapper: Mapper[uuid.UUID] = Mapper(transcoder())
    event = mapper.to_domain_event(StoredEvent(uuid.uuid4(), 1, topic_of(User.Registered),
                                               json.dumps(state).encode()))
    user = event.mutate(None)
    assert isinstance(user, User)
    assert user.must_change_password is False
    assert user.username == "can.bo.cu"
