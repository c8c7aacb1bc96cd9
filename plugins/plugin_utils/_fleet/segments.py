# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet description's segments (``underlay_fleet``): each parsed and checked into a ``Segment``, which
knows its address layout (the infrastructure addresses, the container pool cut into host ranges, a host's
addresses by index); and the ``Fleet`` they make up."""

from __future__ import annotations

import bisect
import itertools
import re

from ansible_collections.underlay.network.plugins.module_utils._common.validation import IFNAME_MAX_BYTES
from ansible_collections.underlay.network.plugins.module_utils._common.vocabulary import SEGMENT_MODES
from ansible_collections.underlay.network.plugins.plugin_utils._filters import FilterError
from ansible_collections.underlay.network.plugins.plugin_utils._fleet.inputs import (
    IPRange,
    IPSet,
    as_bool,
    as_dict,
    as_int,
    as_list,
    as_str,
    check_ifname,
    check_keys,
    ipv4_address,
    ipv4_network,
    require_netaddr,
    suggest,
    trunk_name,
)

FLEET_KEYS = ('segments', 'trunk', 'trunk_promisc')
SEGMENT_KEYS = ('container_pool', 'docker', 'docker_network', 'driver', 'gateway', 'host_address',
                'host_range_size', 'mode', 'name', 'shim', 'subnet', 'vlan_id')
SEGMENT_NAME_RE = re.compile(r'^[a-z][a-z0-9_]{0,11}$')
DOCKER_NAME_RE = re.compile(r'^[a-zA-Z0-9][a-zA-Z0-9_.-]*$')
DEFAULT_HOST_RANGE_SIZE = 16
MIN_HOST_RANGE_SIZE = 4
VLAN_ID_RANGE = (1, 4094)
# A /31 or /32 has no network and broadcast addresses to keep out, nor room for a pool.
MAX_SUBNET_PREFIX = 30


def _infrastructure(subnet, pool, gateway, reserved=()):
    """The addresses of ``subnet`` left for hosts and shims: no network/broadcast, pool, gateway or
    ``reserved`` address (one a host already uses, or a protected one such as a router).

    Without a gateway the first address is left out too: a Docker network created without one takes
    that address as its gateway.
    """
    # One set difference: removing the reserved addresses one by one rescans the set each time (quadratic).
    left_out = IPSet([subnet.network, subnet.broadcast, pool, gateway if gateway is not None else subnet[1],
                      *reserved])
    return list((IPSet([subnet]) - left_out).iter_ipranges())


class Segment:
    """One validated segment of the fleet, with the address arithmetic of its plan."""

    def __init__(self, settings):
        self.name = settings['name']
        self.vlan_id = settings['vlan_id']
        self.subnet = settings['subnet']
        self.gateway = settings['gateway']
        self.driver = settings['driver']
        self.mode = settings['mode']
        self.pool = settings['container_pool']
        self.host_range_size = settings['host_range_size']
        self.shim = settings['shim']
        self.host_address = settings['host_address']
        self.docker = settings['docker']
        self.docker_network = settings['docker_network']
        self.slices = self.pool.size // self.host_range_size
        self.reserve({})

    def reserve(self, reserved):
        """Keep ``reserved`` (address -> who holds it) out of the host and shim addresses."""
        self.reserved = {address: holder for address, holder in reserved.items()
                         if address in self.subnet and address not in self.pool}
        # Sorted, disjoint ranges (IPSet keeps them so): host addresses count from the low end,
        # shims from the high end, so that both sequences grow towards each other.
        self.infrastructure = _infrastructure(self.subnet, self.pool, self.gateway, self.reserved)
        # Where each range starts among the infrastructure addresses (then their total) and its first address,
        # for the lookups to bisect: reserved addresses scattered over a subnet cut it into a range per host.
        self._starts = list(itertools.accumulate((addresses.size for addresses in self.infrastructure), initial=0))
        self._firsts = [addresses.first for addresses in self.infrastructure]
        self.infrastructure_size = self._starts[-1]

    @property
    def tagged(self):
        return self.vlan_id is not None

    @property
    def shim_name(self):
        return 'shim%d' % self.vlan_id if self.tagged else 'shim-%s' % self.name

    def interface(self, trunk):
        """The VLAN sub-interface (the trunk itself when untagged): parent of shims and Docker networks."""
        return '%s.%d' % (trunk, self.vlan_id) if self.tagged else trunk

    def infrastructure_capacity(self):
        """How many host indexes the infrastructure addresses carry (None: no limit, nothing drawn)."""
        sequences = int(self.host_address) + int(self.shim)
        if sequences == 0:
            return None
        # With both, host address i and shim i must stay apart: i < n - 1 - i for every index in use.
        return self.infrastructure_size // sequences

    def capacity(self):
        infrastructure = self.infrastructure_capacity()
        return self.slices if infrastructure is None else min(self.slices, infrastructure)

    def ip_range(self, index):
        """The ``index``-th slice of ``host_range_size`` addresses of the container pool."""
        first = index * self.host_range_size
        # host_range_size is a power of two dividing the pool's size, so the slice is exactly one CIDR.
        return IPRange(self.pool[first], self.pool[first + self.host_range_size - 1]).cidrs()[0]

    def lowest_infrastructure(self, position):
        if not 0 <= position < self.infrastructure_size:
            raise IndexError(position)
        # The last range starting at or below ``position`` holds it.
        which = bisect.bisect_right(self._starts, position) - 1
        return self.infrastructure[which][position - self._starts[which]]

    def highest_infrastructure(self, position):
        if not 0 <= position < self.infrastructure_size:
            raise IndexError(position)
        return self.lowest_infrastructure(self.infrastructure_size - 1 - position)

    def host_cidr(self, index):
        """Host address ``index`` with the subnet's prefix (None when the segment plans none)."""
        if not self.host_address:
            return None
        return '%s/%d' % (self.lowest_infrastructure(index), self.subnet.prefixlen)

    def shim_ip(self, index):
        return self.highest_infrastructure(index) if self.shim else None

    def infrastructure_position(self, ip):
        """Position of ``ip`` among the infrastructure addresses, lowest first (None: not one)."""
        value = int(ip)
        # Only the last range starting at or below ``ip`` can hold it.
        which = bisect.bisect_right(self._firsts, value) - 1
        if which < 0 or value > self.infrastructure[which].last:
            return None
        return self._starts[which] + value - self._firsts[which]

    def index_of(self, observed):
        """The host index whose host address or shim address ``observed`` (an IPNetwork) is, or None.

        The prefix tells the two apart: a host address carries the subnet's prefix, a shim /32.
        """
        position = self.infrastructure_position(observed.ip)
        if position is None:
            return None
        if self.host_address and observed.prefixlen == self.subnet.prefixlen:
            return position
        if self.shim and observed.prefixlen == 32:
            return self.infrastructure_size - 1 - position
        return None


