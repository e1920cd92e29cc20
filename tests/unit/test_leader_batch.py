"""Leader/follower batching (``infra/leader_batch.py``), with a plain list for the store: each
thread gets its own answer, every request is written once, a failed or interrupted batch
fails only its own requests, and an interrupted caller leaves nobody waiting."""

from __future__ import annotations

import threading
import time
from collections import Counter

from danvan.infra.leader_batch import LeaderBatch, LeadInterrupted, Request
from tests.interrupting import interrupt_main, interrupted_by, wait_until


class Store:
    """Writes each batch to ``batches`` and answers each request its item in capitals. A
    batch holding an item of ``hold`` waits for its ``release`` first; a batch holding
    ``refuse`` raises ``refusal``, after answering the requests in ``answer_first``."""

    def __init__(self, *, hold: tuple[str, ...] = (), refuse: str = "",
                 refusal: type[BaseException] = ValueError,
                 answer_first: tuple[str, ...] = ()) -> None:
        self.batches: list[list[str]] = []
        self.holding = {item: threading.Event() for item in hold}
        self.release = {item: threading.Event() for item in hold}
        self.refuse, self.refusal, self.answer_first = refuse, refusal, answer_first

    def write(self, batch: list[Request[str, str]]) -> None:
        items = [request.item for request in batch]
        for item in set(items) & set(self.holding):
            self.holding[item].set()
            assert self.release[item].wait(10)
        if self.refuse in items:
            for request in batch:
                if request.item in self.answer_first:
                    request.answer(request.item.upper())
            raise self.refusal("refused")
        self.batches.append(items)
        for request in batch:
            request.answer(request.item.upper())

    def written(self) -> list[str]:
        return [item for batch in self.batches for item in batch]


class Callers:
    """Each ``ask`` on a thread of its own, returning once it leads (``leads``) or is queued;
    its outcome (the answer, or what it raised) in ``outcomes``. A caller whose leader was
    interrupted asks again, as the stores' callers do; that answer in ``retried``."""

    def __init__(self, batcher: LeaderBatch[str, str]) -> None:
        self.batcher = batcher
        self.outcomes: dict[str, object] = {}
        self.retried: dict[str, object] = {}
        self.threads: list[threading.Thread] = []

    def ask(self, item: str, *, leads: bool = False) -> None:
        def submit() -> None:
            try:
                self.outcomes[item] = self.batcher.submit(item)
            except BaseException as exc:
                self.outcomes[item] = exc
                if isinstance(exc, LeadInterrupted):
                    self.retried[item] = self.batcher.submit(item)

        queued = self.batcher.waiting
        self.threads.append(threading.Thread(target=submit, daemon=True))
        self.threads[-1].start()
        if not leads:
            wait_until(lambda: self.batcher.waiting > queued)

    def join(self) -> None:
        for thread in self.threads:
            thread.join(10)
        assert not any(thread.is_alive() for thread in self.threads), "a caller never returned"


