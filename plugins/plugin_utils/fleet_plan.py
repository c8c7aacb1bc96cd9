# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet address plan: pure controller-side logic behind the fleet_plan filters.

A fleet description (``underlay_fleet``) and the fleet's hosts go in; one plan per host comes
out: its index, and per segment its VLAN interface, its slice of the container pool, its host
address, its shim and its Docker network. Nothing here touches the network, and the same input
always gives the same plan.

Every problem raises ``FleetPlanError`` before any plan is returned, with a message that names
the host, the segment and the offending value and says how to fix it.
"""

from __future__ import annotations

import bisect
import difflib
import functools
import itertools
import re
import traceback

from ansible.module_utils.parsing.convert_bool import boolean
from ansible_collections.underlay.network.plugins.module_utils.validation import (
    IFNAME_MAX_BYTES,
    ValidationError,
    validate_ifname,
)

try:
    from netaddr import AddrFormatError, IPAddress, IPNetwork, IPRange, IPSet
except ImportError:  # reported when a filter is used, not when Ansible loads the plugin
    NETADDR_IMPORT_ERROR = traceback.format_exc()
else:
    NETADDR_IMPORT_ERROR = None

FLEET_KEYS = ('segments', 'trunk')
SEGMENT_KEYS = ('container_pool', 'docker', 'docker_network', 'driver', 'gateway', 'host_address',
                'host_range_size', 'mode', 'name', 'shim', 'subnet', 'vlan_id')
HOST_KEYS = ('adopt', 'connected', 'force', 'index', 'interfaces', 'observed', 'protected', 'segments', 'trunk',
             'unreadable')
# What the planner is told of each interface a host has (planner_input makes it from links_info).
INTERFACE_KEYS = ('addresses', 'default_route', 'managed_by', 'routes')
# What a user sets in the inventory for each key of a host entry: messages name those.
HOST_VARIABLES = {'index': 'underlay_host_index', 'trunk': 'underlay_trunk',
                  'segments': 'underlay_host_segments', 'observed': 'observed', 'protected': 'protected',
                  'connected': 'connected', 'force': 'underlay_force'}
# The first mode of each driver is its default.
MODES = {'macvlan': ('bridge', 'private', 'vepa'), 'ipvlan': ('l2', 'l3')}
DIGITS_RE = re.compile(r'^[0-9]+$')
SEGMENT_NAME_RE = re.compile(r'^[a-z][a-z0-9_]{0,11}$')
DOCKER_NAME_RE = re.compile(r'^[a-zA-Z0-9][a-zA-Z0-9_.-]*$')
DEFAULT_HOST_RANGE_SIZE = 16
MIN_HOST_RANGE_SIZE = 4
VLAN_ID_RANGE = (1, 4094)
# A /31 or /32 has no network and broadcast addresses to keep out, nor room for a pool.
MAX_SUBNET_PREFIX = 30
SEGMENT_LABEL = 'underlay.network.segment'
HOST_LINK_SETS = ('vlans', 'shims', 'workloads')


class FleetPlanError(ValueError):
    """A fleet description or host list that cannot be planned; the message says why and how to fix it."""


def ansible_filter(function):
    """``function`` as a filter: a FleetPlanError (or a subclass) becomes the filter's own AnsibleFilterError."""
    from ansible.errors import AnsibleFilterError  # controller side only: the filters, not the unit tests

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except FleetPlanError as exc:
            # from None: the message is complete; chaining would repeat it in Ansible's output.
            raise AnsibleFilterError(str(exc)) from None

    return wrapper


# ---------------------------------------------------------------------------------------------
# Input conversions: each names the place (``where``) of the value in its message.


def _require_netaddr():
    if NETADDR_IMPORT_ERROR is not None:
        raise FleetPlanError('the underlay.network fleet plan needs the Python library netaddr (>= 1.3) on the '
                             'controller: install it in the Python that runs Ansible, e.g. pip install netaddr')


def _check_keys(data, known, where):
    """Fail on keys not in ``known`` (a typo), suggesting the closest known key."""
    unknown = sorted((key for key in data if key not in known), key=str)
    if not unknown:
        return
    described = []
    for key in unknown:
        close = difflib.get_close_matches(str(key), known, n=1)
        described.append("'%s'%s" % (key, " (did you mean '%s'?)" % close[0] if close else ''))
    raise FleetPlanError('%s: unknown key%s %s; the known keys are %s'
                         % (where, 's' if len(unknown) > 1 else '', ', '.join(described), ', '.join(known)))


def _as_dict(value, where, what):
    if not isinstance(value, dict):
        raise FleetPlanError('%s must be a dictionary (%s), got %s %r' % (where, what, type(value).__name__, value))
    return value


def _as_list(value, where, what):
    if not isinstance(value, (list, tuple)):
        raise FleetPlanError('%s must be a list (%s), got %s %r' % (where, what, type(value).__name__, value))
    return list(value)


