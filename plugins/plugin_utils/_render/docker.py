# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One host's plan as parameters of underlay.network.docker_vlan_network: one network per segment that has one."""

from __future__ import annotations

from ansible_collections.underlay.network.plugins.plugin_utils._render.host_plan import segments_of

SEGMENT_LABEL = 'underlay.network.segment'


def _docker_network(trunk, segment):
    network = segment['docker_network']
    parameters = {'name': network['name'], 'driver': segment['driver']}
    if segment['vlan_id'] is None:
        parameters['parent'] = trunk
    else:
        # trunk + vlan_id: the module makes the VLAN interface itself if it is missing, so the network survives
        # without the vlan_host role; the interface it expects is the plan's (TRUNK.VLAN_ID).
        parameters.update(trunk=trunk, vlan_id=segment['vlan_id'])
    parameters['%s_mode' % segment['driver']] = segment['mode']
    parameters['ipam_config'] = [{'subnet': segment['subnet'], 'gateway': segment['gateway'],
                                  'ip_range': segment['ip_range'], 'aux_addresses': dict(network['aux_addresses'])}]
    parameters['labels'] = {SEGMENT_LABEL: segment['name']}
    return parameters


def docker_networks(plan):
    """Parameters of underlay.network.docker_vlan_network, one dict per segment with a Docker network."""
    return [_docker_network(plan['trunk'], segment) for segment in segments_of(plan, 'docker_networks')
            if segment['docker_network']]
