"""Settings read from the environment: what an operator sets, and a clear refusal of the
values the service must not start with."""

from __future__ import annotations

import pytest

from danvan.infra.settings import DEFAULT_SECRET_KEY, Settings, SettingsError


def test_group_commit_is_on_unless_turned_off() -> None:
    assert Settings.from_env({}).db_group_commit is True
    for off in ("false", "0", "no", "OFF"):
        assert Settings.from_env({"DANVAN_DB_GROUP_COMMIT": off}).db_group_commit is False
    assert Settings.from_env({"DANVAN_DB_GROUP_COMMIT": "yes"}).db_group_commit is True


@pytest.mark.parametrize(("env", "named"), [
    ({"DANVAN_DB_GROUP_COMMIT": "maybe"}, "DANVAN_DB_GROUP_COMMIT"),
    ({"DANVAN_DB_POOL_SIZE": "ten"}, "DANVAN_DB_POOL_SIZE"),
    ({"DANVAN_DB_LOCK_TIMEOUT": "0"}, "DANVAN_DB_LOCK_TIMEOUT"),
    ({"DANVAN_ENV": "staging"}, "DANVAN_ENV"),
    ({"DANVAN_ENV": "production"}, "DANVAN_SECRET_KEY"),
    ({"DANVAN_ENV": "production", "DANVAN_SECRET_KEY": DEFAULT_SECRET_KEY},
     "DANVAN_SECRET_KEY"),
])
def test_a_bad_value_is_refused_naming_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(env)
