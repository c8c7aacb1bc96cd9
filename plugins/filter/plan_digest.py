# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan_digest filter, documented in plan_digest.yml; the logic is in plugin_utils/_render/digest.py."""

from __future__ import annotations

from ansible_collections.underlay.network.plugins.plugin_utils._filters import ansible_filter
from ansible_collections.underlay.network.plugins.plugin_utils._render.digest import plan_digest


class FilterModule:
    """The digest of a host's plan, for its convergence record."""

    def filters(self):
        return {'plan_digest': ansible_filter(plan_digest)}
