# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The persistence filters: networkd_files and ifupdown_files.

The documentation of each filter is in the YAML file named after it next to this one
(networkd_files.yml, ifupdown_files.yml). The logic is in plugin_utils/_render/persistence.py; this file only
turns its errors into Ansible's.
"""

from __future__ import annotations

from ansible_collections.underlay.network.plugins.plugin_utils._filters import ansible_filter
from ansible_collections.underlay.network.plugins.plugin_utils._render.persistence import ifupdown_files, networkd_files


class FilterModule:
    """One host's plan as persistent network configuration files."""

    def filters(self):
        return {
            'networkd_files': ansible_filter(networkd_files),
            'ifupdown_files': ansible_filter(ifupdown_files),
        }