def _segment_name(raw, position):
    where = 'underlay_fleet.segments[%d]' % position
    if 'name' not in raw:
        raise FilterError('%s has no name: every segment needs one, e.g. name: apps' % where)
    name = raw['name']
    if not isinstance(name, str) or not SEGMENT_NAME_RE.match(name):
        raise FilterError("%s: name %r is not a valid segment name: a lower-case letter followed by up to 11 "
                          "lower-case letters, digits or '_' (it becomes part of interface and network "
                          'names), e.g. apps' % (where, name))
    return name


def _segment_vlan_id(raw, where):
    if raw.get('vlan_id') is None:
        return None
    vlan_id = as_int(raw['vlan_id'], '%s: vlan_id' % where, 10)
    if not VLAN_ID_RANGE[0] <= vlan_id <= VLAN_ID_RANGE[1]:
        raise FilterError('%s: vlan_id %d is out of range: a VLAN id is %d to %d (leave vlan_id out for an '
                          'untagged segment on the trunk itself)' % ((where, vlan_id) + VLAN_ID_RANGE))
    return vlan_id


def _segment_subnet(raw, where):
    if raw.get('subnet') is None:
        raise FilterError('%s has no subnet: give the IPv4 network of the segment, e.g. subnet: 172.28.10.0/24'
                          % where)
    subnet = ipv4_network(raw['subnet'], '%s: subnet' % where, '172.28.10.0/24')
    if subnet.prefixlen > MAX_SUBNET_PREFIX:
        raise FilterError('%s: subnet %s is too small to plan: it needs room for a container pool and the '
                          'hosts; use a /%d or larger' % (where, subnet, MAX_SUBNET_PREFIX))
    return subnet