def _as_str(value, where, example):
    if not isinstance(value, str) or not value:
        raise FleetPlanError('%s must be a non-empty string, e.g. %s; got %r' % (where, example, value))
    return value


def _as_int(value, where, example):
    """An integer, also written as a string of digits (as inventories and templates may give it)."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise FleetPlanError('%s must be an integer, e.g. %s; got %r' % (where, example, value))
    if isinstance(value, str):
        if not DIGITS_RE.match(value):
            raise FleetPlanError("%s must be an integer, e.g. %s; got '%s'" % (where, example, value))
        value = int(value)
    return value


def _as_bool(value, where):
    try:
        return boolean(value, strict=True)
    except TypeError:
        raise FleetPlanError('%s must be true or false, got %r' % (where, value)) from None


def _suggest(value, choices):
    close = difflib.get_close_matches(str(value), choices, n=1)
    return " (did you mean '%s'?)" % close[0] if close else ''


def _ipv4_network(value, where, example):
    """An IPv4 network in CIDR notation without host bits."""
    text = _as_str(value, where, example)
    if '/' not in text:
        raise FleetPlanError("%s '%s' has no prefix length; write a network in CIDR notation, e.g. %s"
                             % (where, text, example))
    try:
        network = IPNetwork(text)
    except (AddrFormatError, ValueError, TypeError):
        raise FleetPlanError("%s '%s' is not a network in CIDR notation; write it like %s"
                             % (where, text, example)) from None
    if network.version != 4:
        raise FleetPlanError("%s '%s' is IPv6: the fleet plan plans IPv4 only (IPv6 is not planned); "
                             'give the IPv4 network, e.g. %s' % (where, text, example))
    if network.ip != network.network:
        raise FleetPlanError("%s '%s' has host bits set; write the network address, %s"
                             % (where, text, network.cidr))
    return network


def _ipv4_address(value, where, example):
    text = _as_str(value, where, example)
    try:
        address = IPAddress(text)
    except (AddrFormatError, ValueError, TypeError):
        raise FleetPlanError("%s '%s' is not an IPv4 address; write one like %s" % (where, text, example)) from None
    if address.version != 4:
        raise FleetPlanError("%s '%s' is IPv6: the fleet plan plans IPv4 only (IPv6 is not planned)"
                             % (where, text))
    return address


def _check_ifname(name, where, fix):
    """A name the kernel accepts for an interface (IFNAMSIZ), with the fix that applies here."""
    size = len(name.encode('utf-8'))
    if size > IFNAME_MAX_BYTES:
        raise FleetPlanError("%s would be '%s', %d bytes long; Linux interface names are at most %d bytes: %s"
                             % (where, name, size, IFNAME_MAX_BYTES, fix))


def _trunk_name(value, where):
    name = _as_str(value, where, 'eth0')
    try:
        return validate_ifname(name, where)
    except ValidationError as exc:
        raise FleetPlanError(str(exc)) from None


# ---------------------------------------------------------------------------------------------
# Segments


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
        raise FleetPlanError('%s has no name: every segment needs one, e.g. name: apps' % where)
    name = raw['name']
    if not isinstance(name, str) or not SEGMENT_NAME_RE.match(name):
        raise FleetPlanError("%s: name %r is not a valid segment name: a lower-case letter followed by up to 11 "
                             "lower-case letters, digits or '_' (it becomes part of interface and network "
                             'names), e.g. apps' % (where, name))
    return name


def _segment_vlan_id(raw, where):
    if raw.get('vlan_id') is None:
        return None
    vlan_id = _as_int(raw['vlan_id'], '%s: vlan_id' % where, 10)
    if not VLAN_ID_RANGE[0] <= vlan_id <= VLAN_ID_RANGE[1]:
        raise FleetPlanError('%s: vlan_id %d is out of range: a VLAN id is %d to %d (leave vlan_id out for an '
                             'untagged segment on the trunk itself)' % ((where, vlan_id) + VLAN_ID_RANGE))
    return vlan_id


def _segment_subnet(raw, where):
    if raw.get('subnet') is None:
        raise FleetPlanError('%s has no subnet: give the IPv4 network of the segment, e.g. subnet: 172.28.10.0/24'
                             % where)
    subnet = _ipv4_network(raw['subnet'], '%s: subnet' % where, '172.28.10.0/24')
    if subnet.prefixlen > MAX_SUBNET_PREFIX:
        raise FleetPlanError('%s: subnet %s is too small to plan: it needs room for a container pool and the '
                             'hosts; use a /%d or larger' % (where, subnet, MAX_SUBNET_PREFIX))
    return subnet


def _segment_pool(raw, where, subnet):
    if raw.get('container_pool') is None:
        raise FleetPlanError('%s has no container_pool: give the part of subnet %s that containers of all hosts '
                             'draw from, e.g. container_pool: %s' % (where, subnet, _example_pool(subnet)))
    pool = _ipv4_network(raw['container_pool'], '%s: container_pool' % where, _example_pool(subnet))
    if pool not in subnet:
        raise FleetPlanError('%s: container_pool %s is not inside subnet %s; take a part of the subnet, e.g. %s'
                             % (where, pool, subnet, _example_pool(subnet)))
    return pool


def _example_pool(subnet):
    """The upper half of ``subnet``: a plausible pool for messages."""
    return list(subnet.subnet(subnet.prefixlen + 1))[-1]


def _segment_gateway(raw, where, subnet, pool):
    if raw.get('gateway') is None:
        return None
    gateway = _ipv4_address(raw['gateway'], '%s: gateway' % where, subnet[1])
    if gateway not in subnet:
        raise FleetPlanError('%s: gateway %s is outside subnet %s; give the router of that subnet, e.g. %s, or '
                             'leave gateway out' % (where, gateway, subnet, subnet[1]))
    if gateway in (subnet.network, subnet.broadcast):
        raise FleetPlanError('%s: gateway %s is the network or broadcast address of subnet %s; give the '
                             "router's address on that network, e.g. %s" % (where, gateway, subnet, subnet[1]))
    if gateway in pool:
        raise FleetPlanError('%s: gateway %s is inside container_pool %s, whose addresses go to containers; '
                             'move the pool off the gateway or correct the gateway' % (where, gateway, pool))
    return gateway


def _segment_driver_mode(raw, where):
    driver = raw.get('driver')
    driver = 'macvlan' if driver is None else _as_str(driver, '%s: driver' % where, 'macvlan')
    if driver not in MODES:
        raise FleetPlanError("%s: driver '%s' is not supported%s; choose one of %s"
                             % (where, driver, _suggest(driver, list(MODES)), ', '.join(MODES)))
    mode = raw.get('mode')
    if mode is None:
        return driver, MODES[driver][0]
    mode = _as_str(mode, '%s: mode' % where, MODES[driver][0])
    if mode not in MODES[driver]:
        other = [name for name in MODES if mode in MODES[name]]
        hint = " ('%s' is a mode of driver %s)" % (mode, other[0]) if other else _suggest(mode, MODES[driver])
        raise FleetPlanError("%s: mode '%s' is not a mode of driver %s%s; its modes are %s (default %s)"
                             % (where, mode, driver, hint, ', '.join(MODES[driver]), MODES[driver][0]))
    return driver, mode


def _segment_host_range_size(raw, where, pool):
    size = raw.get('host_range_size')
    size = DEFAULT_HOST_RANGE_SIZE if size is None else _as_int(size, '%s: host_range_size' % where, 16)
    if size < MIN_HOST_RANGE_SIZE or not _is_power_of_two(size):
        raise FleetPlanError('%s: host_range_size %d is not a power of two of at least %d; each host gets an '
                             'aligned slice of the pool, e.g. host_range_size: 16' % (where, size, MIN_HOST_RANGE_SIZE))
    if size > pool.size:
        raise FleetPlanError('%s: host_range_size %d is larger than container_pool %s (%d addresses); make the '
                             'pool larger or host_range_size at most %d' % (where, size, pool, pool.size, pool.size))
    return size


def _is_power_of_two(number):
    return number > 0 and number & (number - 1) == 0


def _segment_flags(raw, where, tagged):
    flags = {}
    for key in ('shim', 'host_address', 'docker'):
        flags[key] = True if raw.get(key) is None else _as_bool(raw[key], '%s: %s' % (where, key))
    if not tagged:
        if raw.get('host_address') is not None and flags['host_address']:
            raise FleetPlanError('%s: host_address is true but the segment is untagged (no vlan_id): its host '
                                 "address is the trunk's own, which the plan does not manage; leave host_address "
                                 'out or set it false' % where)
        flags['host_address'] = False
    return flags


def _segment_docker_network(raw, where, name):
    if raw.get('docker_network') is None:
        return name
    network = _as_str(raw['docker_network'], '%s: docker_network' % where, name)
    if not DOCKER_NAME_RE.match(network):
        raise FleetPlanError("%s: docker_network '%s' is not a valid Docker network name: letters, digits, '_', "
                             "'.' and '-', starting with a letter or digit, e.g. %s" % (where, network, name))
    return network


def parse_segment(raw, position):
    """Validate one entry of ``underlay_fleet.segments`` and return it as a Segment."""
    _as_dict(raw, 'underlay_fleet.segments[%d]' % position, 'one segment, with at least name, subnet and '
             'container_pool')
    name = _segment_name(raw, position)
    where = "underlay_fleet segment '%s'" % name
    _check_keys(raw, SEGMENT_KEYS, where)
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
        _check_ifname(segment.shim_name, '%s: the shim name' % where,
                      'give the segment a name of at most %d characters, or set shim false'
                      % (IFNAME_MAX_BYTES - len('shim-')))
    return segment


def _check_unique_names(segments):
    seen = {}
    for position, segment in enumerate(segments):
        if segment.name in seen:
            raise FleetPlanError("underlay_fleet.segments[%d] and underlay_fleet.segments[%d] are both named '%s'; "
                                 'segment names must be unique' % (seen[segment.name], position, segment.name))
        seen[segment.name] = position


def _check_unique(segments, attribute, fix):
    seen = {}
    for segment in segments:
        value = getattr(segment, attribute)
        if value is None:
            continue
        if value in seen:
            raise FleetPlanError("underlay_fleet segments '%s' and '%s' have the same %s %s; %s"
                                 % (seen[value].name, segment.name, attribute, value, fix))
        seen[value] = segment


def _check_subnets_disjoint(segments):
    for position, segment in enumerate(segments):
        for other in segments[position + 1:]:
            if not IPSet([segment.subnet]).isdisjoint(IPSet([other.subnet])):
                raise FleetPlanError("underlay_fleet segments '%s' and '%s' overlap: subnet %s and subnet %s share "
                                     'addresses; give each segment its own subnet'
                                     % (segment.name, other.name, segment.subnet, other.subnet))


class Fleet:
    """The validated ``underlay_fleet``: the default trunk and the segments in fleet order."""

    def __init__(self, trunk, segments):
        self.trunk = trunk
        self.segments = segments
        self.by_name = {segment.name: segment for segment in segments}


def parse_fleet(fleet):
    """Validate ``underlay_fleet`` as a whole and return it as a Fleet."""
    _require_netaddr()
    _as_dict(fleet, 'underlay_fleet', 'the fleet description, with a list of segments')
    _check_keys(fleet, FLEET_KEYS, 'underlay_fleet')
    trunk = None if fleet.get('trunk') is None else _trunk_name(fleet['trunk'], 'underlay_fleet.trunk')
    if not fleet.get('segments'):
        raise FleetPlanError('underlay_fleet.segments is missing or empty: list the segments of the fleet, each '
                             'with at least name, subnet and container_pool')
    raw_segments = _as_list(fleet['segments'], 'underlay_fleet.segments', 'one entry per segment')
    segments = [parse_segment(raw, position) for position, raw in enumerate(raw_segments)]
    _check_unique_names(segments)
    _check_unique(segments, 'vlan_id', 'a VLAN id carries one segment: give each segment its own')
    _check_unique(segments, 'docker_network', 'set docker_network so that each segment has its own Docker network')
    _check_subnets_disjoint(segments)
    return Fleet(trunk, segments)


# ---------------------------------------------------------------------------------------------
# Hosts


class HostRequest:
    """One host as the caller describes it, validated against the fleet."""

    def __init__(self, name, index, trunk, segments, observed, protected=(), force=False, connected=(),
                 unreadable=None, interfaces=None, adopt=()):
        self.name = name
        # The interfaces the host has now (name -> managed_by, addresses, default_route), and the segments whose
        # planned interfaces the plan may take over although it did not make them (underlay_adopt_segments).
        self.interfaces = interfaces or {}
        self.adopt = adopt
        # Why the host's links could not be read (a host outside a limited run that is down), else None:
        # where it is deployed is then unknown.
        self.unreadable = unreadable
        self.index = index
        self.trunk = trunk
        self.segments = segments
        self.observed = observed
        self.protected = protected
        self.force = force
        self.connected = connected  # networks the host reaches directly already (its own interfaces)

    def shim_routes(self, segment, index):
        """What the host's shim on ``segment`` routes: only the host's own range when the host is on the
        segment otherwise (its host address there, or an address of its own in the subnet, as on the seed's
        LAN), else the whole subnet, so that the shim is the host's way onto the segment."""
        on_segment = segment.host_address or any(
            network.first <= segment.subnet.last and segment.subnet.first <= network.last for network in self.connected)
        return [segment.ip_range(index)] if on_segment else [segment.subnet]


