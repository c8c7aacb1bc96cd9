# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet's hosts, as the inventory and the hosts' own reports describe them: each parsed and checked into a
``HostRequest`` (its index, trunk, segments, what it has and must keep), and the checks that need the host's
interfaces (an uplink the plan would take over, an interface in the way)."""

from __future__ import annotations

from ansible_collections.underlay.network.plugins.plugin_utils._filters import FilterError
from ansible_collections.underlay.network.plugins.plugin_utils._fleet.inputs import (
    AddrFormatError,
    IPNetwork,
    as_bool,
    as_dict,
    as_int,
    as_list,
    as_str,
    check_ifname,
    check_keys,
    ipv4_address,
    suggest,
    trunk_name,
)

HOST_KEYS = ('adopt', 'connected', 'force', 'index', 'interfaces', 'observed', 'protected', 'segments', 'trunk',
             'unreadable')
# What the planner is told of each interface a host has (planner_input makes it from links_info).
INTERFACE_KEYS = ('addresses', 'default_route', 'managed_by', 'routes')


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
        raise FilterError('the hosts argument of fleet_plan must be a dictionary of host name -> {index, trunk, '
                          'segments, observed} or a list of host names, got %s' % type(hosts).__name__)
    names = set()
    for name, entry in entries:
        if not isinstance(name, str) or not name:
            raise FilterError('the hosts argument of fleet_plan has a host name %r; host names are non-empty '
                              'strings' % (name,))
        if name in names:
            raise FilterError("the hosts argument of fleet_plan lists host '%s' twice; list each host once" % name)
        names.add(name)
        if entry is not None:
            as_dict(entry, "host '%s'" % name, 'with the keys %s' % ', '.join(HOST_KEYS))
    return sorted(((name, entry or {}) for name, entry in entries), key=lambda item: item[0])


def _host_index(name, entry):
    if entry.get('index') is None:
        return None
    where = "host '%s': underlay_host_index" % name
    index = as_int(entry['index'], where, 0)
    if index < 0:
        raise FilterError('%s %d is negative; host indexes count from 0' % (where, index))
    return index


def _host_trunk(name, entry, fleet):
    if entry.get('trunk') is not None:
        return trunk_name(entry['trunk'], "host '%s': underlay_trunk" % name)
    if fleet.trunk is None:
        raise FilterError("host '%s' has no trunk: set underlay_fleet.trunk for the whole fleet or "
                          'underlay_trunk for this host, e.g. eth0' % name)
    return fleet.trunk


def _host_segments(name, entry, fleet):
    if entry.get('segments') is None:
        return list(fleet.segments)
    where = "host '%s': underlay_host_segments" % name
    wanted = as_list(entry['segments'], where, 'segment names')
    known = list(fleet.by_name)
    for segment in wanted:
        if not isinstance(segment, str) or segment not in fleet.by_name:
            raise FilterError("%s lists '%s', which is not a segment of underlay_fleet%s; the segments are %s"
                              % (where, segment, suggest(segment, known), ', '.join(known)))
        if wanted.count(segment) > 1:
            raise FilterError("%s lists '%s' twice; list each segment once" % (where, segment))
    # Fleet order, whatever the order of the list: plans do not depend on how a host lists them.
    return [segment for segment in fleet.segments if segment.name in wanted]


def _host_observed(name, entry, key='observed'):
    """The IPv4 addresses with prefix of ``key``: ``observed`` (on the host's managed links) or ``connected``
    (on its other interfaces)."""
    if entry.get(key) is None:
        return []
    where = "host '%s': %s" % (name, key)
    observed = []
    for value in as_list(entry[key], where, 'addresses with their prefix length, e.g. 172.28.10.2/24'):
        text = as_str(value, where, '172.28.10.2/24')
        if ':' in text:
            continue  # IPv6: not planned, so it says nothing about the host's index or segments
        if '/' not in text:
            raise FilterError("%s address '%s' has no prefix length; give the addresses as links_info reports "
                              'them, e.g. 172.28.10.2/24' % (where, text))
        try:
            observed.append(IPNetwork(text))
        except (AddrFormatError, ValueError, TypeError):
            raise FilterError("%s address '%s' is not an address with prefix length, e.g. 172.28.10.2/24"
                              % (where, text)) from None
    return observed


def _host_protected(name, entry):
    """The addresses that keep the host reachable (default gateways, the controller): (address, why) pairs."""
    where = "host '%s': protected" % name
    protected = []
    for value in as_list(entry.get('protected') or [], where, 'addresses the host must keep reaching'):
        if isinstance(value, dict) and 'gateway' in value:
            # A default route as links_info reports it (an on-link one has no gateway to keep).
            check_keys(value, ('family', 'gateway', 'interface'), where)
            address, why = value['gateway'], 'the default gateway via %s' % value.get('interface')
        elif isinstance(value, dict):
            check_keys(value, ('address', 'why'), where)
            address, why = value.get('address'), value.get('why') or 'a protected address'
        else:
            address, why = value, 'a protected address'
        if address is None or ':' in str(address):
            continue  # IPv6 (or no address): the plan routes IPv4 only, so it cannot take IPv6 traffic away
        protected.append((ipv4_address(address, where, '172.28.0.1'), why))
    return protected


def _check_host_interfaces(request):
    """The host's interface names fit the kernel's limit and are all different."""
    fix_vlan = 'give the host a shorter trunk name (underlay_trunk, e.g. an altname) or the segment a shorter vlan_id'
    names = {request.trunk: 'the trunk'}
    untagged = [segment for segment in request.segments if not segment.tagged]
    if len(untagged) > 1:
        raise FilterError("host '%s': segments '%s' and '%s' are both untagged (no vlan_id), so both would sit "
                          "on trunk %s; a trunk carries one untagged segment: give one of them a vlan_id or "
                          'leave one off the host (underlay_host_segments)'
                          % (request.name, untagged[0].name, untagged[1].name, request.trunk))
    for segment in request.segments:
        where = "host '%s', segment '%s'" % (request.name, segment.name)
        wanted = []
        if segment.tagged:
            wanted.append((segment.interface(request.trunk), 'VLAN interface'))
            check_ifname(segment.interface(request.trunk), '%s: the VLAN interface' % where, fix_vlan)
        if segment.shim:
            wanted.append((segment.shim_name, 'shim'))
        for ifname, what in wanted:
            if ifname in names:
                raise FilterError("%s: the %s would be '%s', the name of %s too; rename the host's trunk "
                                  '(underlay_trunk) or the segment' % (where, what, ifname, names[ifname]))
            names[ifname] = '%s of segment %s' % (what, segment.name)


def _host_interfaces(name, entry):
    """The host's interfaces as planner_input reports them: name -> {managed_by, addresses, default_route}."""
    where = "host '%s': interfaces" % name
    interfaces = as_dict(entry.get('interfaces') or {}, where, 'interface name -> {%s}' % ', '.join(INTERFACE_KEYS))
    for ifname, carried in interfaces.items():
        as_dict(carried, '%s, %s' % (where, ifname), ', '.join(INTERFACE_KEYS))
        check_keys(carried, INTERFACE_KEYS, '%s, %s' % (where, ifname))
        for key in INTERFACE_KEYS:
            if key not in carried:
                raise FilterError("%s, %s has no key '%s'; describe each interface with %s, as planner_input "
                                  'does' % (where, ifname, key, ', '.join(INTERFACE_KEYS)))
    return interfaces


def _host_adopt(name, entry, fleet):
    """The segments whose planned interfaces the host lets the plan take over (underlay_adopt_segments)."""
    where = "host '%s': underlay_adopt_segments" % name
    adopt = as_list(entry.get('adopt') or [], where, 'segment names')
    known = list(fleet.by_name)
    for segment in adopt:
        if not isinstance(segment, str) or segment not in fleet.by_name:
            raise FilterError("%s lists '%s', which is not a segment of underlay_fleet%s; the segments are %s"
                              % (where, segment, suggest(segment, known), ', '.join(known)))
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
            raise FilterError(
                "host '%s', segment '%s': the %s %s %s; the plan would take it over and strip what it carries: give "
                'the segment another vlan_id, leave the host off it (underlay_host_segments), or let the plan take '
                'it over with underlay_adopt_segments: [%s] for this host'
                % (request.name, segment.name, what, ifname, problem, segment.name))


def parse_hosts(hosts, fleet):
    """Validate the ``hosts`` argument against ``fleet``: HostRequests sorted by host name."""
    requests = []
    for name, entry in _host_entries(hosts):
        check_keys(entry, HOST_KEYS, "host '%s' (in the hosts argument of fleet_plan)" % name)
        request = HostRequest(name, _host_index(name, entry), _host_trunk(name, entry, fleet),
                              _host_segments(name, entry, fleet), _host_observed(name, entry),
                              _host_protected(name, entry),
                              as_bool(entry['force'], "host '%s': underlay_force" % name)
                              if entry.get('force') is not None else False,
                              _host_observed(name, entry, 'connected'),
                              as_str(entry['unreadable'], "host '%s': unreadable" % name, "'unreachable'")
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
                    raise FilterError(
                        "host '%s', segment '%s': %s, which holds %s (%s), so the host would reach it through "
                        'the segment instead of its uplink and could be cut off; give the segment a subnet and '
                        'container_pool clear of it, leave the host off the segment (underlay_host_segments), '
                        'or set underlay_force: true for the host if that is really meant'
                        % (request.name, segment.name, how, address, why))