def _segment_pool(raw, where, subnet):
    if raw.get('container_pool') is None:
        raise FilterError('%s has no container_pool: give the part of subnet %s that containers of all hosts '
                          'draw from, e.g. container_pool: %s' % (where, subnet, _example_pool(subnet)))
    pool = ipv4_network(raw['container_pool'], '%s: container_pool' % where, _example_pool(subnet))
    if pool not in subnet:
        raise FilterError('%s: container_pool %s is not inside subnet %s; take a part of the subnet, e.g. %s'
                          % (where, pool, subnet, _example_pool(subnet)))
    return pool


def _example_pool(subnet):
    """The upper half of ``subnet``: a plausible pool for messages."""
    return list(subnet.subnet(subnet.prefixlen + 1))[-1]


def _segment_gateway(raw, where, subnet, pool):
    if raw.get('gateway') is None:
        return None
    gateway = ipv4_address(raw['gateway'], '%s: gateway' % where, subnet[1])
    if gateway not in subnet:
        raise FilterError('%s: gateway %s is outside subnet %s; give the router of that subnet, e.g. %s, or '
                          'leave gateway out' % (where, gateway, subnet, subnet[1]))
    if gateway in (subnet.network, subnet.broadcast):
        raise FilterError('%s: gateway %s is the network or broadcast address of subnet %s; give the '
                          "router's address on that network, e.g. %s" % (where, gateway, subnet, subnet[1]))
    if gateway in pool:
        raise FilterError('%s: gateway %s is inside container_pool %s, whose addresses go to containers; '
                          'move the pool off the gateway or correct the gateway' % (where, gateway, pool))
    return gateway


def _segment_driver_mode(raw, where):
    driver = raw.get('driver')
    driver = 'macvlan' if driver is None else as_str(driver, '%s: driver' % where, 'macvlan')
    if driver not in SEGMENT_MODES:
        raise FilterError("%s: driver '%s' is not supported%s; choose one of %s"
                          % (where, driver, suggest(driver, list(SEGMENT_MODES)), ', '.join(SEGMENT_MODES)))
    mode = raw.get('mode')
    if mode is None:
        return driver, SEGMENT_MODES[driver][0]
    mode = as_str(mode, '%s: mode' % where, SEGMENT_MODES[driver][0])
    if mode not in SEGMENT_MODES[driver]:
        other = [name for name in SEGMENT_MODES if mode in SEGMENT_MODES[name]]
        hint = " ('%s' is a mode of driver %s)" % (mode, other[0]) if other else suggest(mode, SEGMENT_MODES[driver])
        raise FilterError("%s: mode '%s' is not a mode of driver %s%s; its modes are %s (default %s)"
                          % (where, mode, driver, hint, ', '.join(SEGMENT_MODES[driver]), SEGMENT_MODES[driver][0]))
    return driver, mode


def _segment_host_range_size(raw, where, pool):
    size = raw.get('host_range_size')
    size = DEFAULT_HOST_RANGE_SIZE if size is None else as_int(size, '%s: host_range_size' % where, 16)
    if size < MIN_HOST_RANGE_SIZE or not _is_power_of_two(size):
        raise FilterError('%s: host_range_size %d is not a power of two of at least %d; each host gets an '
                          'aligned slice of the pool, e.g. host_range_size: 16' % (where, size, MIN_HOST_RANGE_SIZE))
    if size > pool.size:
        raise FilterError('%s: host_range_size %d is larger than container_pool %s (%d addresses); make the '
                          'pool larger or host_range_size at most %d' % (where, size, pool, pool.size, pool.size))
    return size


def _is_power_of_two(number):
    return number > 0 and number & (number - 1) == 0


def _segment_flags(raw, where, tagged):
    flags = {}
    for key in ('shim', 'host_address', 'docker'):
        flags[key] = True if raw.get(key) is None else as_bool(raw[key], '%s: %s' % (where, key))
    if not tagged:
        if raw.get('host_address') is not None and flags['host_address']:
            raise FilterError('%s: host_address is true but the segment is untagged (no vlan_id): its host '
                              "address is the trunk's own, which the plan does not manage; leave host_address "
                              'out or set it false' % where)
        flags['host_address'] = False
    return flags


