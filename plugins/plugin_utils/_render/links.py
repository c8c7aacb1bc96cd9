# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One host's plan as parameters of underlay.network.links: its VLAN interfaces, its shims, and namespace
workloads on its segments."""

from __future__ import annotations

from ansible_collections.underlay.network.plugins.plugin_utils._filters import FilterError
from ansible_collections.underlay.network.plugins.plugin_utils._fleet.inputs import (
    IPNetwork,
    as_int,
    as_list,
    as_str,
    require_netaddr,
    suggest,
)
from ansible_collections.underlay.network.plugins.plugin_utils._render.host_plan import segments_of

HOST_LINK_SETS = ('vlans', 'shims', 'workloads')


def _adopted(link, segment):
    """``link`` with adopt: true where the host lets the plan take the segment's interfaces over."""
    if segment.get('adopt'):
        link['adopt'] = True
    return link


def _vlan_link(trunk, segment):
    return _adopted({'kind': 'vlan', 'name': segment['interface'], 'parent': trunk, 'vlan_id': segment['vlan_id'],
                     'addresses': [segment['host_address']] if segment['host_address'] else []}, segment)


def _ipvlan_ports(existing):
    """Parent name -> (mode, flag) of the ipvlan ports among ``existing`` links (as links_info reports them)."""
    ports = {}
    for link in as_list(existing, 'host_links: existing', 'links as underlay.network.links_info returns them'):
        if isinstance(link, dict) and link.get('kind') == 'ipvlan' and link.get('parent') and link.get('mode'):
            ports.setdefault(link['parent'], (link['mode'], link.get('flag')))
    return ports


def _shim_link(segment, ports):
    shim = segment['shim']
    link = {'kind': segment['driver'], 'name': shim['name'], 'parent': segment['interface'],
            'addresses': [shim['address']], 'routes': [{'dest': route} for route in shim['routes']]}
    if segment['driver'] == 'macvlan':
        link['mode'] = 'bridge'  # a macvlan shim reaches the containers only in bridge mode
    else:
        # Mode and flag belong to the ipvlan port: a shim in another mode would switch every ipvlan on it.
        link['mode'], flag = ports.get(segment['interface'], (segment['mode'], None))
        if flag:
            link['flag'] = flag
    return _adopted(link, segment)


def _workload_links(plan, segments, prefix, count):
    """Per segment ``count`` namespaces, each with an ``eth0`` on the segment at the top of the host's range."""
    namespaces, links = [], []
    for segment in segments:
        ip_range = IPNetwork(segment['ip_range'])
        prefixlen = IPNetwork(segment['subnet']).prefixlen
        for number in range(1, count + 1):
            name = '%s%s-%d' % (prefix, segment['name'], number)
            namespaces.append({'name': name})
            # From the top of the range down: a Docker engine on the host allocates from the bottom up.
            links.append({'kind': segment['driver'], 'name': 'eth0', 'parent': segment['interface'], 'netns': name,
                          'mode': segment['mode'], 'addresses': ['%s/%d' % (ip_range[-number], prefixlen)]})
    return {'namespaces': namespaces, 'links': links}


def host_links(plan, which, existing=(), prefix='', count=1):
    """``{links: [...]}`` for underlay.network.links: the VLAN interfaces (``vlans``, with the trunk's promiscuous
    mode in ``parents`` when the fleet description sets it), the shims (``shims``,
    ipvlan ones in the mode of the port they join among ``existing`` links), or namespace ``workloads``
    (``{namespaces, links}``: ``count`` per segment, named ``PREFIXSEGMENT-N``)."""
    if which not in HOST_LINK_SETS:
        raise FilterError("host_links: %r is not a set of links%s; choose one of %s"
                          % (which, suggest(which, HOST_LINK_SETS), ', '.join(HOST_LINK_SETS)))
    segments = segments_of(plan, 'host_links')
    if which == 'vlans':
        vlans = {'links': [_vlan_link(plan['trunk'], segment) for segment in segments
                           if segment['vlan_id'] is not None]}
        if plan.get('trunk_promisc') is not None:  # the trunk's own setting, declared by the fleet description
            vlans['parents'] = [{'name': plan['trunk'], 'promisc': plan['trunk_promisc']}]
        return vlans
    if which == 'shims':
        ports = _ipvlan_ports(existing or [])
        return {'links': [_shim_link(segment, ports) for segment in segments if segment['shim']]}
    require_netaddr()
    count = as_int(count, 'host_links: count', 1)
    if count < 1 or count > 16:
        raise FilterError('host_links: count %d is out of range; give 1 to 16 workloads per segment' % count)
    if count > min(IPNetwork(segment['ip_range']).size for segment in segments or [{'ip_range': '0.0.0.0/0'}]):
        raise FilterError('host_links: count %d is more than a host range holds' % count)
    return _workload_links(plan, segments, as_str(prefix, 'host_links: prefix', 'web1-') if prefix else '', count)