def _host_entries(hosts):
    """``hosts`` as a list of (name, entry) sorted by name; a plain list of names is allowed too."""
    if isinstance(hosts, (list, tuple)):
        entries = [(name, {}) for name in hosts]
    elif isinstance(hosts, dict):
        entries = list(hosts.items())
    else:
        raise FleetPlanError('the hosts argument of fleet_plan must be a dictionary of host name -> {index, trunk, '
                             'segments, observed} or a list of host names, got %s' % type(hosts).__name__)
    names = set()
    for name, entry in entries:
        if not isinstance(name, str) or not name:
            raise FleetPlanError('the hosts argument of fleet_plan has a host name %r; host names are non-empty '
                                 'strings' % (name,))
        if name in names:
            raise FleetPlanError("the hosts argument of fleet_plan lists host '%s' twice; list each host once" % name)
        names.add(name)
        if entry is not None:
            _as_dict(entry, "host '%s'" % name, 'with the keys %s' % ', '.join(HOST_KEYS))
    return sorted(((name, entry or {}) for name, entry in entries), key=lambda item: item[0])


def _host_index(name, entry):
    if entry.get('index') is None:
        return None
    where = "host '%s': underlay_host_index" % name
    index = _as_int(entry['index'], where, 0)
    if index < 0:
        raise FleetPlanError('%s %d is negative; host indexes count from 0' % (where, index))
    return index