def test_many_threads_each_get_their_own_answer_and_every_request_is_written_once() -> None:
    store = Store()
    batcher = LeaderBatch(store.write)
    items = [[f"t{t}-{n}" for n in range(50)] for t in range(16)]
    answers: dict[str, str] = {}
    start = threading.Barrier(len(items))

    def work(mine: list[str]) -> None:
        start.wait()
        for item in mine:
            answers[item] = batcher.submit(item)

    threads = [threading.Thread(target=work, args=(mine,)) for mine in items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    everything = [item for mine in items for item in mine]
    assert answers == {item: item.upper() for item in everything}
    assert Counter(store.written()) == Counter(everything)
    assert batcher.waiting == 0


def test_batches_are_bounded_by_the_max_size_and_taken_in_arrival_order() -> None:
    store = Store(hold=("first",))
    callers = Callers(LeaderBatch(store.write, max_batch=4))
    callers.ask("first", leads=True)
    assert store.holding["first"].wait(10)
    later = [f"r{n}" for n in range(10)]
    for item in later:
        callers.ask(item)
    store.release["first"].set()
    callers.join()

    assert store.batches == [["first"], later[:4], later[4:8], later[8:]]
    assert callers.outcomes == {item: item.upper() for item in ["first", *later]}


def test_a_failing_batch_fails_only_its_unanswered_requests_and_the_next_batch_runs() -> None:
    store = Store(hold=("first",), refuse="bad", answer_first=("kept",))
    callers = Callers(LeaderBatch(store.write, max_batch=3))
    callers.ask("first", leads=True)
    assert store.holding["first"].wait(10)
    for item in ("a", "kept", "bad", "c", "d"):
        callers.ask(item)
    store.release["first"].set()
    callers.join()

    failed = [callers.outcomes["a"], callers.outcomes["bad"]]
    assert all(isinstance(o, ValueError) and str(o) == "refused" for o in failed)
    assert failed[0] is not failed[1]  # each thread raises its own
    assert callers.outcomes["kept"] == "KEPT"  # answered before the batch failed: it stands
    assert {item: callers.outcomes[item] for item in ("first", "c", "d")} == \
        {"first": "FIRST", "c": "C", "d": "D"}
    assert store.batches == [["first"], ["c", "d"]]


def test_a_caller_interrupted_while_waiting_withdraws_its_request_and_nobody_hangs() -> None:
    store = Store(hold=("first",))
    batcher = LeaderBatch(store.write)
    callers = Callers(batcher)
    callers.ask("first", leads=True)
    assert store.holding["first"].wait(10)

    def conductor() -> None:
        wait_until(lambda: batcher.waiting == 1)  # the main thread queued
        callers.ask("behind")
        interrupt_main()

    with interrupted_by(conductor):
        batcher.submit("interrupted")
    assert batcher.waiting == 1  # taken back: only "behind" still waits
    store.release["first"].set()
    callers.join()
    callers.ask("later", leads=True)
    callers.join()

    assert callers.outcomes == {"first": "FIRST", "behind": "BEHIND", "later": "LATER"}
    assert "interrupted" not in store.written()
    assert batcher.waiting == 0


def test_an_interrupted_leader_keeps_the_interrupt_its_mates_may_retry_and_the_lead_passes(
        ) -> None:
    store = Store(hold=("first", "leader"), refuse="leader", refusal=KeyboardInterrupt)
    batcher = LeaderBatch(store.write)
    callers = Callers(batcher)
    callers.ask("first", leads=True)
    assert store.holding["first"].wait(10)
    for item in ("leader", "m1", "m2"):
        callers.ask(item)
    store.release["first"].set()
    assert store.holding["leader"].wait(10)  # "leader" leads the batch of the three
    callers.ask("late")  # arrives while that batch is under way
    store.release["leader"].set()
    callers.join()

    assert isinstance(callers.outcomes["leader"], KeyboardInterrupt)
    assert all(isinstance(callers.outcomes[m], LeadInterrupted) for m in ("m1", "m2"))
    assert callers.outcomes["late"] == "LATE"  # led the next batch
    assert callers.retried == {"m1": "M1", "m2": "M2"}
    assert Counter(store.written()) == Counter(["first", "late", "m1", "m2"])
    assert batcher.waiting == 0


class _Failure(ValueError):
    """A batch's failure (a lost connection, say) during whose handling the leading thread is
    interrupted again: Ctrl-C pressed a second time, as the leader fails its mates."""

    def __copy__(self) -> _Failure:
        interrupt_main()
        time.sleep(0.1)  # the handler runs here, in the main thread
        return _Failure(*self.args)


def test_a_request_whose_batch_ended_unanswered_never_reads_as_a_success() -> None:
    store = Store(hold=("first",), refuse="main", refusal=_Failure)
    batcher = LeaderBatch(store.write)
    callers = Callers(batcher)
    callers.ask("first", leads=True)
    assert store.holding["first"].wait(10)

    def conductor() -> None:
        wait_until(lambda: batcher.waiting == 1)  # the main thread queued: it leads next
        for item in ("m1", "m2"):
            callers.ask(item)
        store.release["first"].set()

    with interrupted_by(conductor):
        batcher.submit("main")  # leads "main", "m1", "m2"; the batch fails
    callers.join()

    for mate in ("m1", "m2"):  # not written: each must raise, not return as if written
        assert isinstance(callers.outcomes[mate], LeadInterrupted), \
            f"{mate}: {callers.outcomes[mate]!r}"
    assert callers.retried == {"m1": "M1", "m2": "M2"}  # and, asked again, is written once
    assert Counter(store.written()) == Counter(["first", "m1", "m2"])
    assert batcher.waiting == 0
