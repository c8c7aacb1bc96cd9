# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fewer passes of Python's cyclic garbage collector while a module holds a whole namespace's netlink dumps.

pyroute2 decodes each dumped message into many small objects, and a call that reads a whole namespace keeps them
all until it ends. Every pass of the collector walks them again, and the passes come more often the more the call
allocates, so the collector's share grows faster than the number of links (benchmarks/README.md, "Many links on
one host"). With a first threshold 70 times the default the young generation is collected 70 times less often,
and cyclic garbage is still freed.
"""

from __future__ import annotations

import contextlib
import gc

THRESHOLDS = (50000, 20, 20)


@contextlib.contextmanager
def fewer_gc_passes():
    """Run the block with the collector's thresholds raised to THRESHOLDS, then put the old ones back."""
    before = gc.get_threshold()
    gc.set_threshold(*THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)
