# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One host's plan as the renderings read it (``host_links``, ``docker_networks``, ``plan_endpoints``, the
persistence files): the one check that what they were given is a host's plan."""

from __future__ import annotations

from ansible_collections.underlay.network.plugins.plugin_utils._filters import FilterError
from ansible_collections.underlay.network.plugins.plugin_utils._fleet.inputs import as_list


def segments_of(plan, filter_name):
    if not isinstance(plan, dict) or 'segments' not in plan or 'trunk' not in plan:
        raise FilterError("%s takes one host's plan, e.g. plans[inventory_hostname] where plans is "
                          'underlay_fleet | underlay.network.fleet_plan(hosts); got %s'
                          % (filter_name, type(plan).__name__))
    return as_list(plan['segments'], '%s: the plan\'s segments' % filter_name, 'segment plans')
