# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet address plan: a fleet description and its hosts go in, one plan per host comes out (its index, and
per segment its VLAN interface, its slice of the container pool, its host address, its shim and its Docker
network). Nothing here touches the network, and the same input always gives the same plan; every problem
raises ``FilterError`` before any plan is returned, naming the host, the segment and the value."""

from __future__ import annotations

from ansible_collections.underlay.network.plugins.plugin_utils._filters import FilterError
from ansible_collections.underlay.network.plugins.plugin_utils._fleet.capacity import check_capacity
from ansible_collections.underlay.network.plugins.plugin_utils._fleet.hosts import check_uplink, parse_hosts
from ansible_collections.underlay.network.plugins.plugin_utils._fleet.indexes import assign_indexes
from ansible_collections.underlay.network.plugins.plugin_utils._fleet.segments import parse_fleet


def segment_plan(segment, request, index):
    """The plan of one segment for ``request``'s host at ``index`` (plain data: strings, ints, None)."""
    trunk = request.trunk
    ip_range = str(segment.ip_range(index))
    shim_ip = segment.shim_ip(index)
    shim = None
    if shim_ip is not None:
        shim = {'name': segment.shim_name, 'address': '%s/32' % shim_ip,
                'routes': [str(route) for route in request.shim_routes(segment, index)]}
    docker_network = None
    if segment.docker:
        docker_network = {'name': segment.docker_network,
                          'aux_addresses': {'shim': str(shim_ip)} if shim_ip is not None else {}}
    return {
        'name': segment.name,
        'vlan_id': segment.vlan_id,
        'interface': segment.interface(trunk),
        'subnet': str(segment.subnet),
        'gateway': None if segment.gateway is None else str(segment.gateway),
        'driver': segment.driver,
        'mode': segment.mode,
        'container_pool': str(segment.pool),
        'ip_range': ip_range,
        'host_address': segment.host_cidr(index),
        'shim': shim,
        'docker_network': docker_network,
        # The host lets the plan take over this segment's interfaces, though this collection did not make them.
        'adopt': segment.name in request.adopt,
    }


def reserve_addresses(requests, fleet):
    """Keep out of every segment's host and shim addresses what is in use already: the protected addresses
    (default gateways, the controller) and the addresses the hosts carry on interfaces this collection did not
    make (``connected``); fail when a host's deployed address is one of them, held by another host."""
    reserved = {}
    for request in requests:
        for address, why in request.protected:
            reserved.setdefault(address, (request.name, why))
        for network in request.connected:
            reserved.setdefault(network.ip, (request.name, 'on an interface this collection did not make'))
    for segment in fleet.segments:
        segment.reserve(reserved)
    for request in requests:
        for address in request.observed:
            holder = reserved.get(address.ip)
            segment = next((segment for segment in fleet.segments if address.ip in segment.subnet), None)
            if holder is None or segment is None:
                continue
            raise FilterError("host '%s', segment '%s': its deployed address %s is also an address of host '%s' "
                              '(%s); two hosts must not share an address: take it off one of them, then plan '
                              'again' % (request.name, segment.name, address, holder[0], holder[1]))


def fleet_plan(fleet, hosts):
    """Plan the fleet: host name -> {index, trunk, segments: [segment plan, ...]} (see the filter's docs)."""
    parsed = parse_fleet(fleet)
    requests = parse_hosts(hosts, parsed)
    reserve_addresses(requests, parsed)
    indexes = assign_indexes(requests, parsed)
    # A host that could not be read is planned for nobody (it is not in the run): it only holds its index.
    requests = [request for request in requests if not request.unreadable]
    check_capacity(requests, indexes)
    for request in requests:
        check_uplink(request, indexes[request.name])
    return {request.name: {'index': indexes[request.name],
                           'trunk': request.trunk,
                           'trunk_promisc': parsed.trunk_promisc,
                           'segments': [segment_plan(segment, request, indexes[request.name])
                                        for segment in request.segments]}
            for request in requests}
