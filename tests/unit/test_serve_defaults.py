"""How many worker processes ``danvan serve`` starts when not told."""

from __future__ import annotations

import pytest

from danvan.backend.commands import serve
from danvan.infra.settings import Settings


@pytest.mark.parametrize(("cores", "expected"), [(1, 1), (2, 2), (16, serve.MAX_DEFAULT_WORKERS),
                                                 (None, 1)])
def test_one_worker_per_core_on_a_database_server(monkeypatch: pytest.MonkeyPatch,
                                                  cores: int | None, expected: int) -> None:
    monkeypatch.setattr(serve.os, "cpu_count", lambda: cores)
    settings = Settings(database_url="postgresql://danvan@db.example/danvan")
    assert serve.default_workers(settings) == expected


def test_one_worker_on_the_embedded_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(serve.os, "cpu_count", lambda: 8)
    assert serve.default_workers(Settings(database_url=None)) == 1