def _segment_docker_network(raw, where, name):
    if raw.get('docker_network') is None:
        return name
    network = as_str(raw['docker_network'], '%s: docker_network' % where, name)
    if not DOCKER_NAME_RE.match(network):
        raise FilterError("%s: docker_network '%s' is not a valid Docker network name: letters, digits, '_', "
                          "'.' and '-', starting with a letter or digit, e.g. %s" % (where, network, name))
    return network


def parse_segment(raw, position):
    """Validate one entry of ``underlay_fleet.segments`` and return it as a Segment."""
    as_dict(raw, 'underlay_fleet.segments[%d]' % position, 'one segment, with at least name, subnet and '
            'container_pool')
    name = _segment_name(raw, position)
    where = "underlay_fleet segment '%s'" % name
    check_keys(raw, SEGMENT_KEYS, where)
    settings = {'name': name, 'vlan_id': _segment_vlan_id(raw, where)}
    settings['subnet'] = _segment_subnet(raw, where)
    settings['container_pool'] = _segment_pool(raw, where, settings['subnet'])
    settings['gateway'] = _segment_gateway(raw, where, settings['subnet'], settings['container_pool'])
    settings['driver'], settings['mode'] = _segment_driver_mode(raw, where)
    settings['host_range_size'] = _segment_host_range_size(raw, where, settings['container_pool'])
    settings.update(_segment_flags(raw, where, settings['vlan_id'] is not None))
    settings['docker_network'] = _segment_docker_network(raw, where, name)
    segment = Segment(settings)
    if segment.shim:
        check_ifname(segment.shim_name, '%s: the shim name' % where,
                     'give the segment a name of at most %d characters, or set shim false'
                     % (IFNAME_MAX_BYTES - len('shim-')))
    return segment


def _check_unique_names(segments):
    seen = {}
    for position, segment in enumerate(segments):
        if segment.name in seen:
            raise FilterError("underlay_fleet.segments[%d] and underlay_fleet.segments[%d] are both named '%s'; "
                              'segment names must be unique' % (seen[segment.name], position, segment.name))
        seen[segment.name] = position


def _check_unique(segments, attribute, fix):
    seen = {}
    for segment in segments:
        value = getattr(segment, attribute)
        if value is None:
            continue
        if value in seen:
            raise FilterError("underlay_fleet segments '%s' and '%s' have the same %s %s; %s"
                              % (seen[value].name, segment.name, attribute, value, fix))
        seen[value] = segment


def _check_subnets_disjoint(segments):
    for position, segment in enumerate(segments):
        for other in segments[position + 1:]:
            if not IPSet([segment.subnet]).isdisjoint(IPSet([other.subnet])):
                raise FilterError("underlay_fleet segments '%s' and '%s' overlap: subnet %s and subnet %s share "
                                  'addresses; give each segment its own subnet'
                                  % (segment.name, other.name, segment.subnet, other.subnet))


class Fleet:
    """The validated ``underlay_fleet``: the default trunk and the segments in fleet order."""

    def __init__(self, trunk, segments, trunk_promisc=None):
        self.trunk = trunk
        self.trunk_promisc = trunk_promisc  # None: the trunk's promiscuous mode is left as it is
        self.segments = segments
        self.by_name = {segment.name: segment for segment in segments}


def parse_fleet(fleet):
    """Validate ``underlay_fleet`` as a whole and return it as a Fleet."""
    require_netaddr()
    as_dict(fleet, 'underlay_fleet', 'the fleet description, with a list of segments')
    check_keys(fleet, FLEET_KEYS, 'underlay_fleet')
    trunk = None if fleet.get('trunk') is None else trunk_name(fleet['trunk'], 'underlay_fleet.trunk')
    if not fleet.get('segments'):
        raise FilterError('underlay_fleet.segments is missing or empty: list the segments of the fleet, each '
                          'with at least name, subnet and container_pool')
    raw_segments = as_list(fleet['segments'], 'underlay_fleet.segments', 'one entry per segment')
    segments = [parse_segment(raw, position) for position, raw in enumerate(raw_segments)]
    _check_unique_names(segments)
    _check_unique(segments, 'vlan_id', 'a VLAN id carries one segment: give each segment its own')
    _check_unique(segments, 'docker_network', 'set docker_network so that each segment has its own Docker network')
    _check_subnets_disjoint(segments)
    promisc = fleet.get('trunk_promisc')
    if promisc is not None:
        promisc = as_bool(promisc, 'underlay_fleet.trunk_promisc')
    return Fleet(trunk, segments, promisc)
