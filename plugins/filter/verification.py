# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The reachability verification's filters: verification_plan and verification_report.

One file defines both, so each one's documentation is in the YAML file named after it next to this one
(verification_plan.yml, verification_report.yml). The logic is in plugin_utils/_verification/ (plan.py,
report.py, html.py); this file only turns their errors into Ansible's.
"""

from __future__ import annotations

from ansible_collections.underlay.network.plugins.plugin_utils._filters import ansible_filter
from ansible_collections.underlay.network.plugins.plugin_utils._verification.plan import verification_plan
from ansible_collections.underlay.network.plugins.plugin_utils._verification.report import verification_report


class FilterModule:
    """Which endpoints probe which (once per play, linear in size), and the report of what the probes saw."""

    def filters(self):
        return {
            'verification_plan': ansible_filter(verification_plan),
            'verification_report': ansible_filter(verification_report),
        }
