"""The GC pause restores the collector as it found it, even on error."""

from __future__ import annotations

import gc

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
