# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet address plan filters: fleet_plan, host_links, docker_networks and plan_endpoints.

One file defines several filters, so each one's documentation is in the YAML file named after it
next to this one (fleet_plan.yml, host_links.yml, docker_networks.yml, plan_endpoints.yml). The logic is in
plugin_utils/fleet_plan.py; this file only turns its errors into Ansible's.
"""

from __future__ import annotations

import functools

from ansible.errors import AnsibleFilterError
from ansible_collections.underlay.network.plugins.plugin_utils.fleet_plan import (
    FleetPlanError,
    docker_networks,
    fleet_plan,
    host_links,
    plan_endpoints,
)


def _ansible_errors(function):
    """Report a FleetPlanError as the filter's own error: its message already says what to fix."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except FleetPlanError as exc:
            # from None: the message is complete; chaining would repeat it in Ansible's output.
            raise AnsibleFilterError(str(exc)) from None

    return wrapper


class FilterModule:
    """The fleet address plan and its conversions into module parameters."""

    def filters(self):
        return {
            'fleet_plan': _ansible_errors(fleet_plan),
            'host_links': _ansible_errors(host_links),
            'docker_networks': _ansible_errors(docker_networks),
            'plan_endpoints': _ansible_errors(plan_endpoints),
        }
