"""fewer_gc_passes: the collector's thresholds are raised inside the block and put back after it, also on error."""

from __future__ import annotations

import gc

import pytest

from ansible_collections.underlay.network.plugins.module_utils._common.gc_passes import THRESHOLDS, fewer_gc_passes


def test_thresholds_are_raised_inside_and_restored_after_even_on_error():
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), fewer_gc_passes():
        assert gc.get_threshold() == THRESHOLDS
        assert THRESHOLDS[0] >= 50 * 700  # the young generation: far fewer passes than Python's default 700
        raise RuntimeError('the block failed')
    assert gc.get_threshold() == before
