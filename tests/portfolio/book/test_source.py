"""One read's source (``one_source``): books of several dates read what is not dated once, and the
cyclic garbage collector pauses while they are computed, in any thread, until the last read ends."""

from __future__ import annotations

import gc
import threading

import pytest

from portfolio.book.core import _shared, collection_paused, one_source


@pytest.fixture(autouse=True)
def _collector_on():
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_the_collector_pauses_within_a_read_and_resumes_after_it():
    with one_source():
        assert not gc.isenabled()
        shared = _shared.get()
        with one_source():  # a read within a read adds nothing: the same source, still paused
            assert _shared.get() is shared
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    assert _shared.get() is None


def test_the_collector_resumes_after_a_read_that_fails():
    with pytest.raises(RuntimeError), one_source():
        raise RuntimeError("a read that fails")
    assert gc.isenabled()


def test_the_collector_stays_paused_until_the_last_thread_ends_its_read():
    """Two threads pause it; the first to finish leaves it off for the other."""
    first_in, first_out, second_done = threading.Event(), threading.Event(), threading.Event()
    seen: list[bool] = []

    def first() -> None:
        with collection_paused():
            first_in.set()
            first_out.wait(5)

    def second() -> None:
        first_in.wait(5)
        with collection_paused():
            first_out.set()
            worker.join(5)  # the first thread's block has ended
            seen.append(gc.isenabled())
        second_done.set()

    worker = threading.Thread(target=first)
    other = threading.Thread(target=second)
    worker.start()
    other.start()
    other.join(5)
    assert second_done.is_set()
    assert seen == [False]
    assert gc.isenabled()


def test_a_collector_switched_off_stays_off():
    gc.disable()
    with collection_paused():
        pass
    assert not gc.isenabled()
