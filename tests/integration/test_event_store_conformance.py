"""The library's own conformance tests, run on our recorder as the application's role.

``LockingApplicationRecorder`` takes the table lock through a SECURITY DEFINER function
instead of ``LOCK TABLE``, and ``GroupCommitRecorder`` commits concurrent saves together;
these prove both still behave as the library's recorder (ordering, non-interleaving
notification IDs under concurrent writers, subscriptions).
They use a table of their own: their events carry no tenant, which danvan_events refuses.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

# The library's test module imports its AES cipher: eventsourcing[crypto] (pycryptodome),
# a dev dependency.
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.tests.persistence import (
    ApplicationRecorderTestCase,
    NonInterleavingNotificationIDsBaseCase,
    ProcessRecorderTestCase,
)
from psycopg import sql

from danvan.infra.database import connect_owner, role_params
from danvan.infra.event_store import (
    GroupCommitRecorder,
    LockingApplicationRecorder,
    LockingProcessRecorder,
    lock_function_name,
)
from danvan.infra.settings import Settings

TABLE = "conformance_events"
TRACKING_TABLE = "conformance_tracking"


class _OnTestDatabase:
    settings: Settings
    datastores: list[PostgresDatastore]

    @pytest.fixture(autouse=True)
    def _database(self, settings: Settings) -> Iterator[None]:
        self.settings = settings
        self.datastores = []
        owner = self._datastore("owner")
        LockingProcessRecorder(owner, events_table_name=TABLE,
                               tracking_table_name=TRACKING_TABLE).create_table()
        with connect_owner(settings) as conn:
            role = sql.Identifier(settings.app_db_role)
            conn.execute(sql.SQL("GRANT SELECT, INSERT ON {} TO {}").format(
                sql.Identifier(TABLE), role))
            # Tracking is one row per upstream application, moved by upsert.
            conn.execute(sql.SQL("GRANT SELECT, INSERT, UPDATE ON {} TO {}").format(
                sql.Identifier(TRACKING_TABLE), role))
            conn.execute(sql.SQL("GRANT USAGE ON SEQUENCE {} TO {}").format(
                sql.Identifier(f"{TABLE}_notification_id_seq"), role))
            conn.execute(sql.SQL("GRANT EXECUTE ON FUNCTION {}() TO {}").format(
                sql.Identifier(lock_function_name(TABLE)), role))
        yield
        for datastore in self.datastores:
            datastore.close()

    def _datastore(self, role: Any) -> PostgresDatastore:
        params = role_params(self.settings, role)
        datastore = PostgresDatastore(
            dbname=params.dbname, host=params.host, port=params.port, user=params.user,
            password=params.password, pool_size=4, max_overflow=12, lock_timeout=10)
        self.datastores.append(datastore)
        return datastore

    def create_recorder(self) -> LockingApplicationRecorder:
        return LockingApplicationRecorder(self._datastore("app"), events_table_name=TABLE)


class TestLockingRecorderConformance(_OnTestDatabase,
                                     ApplicationRecorderTestCase[LockingApplicationRecorder]):
    # Timing printouts, not checks: measured in bench/ instead, so not collected here.
    test_performance = None  # type: ignore[assignment]
    test_concurrent_throughput = None  # type: ignore[assignment]


class TestLockingRecorderNonInterleaving(_OnTestDatabase, NonInterleavingNotificationIDsBaseCase):
    pass


class TestGroupCommitRecorderConformance(_OnTestDatabase,
                                         ApplicationRecorderTestCase[GroupCommitRecorder]):
    def create_recorder(self) -> GroupCommitRecorder:
        return GroupCommitRecorder(self._datastore("app"), events_table_name=TABLE)

    test_performance = None  # type: ignore[assignment]
    test_concurrent_throughput = None  # type: ignore[assignment]


class TestGroupCommitRecorderNonInterleaving(_OnTestDatabase,
                                             NonInterleavingNotificationIDsBaseCase):
    def create_recorder(self) -> GroupCommitRecorder:
        return GroupCommitRecorder(self._datastore("app"), events_table_name=TABLE)


class TestLockingProcessRecorderConformance(_OnTestDatabase, ProcessRecorderTestCase):
    def create_recorder(self) -> LockingProcessRecorder:  # type: ignore[override]
        return LockingProcessRecorder(self._datastore("app"), events_table_name=TABLE,
                                      tracking_table_name=TRACKING_TABLE)

    test_performance = None  # type: ignore[assignment]
