# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The endpoints one host contributes to the verification (its own addresses, its namespace workloads and its
Docker containers), for underlay.network.verification_plan and expected_reachability."""

from __future__ import annotations

from ansible_collections.underlay.network.plugins.plugin_utils._fleet.inputs import as_str
from ansible_collections.underlay.network.plugins.plugin_utils._render.host_plan import segments_of


def _segment_on(plan_segments, interface):
    return next((segment for segment in plan_segments if segment['interface'] == interface), None)


def _segment_named(plan_segments, name):
    return next((segment for segment in plan_segments if segment['name'] == name), None)


def _segment_of_network(plan_segments, network):
    return next((segment for segment in plan_segments
                 if network and (segment.get('docker_network') or {}).get('name') == network), None)


def _container_endpoint(host, result, plan_segments, docker_host):
    """A Docker container started on a segment's network (one result of community.docker.docker_container)."""
    container = result.get('container') or {}
    network = (result.get('item') or {}).get('name')
    segment = _segment_of_network(plan_segments, network)
    attached = ((container.get('NetworkSettings') or {}).get('Networks') or {}).get(network) or {}
    if segment is None or not attached.get('IPAddress'):
        return None
    name = (container.get('Name') or '').lstrip('/')
    return {'name': '%s/%s' % (host, name), 'host': host, 'segment': segment['name'], 'kind': 'container',
            'address': attached['IPAddress'], 'netns': None, 'container': name, 'docker_host': docker_host,
            'shim': False}


def plan_endpoints(plan, host, workloads=None, containers=(), docker_host=None, vms=()):
    """The endpoints one host contributes to the reachability matrix: its own address on each segment (the
    host address, else the shim's), its namespace ``workloads`` (host_links' output), its Docker
    ``containers`` (the registered results of community.docker.docker_container, looped over docker_networks)
    and its ``vms`` (vm_guests' output; probed, never probing)."""
    plan_segments = segments_of(plan, 'plan_endpoints')
    host = as_str(host, 'plan_endpoints: host', 'inventory_hostname')
    endpoints = []
    for segment in plan_segments:
        address = segment['host_address'] or (segment['shim'] or {}).get('address')
        if address:
            endpoints.append({'name': '%s/%s' % (host, segment['name']), 'host': host, 'segment': segment['name'],
                              'kind': 'host', 'address': address.split('/')[0], 'netns': None, 'container': None,
                              'docker_host': None, 'shim': bool(segment['shim'])})
    for link in (workloads or {}).get('links') or ():
        segment = _segment_on(plan_segments, link['parent'])
        if segment is not None and link.get('netns') and link.get('addresses'):
            endpoints.append({'name': '%s/%s' % (host, link['netns']), 'host': host, 'segment': segment['name'],
                              'kind': 'container', 'address': link['addresses'][0].split('/')[0],
                              'netns': link['netns'], 'container': None, 'docker_host': None, 'shim': False})
    for guest in vms or ():
        if isinstance(guest, dict) and _segment_named(plan_segments, guest.get('segment')) is not None:
            endpoints.append({'name': '%s/%s' % (host, guest['name']), 'host': host, 'segment': guest['segment'],
                              'kind': 'vm', 'address': guest['address'].split('/')[0], 'netns': None,
                              'container': None, 'docker_host': None, 'shim': False})
    for result in containers or ():
        if isinstance(result, dict) and not result.get('skipped'):
            endpoint = _container_endpoint(host, result, plan_segments, docker_host)
            if endpoint is not None:
                endpoints.append(endpoint)
    return endpoints
