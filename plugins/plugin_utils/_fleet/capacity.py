# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether every segment has room for its hosts: host ranges in its container pool, host and shim addresses
among its infrastructure addresses; the message says which hosts do not fit and how to make room."""

from __future__ import annotations

from ansible_collections.underlay.network.plugins.plugin_utils._filters import FilterError


def _pool_exhausted(segment, misfits):
    return ("segment '%s': %s: container_pool %s has %d slices of host_range_size %d, so %d hosts fit "
            '(indexes 0 to %d); make container_pool larger or host_range_size smaller, or leave the host off the '
            'segment (underlay_host_segments)'
            % (segment.name, misfits, segment.pool, segment.slices, segment.host_range_size, segment.slices,
               segment.slices - 1))


def _infrastructure_exhausted(segment, misfits, capacity):
    per_host = ' and '.join(what for what, wanted in (('a host address', segment.host_address),
                                                      ('a shim address', segment.shim)) if wanted)
    fit = 'no host fits' if capacity == 0 else '%d hosts fit (indexes 0 to %d)' % (capacity, capacity - 1)
    meet = ', where host and shim addresses would meet' if segment.host_address and segment.shim else ''
    reserved = sorted(segment.reserved)
    outside = ('the gateway, the network and broadcast addresses and %d addresses in use by hosts or protected: %s'
               % (len(reserved), ', '.join(str(address) for address in reserved))
               if reserved else 'the gateway and the network and broadcast addresses')
    return ("segment '%s': %s%s: subnet %s has %d infrastructure addresses (outside container_pool %s, %s) and each "
            'host takes %s, so %s; make the subnet larger or container_pool smaller, set host_address or shim false '
            'on the segment, or leave the host off it (underlay_host_segments)'
            % (segment.name, misfits, meet, segment.subnet, segment.infrastructure_size, segment.pool, outside,
               per_host, fit))


def check_capacity(requests, indexes):
    """Every host fits every segment it joins: its slice of the pool and its addresses exist."""
    for segment in _segments_in_use(requests):
        capacity = segment.capacity()
        over = sorted((indexes[request.name], request.name) for request in requests
                      if segment in request.segments and indexes[request.name] >= capacity)
        if not over:
            continue
        named = ', '.join("'%s' (index %d)" % (name, index) for index, name in over)
        misfits = ('host %s does not fit' if len(over) == 1 else 'hosts %s do not fit') % named
        if over[0][0] >= segment.slices:
            raise FilterError(_pool_exhausted(segment, misfits))
        raise FilterError(_infrastructure_exhausted(segment, misfits, capacity))


def _segments_in_use(requests):
    used = []
    for request in requests:
        for segment in request.segments:
            if segment not in used:
                used.append(segment)
    return used
