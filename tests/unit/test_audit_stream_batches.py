"""``resolve_audit._batches``: the batch read ahead while one is sent, when the stream stops."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest

from danvan.graphql import resolve_audit
from danvan.graphql.resolve_audit import TrailQuestion
from danvan.projections.paging import Page

QUESTION = TrailQuestion("t1", None, None, None, None, None)


def test_a_read_ahead_that_failed_before_the_stream_stopped_is_not_left_unretrieved(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The client goes away while a batch is sent, and the batch read ahead meanwhile failed
    # (the database went away): its exception is retrieved, else asyncio logs "Task exception
    # was never retrieved" for each such stream.
    async def failing(info: Any, question: Any, first: int, after: str | None) -> Any:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(resolve_audit, "trail_page", failing)
    reported: list[dict[str, Any]] = []

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _, ctx: reported.append(ctx))
        page = Page(items=[1], total_count=-1, has_next_page=True, end_cursor="c",
                    cursors=["c"])
        stream = resolve_audit._batches(None, QUESTION, (page, "first batch"))  # type: ignore[arg-type]
        assert await stream.__anext__() == "first batch"
        await asyncio.sleep(0.01)  # the read ahead fails while the batch is being sent
        await stream.aclose()  # the client went away
        del stream
        gc.collect()
        await asyncio.sleep(0)

    asyncio.run(main())
    assert [ctx.get("message") for ctx in reported] == []