def _host_trunk(name, entry, fleet):
    if entry.get('trunk') is not None:
        return _trunk_name(entry['trunk'], "host '%s': underlay_trunk" % name)
    if fleet.trunk is None:
        raise FleetPlanError("host '%s' has no trunk: set underlay_fleet.trunk for the whole fleet or "
                             'underlay_trunk for this host, e.g. eth0' % name)
    return fleet.trunk


def _host_segments(name, entry, fleet):
    if entry.get('segments') is None:
        return list(fleet.segments)
    where = "host '%s': underlay_host_segments" % name
    wanted = _as_list(entry['segments'], where, 'segment names')
    known = list(fleet.by_name)
    for segment in wanted:
        if not isinstance(segment, str) or segment not in fleet.by_name:
            raise FleetPlanError("%s lists '%s', which is not a segment of underlay_fleet%s; the segments are %s"
                                 % (where, segment, _suggest(segment, known), ', '.join(known)))
        if wanted.count(segment) > 1:
            raise FleetPlanError("%s lists '%s' twice; list each segment once" % (where, segment))
    # Fleet order, whatever the order of the list: plans do not depend on how a host lists them.
    return [segment for segment in fleet.segments if segment.name in wanted]


def _host_observed(name, entry, key='observed'):
    """The IPv4 addresses with prefix of ``key``: ``observed`` (on the host's managed links) or ``connected``
    (on its other interfaces)."""
    if entry.get(key) is None:
        return []
    where = "host '%s': %s" % (name, key)
    observed = []
    for value in _as_list(entry[key], where, 'addresses with their prefix length, e.g. 172.28.10.2/24'):
        text = _as_str(value, where, '172.28.10.2/24')
        if ':' in text:
            continue  # IPv6: not planned, so it says nothing about the host's index or segments
        if '/' not in text:
            raise FleetPlanError("%s address '%s' has no prefix length; give the addresses as links_info reports "
                                 'them, e.g. 172.28.10.2/24' % (where, text))
        try:
            observed.append(IPNetwork(text))
        except (AddrFormatError, ValueError, TypeError):
            raise FleetPlanError("%s address '%s' is not an address with prefix length, e.g. 172.28.10.2/24"
                                 % (where, text)) from None
    return observed


