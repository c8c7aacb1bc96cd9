# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet address plan filters: fleet_plan, host_links, docker_networks, plan_endpoints, planner_input,
vm_guests, vm_links and libvirt_networks.

One file defines several filters, so each one's documentation is in the YAML file named after it next to
this one (fleet_plan.yml, host_links.yml, ...). The logic is in plugin_utils/_fleet/ (the plan, planner_input)
and plugin_utils/_render/ (links, docker, endpoints, vms); this file only turns their errors into Ansible's.
"""

from __future__ import annotations

from ansible_collections.underlay.network.plugins.plugin_utils._filters import ansible_filter
from ansible_collections.underlay.network.plugins.plugin_utils._fleet.plan import fleet_plan
from ansible_collections.underlay.network.plugins.plugin_utils._fleet.planner_input import planner_input
from ansible_collections.underlay.network.plugins.plugin_utils._render.docker import docker_networks
from ansible_collections.underlay.network.plugins.plugin_utils._render.endpoints import plan_endpoints
from ansible_collections.underlay.network.plugins.plugin_utils._render.links import host_links
from ansible_collections.underlay.network.plugins.plugin_utils._render.vms import libvirt_networks, vm_guests, vm_links


class FilterModule:
    """The fleet address plan and its conversions into module parameters."""

    def filters(self):
        return {
            'fleet_plan': ansible_filter(fleet_plan),
            'host_links': ansible_filter(host_links),
            'docker_networks': ansible_filter(docker_networks),
            'plan_endpoints': ansible_filter(plan_endpoints),
            'planner_input': ansible_filter(planner_input),
            'vm_guests': ansible_filter(vm_guests),
            'vm_links': ansible_filter(vm_links),
            'libvirt_networks': ansible_filter(libvirt_networks),
        }
