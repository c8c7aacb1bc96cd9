# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The links module: a host's whole declared underlay converged in one call (plan, apply unless check mode,
report). The plan is ``host_plan.py``, applying it ``host_apply.py``, the result ``host_report.py``."""

from __future__ import annotations

from ansible_collections.underlay.network.plugins.module_utils._common.gc_passes import fewer_gc_passes
from ansible_collections.underlay.network.plugins.module_utils._common.vocabulary import MERGED
from ansible_collections.underlay.network.plugins.module_utils._links.host_apply import apply_host
from ansible_collections.underlay.network.plugins.module_utils._links.host_plan import host_options, plan_host
from ansible_collections.underlay.network.plugins.module_utils._links.host_report import report
from ansible_collections.underlay.network.plugins.module_utils._links.sessions import Sessions


def converge_host(config, state=MERGED, options=None, owner=None):
    """Plan, apply unless check mode, report (``options``: ``host_options``, by default those of ``state``)."""
    options = options or host_options(state)
    with fewer_gc_passes(), Sessions(whole=True) as sessions:
        plan = plan_host(sessions, config, state, options, owner)
        actions = apply_host(sessions, plan) if plan.changed and not options.check_mode else []
        return report(sessions, plan, actions, options.check_mode)
