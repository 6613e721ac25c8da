"""The GC pause restores the collector as it found it, even on error."""

from __future__ import annotations

import gc
import threading

import pytest

from stockwatch.bulk.gcpause import paused_gc


def test_the_collector_comes_back_on_after_an_error() -> None:
    assert gc.isenabled()
    with pytest.raises(RuntimeError), paused_gc():
        assert not gc.isenabled()
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_disabled_collector_stays_disabled() -> None:
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_pause_ends_when_the_last_thread_holding_it_ends() -> None:
    """A recompute's reader thread pauses first and leaves first: its leaving must not end the
    pause of the compute thread, which paused while the reader's pause held."""
    assert gc.isenabled()
    reader_in, compute_in, reader_out = threading.Event(), threading.Event(), threading.Event()

    def reader() -> None:
        with paused_gc():
            reader_in.set()
            assert compute_in.wait(10)
        reader_out.set()

    other = threading.Thread(target=reader)
    other.start()
    assert reader_in.wait(10)
    with paused_gc():
        compute_in.set()
        assert reader_out.wait(10)
        assert not gc.isenabled()  # the reader has left; this thread's pause holds
    other.join(10)
    assert gc.isenabled()