def _host_protected(name, entry):
    """The addresses that keep the host reachable (default gateways, the controller): (address, why) pairs."""
    where = "host '%s': protected" % name
    protected = []
    for value in _as_list(entry.get('protected') or [], where, 'addresses the host must keep reaching'):
        if isinstance(value, dict) and 'gateway' in value:
            # A default route as links_info reports it (an on-link one has no gateway to keep).
            _check_keys(value, ('family', 'gateway', 'interface'), where)
            address, why = value['gateway'], 'the default gateway via %s' % value.get('interface')
        elif isinstance(value, dict):
            _check_keys(value, ('address', 'why'), where)
            address, why = value.get('address'), value.get('why') or 'a protected address'
        else:
            address, why = value, 'a protected address'
        if address is None or ':' in str(address):
            continue  # IPv6 (or no address): the plan routes IPv4 only, so it cannot take IPv6 traffic away
        protected.append((_ipv4_address(address, where, '172.28.0.1'), why))
    return protected


def _check_host_interfaces(request):
    """The host's interface names fit the kernel's limit and are all different."""
    fix_vlan = 'give the host a shorter trunk name (underlay_trunk, e.g. an altname) or the segment a shorter vlan_id'
    names = {request.trunk: 'the trunk'}
    untagged = [segment for segment in request.segments if not segment.tagged]
    if len(untagged) > 1:
        raise FleetPlanError("host '%s': segments '%s' and '%s' are both untagged (no vlan_id), so both would sit "
                             "on trunk %s; a trunk carries one untagged segment: give one of them a vlan_id or "
                             'leave one off the host (underlay_host_segments)'
                             % (request.name, untagged[0].name, untagged[1].name, request.trunk))
    for segment in request.segments:
        where = "host '%s', segment '%s'" % (request.name, segment.name)
        wanted = []
        if segment.tagged:
            wanted.append((segment.interface(request.trunk), 'VLAN interface'))
            _check_ifname(segment.interface(request.trunk), '%s: the VLAN interface' % where, fix_vlan)
        if segment.shim:
            wanted.append((segment.shim_name, 'shim'))
        for ifname, what in wanted:
            if ifname in names:
                raise FleetPlanError("%s: the %s would be '%s', the name of %s too; rename the host's trunk "
                                     '(underlay_trunk) or the segment' % (where, what, ifname, names[ifname]))
            names[ifname] = '%s of segment %s' % (what, segment.name)


