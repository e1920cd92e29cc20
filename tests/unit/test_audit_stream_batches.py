"""``resolve_audit``: a batch of the trail sent as messages within the byte budget
(``within_budget``), and the batch read ahead while they are sent (``_messages``)."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest

from danvan.graphql import resolve_audit
from danvan.graphql.resolve_audit import EDGE, ENVELOPE, TrailQuestion, within_budget
from danvan.projections.audit.rows import EncodedEntry
from danvan.projections.paging import Page, page_of

QUESTION = TrailQuestion("t1", None, None, None, None, None)


def batch(*sizes: int, more: bool = False) -> Page[EncodedEntry]:
    """A batch read from the database: events whose nodes are ``sizes`` bytes of text."""
    entries = [EncodedEntry(position, "ạ" * (size // 3), size)  # three bytes a letter
               for position, size in enumerate(sizes, start=1)]
    fetched = [*entries, EncodedEntry(len(sizes) + 1, "{}", 2)] if more else entries
    return page_of(fetched, len(sizes), -1, "audit", lambda e: (e.position,))


def test_a_batch_is_cut_into_pages_within_the_budget_each_resuming_after_the_last(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resolve_audit, "MESSAGE_BUDGET", ENVELOPE + 3 * (300 + EDGE))
    whole = batch(300, 300, 300, 300, 3000, 300, more=True)
    parts = list(within_budget(whole))
    assert [[e.position for e in p.items] for p in parts] == [[1, 2, 3], [4], [5], [6]]
    assert [p.end_cursor for p in parts] == [whole.cursors[i] for i in (2, 3, 4, 5)]
    assert [p.has_next_page for p in parts] == [True] * 4  # the batch has more after it
    assert not list(within_budget(batch(300, 300)))[-1].has_next_page


def test_a_batch_within_the_budget_is_one_message() -> None:
    whole = batch(300, 300)
    assert list(within_budget(whole)) == [whole]
    empty = batch()
    assert list(within_budget(empty)) == [empty]


def test_a_read_ahead_that_failed_before_the_stream_stopped_is_not_left_unretrieved(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The client goes away while a batch is sent, and the batch read ahead meanwhile failed
    # (the database went away): its exception is retrieved, else asyncio logs "Task exception
    # was never retrieved" for each such stream.
    async def failing(info: Any, question: Any, first: int, after: str | None) -> Any:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(resolve_audit, "read_trail", failing)
    reported: list[dict[str, Any]] = []

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _, ctx: reported.append(ctx))
        page = batch(300, more=True)
        opening = (page, [resolve_audit.answered(page, None)])
        stream = resolve_audit._messages(None, QUESTION, opening)  # type: ignore[arg-type]
        first = await stream.__anext__()
        assert [e.node.position for e in first.edges] == [1]
        await asyncio.sleep(0.01)  # the read ahead fails while the batch is being sent
        await stream.aclose()  # the client went away
        del stream
        gc.collect()
        await asyncio.sleep(0)

    asyncio.run(main())
    assert [ctx.get("message") for ctx in reported] == []