def _host_interfaces(name, entry):
    """The host's interfaces as planner_input reports them: name -> {managed_by, addresses, default_route}."""
    where = "host '%s': interfaces" % name
    interfaces = _as_dict(entry.get('interfaces') or {}, where, 'interface name -> {%s}' % ', '.join(INTERFACE_KEYS))
    for ifname, carried in interfaces.items():
        _as_dict(carried, '%s, %s' % (where, ifname), ', '.join(INTERFACE_KEYS))
        _check_keys(carried, INTERFACE_KEYS, '%s, %s' % (where, ifname))
        for key in INTERFACE_KEYS:
            if key not in carried:
                raise FleetPlanError("%s, %s has no key '%s'; describe each interface with %s, as planner_input "
                                     'does' % (where, ifname, key, ', '.join(INTERFACE_KEYS)))
    return interfaces


def _host_adopt(name, entry, fleet):
    """The segments whose planned interfaces the host lets the plan take over (underlay_adopt_segments)."""
    where = "host '%s': underlay_adopt_segments" % name
    adopt = _as_list(entry.get('adopt') or [], where, 'segment names')
    known = list(fleet.by_name)
    for segment in adopt:
        if not isinstance(segment, str) or segment not in fleet.by_name:
            raise FleetPlanError("%s lists '%s', which is not a segment of underlay_fleet%s; the segments are %s"
                                 % (where, segment, _suggest(segment, known), ', '.join(known)))
    return adopt


def _what_it_carries(carried):
    things = list(carried['addresses'] or ()) + ['the route to %s' % route for route in carried['routes'] or ()]
    if carried['default_route']:
        things.append('the default route via %s' % carried['default_route'])
    return ' and '.join([', '.join(things[:-1]), things[-1]] if len(things) > 1 else things) or 'nothing'


def _check_planned_interfaces_free(request):
    """Refuse a planned interface that the host has already and that the plan would take over: one this
    collection did not make, or one that carries the host's default route. Adopting the segment allows it."""
    for segment in request.segments:
        if segment.name in request.adopt:
            continue
        wanted = []
        if segment.tagged:
            wanted.append((segment.interface(request.trunk), 'VLAN interface'))
        if segment.shim:
            wanted.append((segment.shim_name, 'shim'))
        for ifname, what in wanted:
            carried = request.interfaces.get(ifname)
            if carried is None:
                continue
            if not carried['managed_by']:
                problem = 'exists already and this collection did not make it (it carries %s)' % (
                    _what_it_carries(carried))
            elif carried['default_route']:
                problem = "carries the host's default route via %s" % carried['default_route']
            else:
                continue
            raise FleetPlanError(
                "host '%s', segment '%s': the %s %s %s; the plan would take it over and strip what it carries: give "
                'the segment another vlan_id, leave the host off it (underlay_host_segments), or let the plan take '
                'it over with underlay_adopt_segments: [%s] for this host'
                % (request.name, segment.name, what, ifname, problem, segment.name))


def parse_hosts(hosts, fleet):
    """Validate the ``hosts`` argument against ``fleet``: HostRequests sorted by host name."""
    requests = []
    for name, entry in _host_entries(hosts):
        _check_keys(entry, HOST_KEYS, "host '%s' (in the hosts argument of fleet_plan)" % name)
        request = HostRequest(name, _host_index(name, entry), _host_trunk(name, entry, fleet),
                              _host_segments(name, entry, fleet), _host_observed(name, entry),
                              _host_protected(name, entry),
                              _as_bool(entry['force'], "host '%s': underlay_force" % name)
                              if entry.get('force') is not None else False,
                              _host_observed(name, entry, 'connected'),
                              _as_str(entry['unreadable'], "host '%s': unreadable" % name, "'unreachable'")
                              if entry.get('unreadable') is not None else None,
                              _host_interfaces(name, entry), _host_adopt(name, entry, fleet))
        _check_host_interfaces(request)
        _check_planned_interfaces_free(request)
        requests.append(request)
    return requests


def check_uplink(request, index):
    """Fail when the plan would route a protected address (a default gateway, the controller) away from the
    uplink: a host address puts its whole subnet on the VLAN interface, a shim takes the host's range."""
    if request.force:
        return
    for segment in request.segments:
        taken = []
        if segment.host_address and segment.tagged:
            taken.append((segment.subnet, 'its host address %s puts subnet %s on %s'
                          % (segment.host_cidr(index), segment.subnet, segment.interface(request.trunk))))
        if segment.shim:
            taken.extend((route, 'its shim %s routes %s' % (segment.shim_name, route))
                         for route in request.shim_routes(segment, index))
        for network, how in taken:
            for address, why in request.protected:
                if address in network:
                    raise FleetPlanError(
                        "host '%s', segment '%s': %s, which holds %s (%s), so the host would reach it through "
                        'the segment instead of its uplink and could be cut off; give the segment a subnet and '
                        'container_pool clear of it, leave the host off the segment (underlay_host_segments), '
                        'or set underlay_force: true for the host if that is really meant'
                        % (request.name, segment.name, how, address, why))


# ---------------------------------------------------------------------------------------------
# Index assignment


def observed_index(request, fleet):
    """The index a host is deployed at, from its observed addresses: (index, evidence) or (None, None).

    All segments count, not only those the host still joins: a link it still carries shows where it is.
    """
    found = {}
    for address in request.observed:
        for segment in fleet.segments:
            index = segment.index_of(address)
            if index is not None:
                found.setdefault(index, []).append('%s on %s' % (address, segment.name))
    if not found:
        return None, None
    if len(found) > 1:
        evidence = '; '.join('index %d: %s' % (index, ', '.join(found[index])) for index in sorted(found))
        raise FleetPlanError("host '%s': its observed addresses belong to different indexes (%s); a host has one "
                             'index: remove the stray links, or set underlay_host_index to the index to keep '
                             'and remove the others' % (request.name, evidence))
    index = next(iter(found))
    return index, ', '.join(found[index])


def _describe_range(segment, index):
    if index >= segment.slices:
        return 'nothing (container_pool %s has %d slices)' % (segment.pool, segment.slices)
    return str(segment.ip_range(index))


def _check_not_moved(request, observed, evidence):
    if request.index is None or observed is None or request.index == observed:
        return
    changes = ', '.join('on segment %s from %s to %s' % (segment.name, _describe_range(segment, observed),
                                                         _describe_range(segment, request.index))
                        for segment in request.segments) or 'nothing (it joins no segment)'
    raise FleetPlanError("host '%s' would move from index %d to %d: it is deployed at index %d (observed %s), "
                         'and its range would change %s; set underlay_host_index: %d to keep it where it is, or, '
                         'to move it on purpose, remove its underlay first (then nothing is observed)'
                         % (request.name, observed, request.index, observed, evidence, changes, observed))


def _explicit_indexes(requests):
    explicit = {}
    for request in requests:
        if request.index is None:
            continue
        if request.index in explicit:
            raise FleetPlanError("hosts '%s' and '%s' both have underlay_host_index %d; give each host its own index"
                                 % (explicit[request.index], request.name, request.index))
        explicit[request.index] = request.name
    return explicit


def _claim_observed(request, index, evidence, taken):
    """Fail unless a deployed host (no explicit index) can stay at its observed index."""
    if index not in taken:
        return
    holder, holder_evidence = taken[index]
    if holder_evidence is None:
        raise FleetPlanError("host '%s' is deployed at index %d (observed %s), but host '%s' has "
                             "underlay_host_index %d; give '%s' another underlay_host_index, or remove the underlay "
                             "of '%s' first so that it can take another index"
                             % (request.name, index, evidence, holder, index, holder, request.name))
    raise FleetPlanError("hosts '%s' and '%s' are both deployed at index %d (observed %s; and %s), so they share "
                         'addresses; remove the underlay of one of them, then plan again (it gets a free index)'
                         % (holder, request.name, index, holder_evidence, evidence))


def _check_new_hosts_can_be_placed(requests, indexes):
    """A new host's index must not be one an unread host is deployed at: fail rather than guess."""
    unread = [request for request in requests if request.unreadable and request.name not in indexes]
    new = [request.name for request in requests if not request.unreadable and request.name not in indexes]
    if not unread or not new:
        return
    raise FleetPlanError(
        '%s %s a new index, but %s could not be read, so which indexes are deployed there is unknown and a new '
        'index could be taken already; run with every host of the group included (the Limit), or give each new '
        'host an index no other host has with underlay_host_index'
        % (_hosts_phrase(["'%s'" % name for name in new]), 'takes' if len(new) == 1 else 'take',
           _hosts_phrase(["'%s' (%s)" % (request.name, request.unreadable) for request in unread])))


def _hosts_phrase(described):
    return ('host ' if len(described) == 1 else 'hosts ') + ', '.join(described)


def assign_indexes(requests, fleet):
    """Host name -> index: explicit index, else the observed one, else the lowest free one by name order."""
    explicit = _explicit_indexes(requests)
    # index -> (host, observed evidence, or None for an explicit index)
    taken = {index: (name, None) for index, name in explicit.items()}
    indexes = {request.name: request.index for request in requests if request.index is not None}
    for request in requests:
        observed, evidence = observed_index(request, fleet)
        _check_not_moved(request, observed, evidence)
        if request.index is None and observed is not None:
            _claim_observed(request, observed, evidence, taken)
            taken[observed] = (request.name, evidence)
            indexes[request.name] = observed
    _check_new_hosts_can_be_placed(requests, indexes)
    free = 0
    for request in requests:  # sorted by name: the order does not depend on the input's order
        if request.name in indexes or request.unreadable:
            continue
        while free in taken:
            free += 1
        taken[free] = (request.name, None)
        indexes[request.name] = free
    return indexes


# ---------------------------------------------------------------------------------------------
# Capacity


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
            raise FleetPlanError(_pool_exhausted(segment, misfits))
        raise FleetPlanError(_infrastructure_exhausted(segment, misfits, capacity))


def _segments_in_use(requests):
    used = []
    for request in requests:
        for segment in request.segments:
            if segment not in used:
                used.append(segment)
    return used


# ---------------------------------------------------------------------------------------------
# Plans


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
            raise FleetPlanError("host '%s', segment '%s': its deployed address %s is also an address of host '%s' "
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
                           'segments': [segment_plan(segment, request, indexes[request.name])
                                        for segment in request.segments]}
            for request in requests}


# ---------------------------------------------------------------------------------------------
# Conversions of one host plan into module parameters


def _plan_segments(plan, filter_name):
    if not isinstance(plan, dict) or 'segments' not in plan or 'trunk' not in plan:
        raise FleetPlanError("%s takes one host's plan, e.g. plans[inventory_hostname] where plans is "
                             'underlay_fleet | underlay.network.fleet_plan(hosts); got %s'
                             % (filter_name, type(plan).__name__))
    return _as_list(plan['segments'], '%s: the plan\'s segments' % filter_name, 'segment plans')


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
    for link in _as_list(existing, 'host_links: existing', 'links as underlay.network.links_info returns them'):
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
    """``{links: [...]}`` for underlay.network.links: the VLAN interfaces (``vlans``), the shims (``shims``,
    ipvlan ones in the mode of the port they join among ``existing`` links), or namespace ``workloads``
    (``{namespaces, links}``: ``count`` per segment, named ``PREFIXSEGMENT-N``)."""
    if which not in HOST_LINK_SETS:
        raise FleetPlanError("host_links: %r is not a set of links%s; choose one of %s"
                             % (which, _suggest(which, HOST_LINK_SETS), ', '.join(HOST_LINK_SETS)))
    segments = _plan_segments(plan, 'host_links')
    if which == 'vlans':
        return {'links': [_vlan_link(plan['trunk'], segment) for segment in segments
                          if segment['vlan_id'] is not None]}
    if which == 'shims':
        ports = _ipvlan_ports(existing or [])
        return {'links': [_shim_link(segment, ports) for segment in segments if segment['shim']]}
    _require_netaddr()
    count = _as_int(count, 'host_links: count', 1)
    if count < 1 or count > 16:
        raise FleetPlanError('host_links: count %d is out of range; give 1 to 16 workloads per segment' % count)
    if count > min(IPNetwork(segment['ip_range']).size for segment in segments or [{'ip_range': '0.0.0.0/0'}]):
        raise FleetPlanError('host_links: count %d is more than a host range holds' % count)
    return _workload_links(plan, segments, _as_str(prefix, 'host_links: prefix', 'web1-') if prefix else '', count)


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
    return [_docker_network(plan['trunk'], segment) for segment in _plan_segments(plan, 'docker_networks')
            if segment['docker_network']]


# ---------------------------------------------------------------------------------------------
# Endpoints for the verification (underlay.network.verify, underlay.network.expected_reachability)


def _segment_on(plan_segments, interface):
    return next((segment for segment in plan_segments if segment['interface'] == interface), None)


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


def plan_endpoints(plan, host, workloads=None, containers=(), docker_host=None):
    """The endpoints one host contributes to the reachability matrix: its own address on each segment (the
    host address, else the shim's), its namespace ``workloads`` (host_links' output) and its Docker
    ``containers`` (the registered results of community.docker.docker_container, looped over docker_networks)."""
    plan_segments = _plan_segments(plan, 'plan_endpoints')
    host = _as_str(host, 'plan_endpoints: host', 'inventory_hostname')
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
    for result in containers or ():
        if isinstance(result, dict) and not result.get('skipped'):
            endpoint = _container_endpoint(host, result, plan_segments, docker_host)
            if endpoint is not None:
                endpoints.append(endpoint)
    return endpoints
