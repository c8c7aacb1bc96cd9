# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One host's plan as the VMs it carries (``vm_guests``: each a macvtap on a segment and an address from the host's
range, exactly as the namespace workloads get theirs; ``vm_links``: their macvtaps for the links module, each guest
checked against the plan first) and as libvirt networks (``libvirt_networks``: one per segment, libvirt's macvtap
direct attachment on the segment's interface)."""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

from ansible_collections.underlay.network.plugins.plugin_utils._filters import FilterError
from ansible_collections.underlay.network.plugins.plugin_utils._fleet.inputs import (
    AddrFormatError,
    IPNetwork,
    as_int,
    as_str,
    require_netaddr,
)
from ansible_collections.underlay.network.plugins.plugin_utils._render.host_plan import segments_of

MAX_GUESTS = 16
# A locally administered unicast prefix for the guests' MAC addresses, the rest is the IPv4 address (as Docker
# does with 02:42): the same plan, the same MAC, and no two guests of a fleet share one.
GUEST_MAC_PREFIX = (0x02, 0x76)
LIBVIRT_NETWORK_PREFIX = 'underlay-'


def _vm_segments(plan, filter_name):
    """A host's macvlan segments: a macvtap is a macvlan, and the parent of an ipvlan segment carries an ipvlan
    port, which the kernel lets no macvtap join."""
    return [segment for segment in segments_of(plan, filter_name) if segment['driver'] == 'macvlan']


def _link_name(segment, number):
    """At most 15 bytes: vmVLAN-N on a VLAN, vm-SEGMENT-N (the name cut to 9) on the untagged segment, of which a
    host has one."""
    if segment['vlan_id'] is not None:
        return 'vm%d-%d' % (segment['vlan_id'], number)
    return 'vm-%s-%d' % (segment['name'][:9], number)


def guest_mac(address):
    return ':'.join('%02x' % byte for byte in GUEST_MAC_PREFIX + tuple(address.words))


def vm_guests(plan, prefix='', count=1):
    """``count`` guests per macvlan segment of the host: name, segment, address (CIDR), gateway, MAC and the
    macvtap ``link`` (an entry of underlay.network.links' config.links), addresses from the top of the host's
    range."""
    require_netaddr()
    count = as_int(count, 'vm_guests: count', 1)
    if not 1 <= count <= MAX_GUESTS:
        raise FilterError('vm_guests: count %d is out of range; give 1 to %d VMs per segment' % (count, MAX_GUESTS))
    prefix = as_str(prefix, 'vm_guests: prefix', 'web1-') if prefix else ''
    guests = []
    for segment in _vm_segments(plan, 'vm_guests'):
        ip_range, prefixlen = IPNetwork(segment['ip_range']), IPNetwork(segment['subnet']).prefixlen
        if count > ip_range.size:
            raise FilterError("vm_guests: count %d is more than the %d addresses of the host's range %s on segment "
                              "'%s'" % (count, ip_range.size, segment['ip_range'], segment['name']))
        for number in range(1, count + 1):
            address = ip_range[-number]
            mac = guest_mac(address)
            guests.append({
                'name': '%s%s-vm%d' % (prefix, segment['name'], number), 'segment': segment['name'],
                'address': '%s/%d' % (address, prefixlen), 'gateway': segment['gateway'], 'mac_address': mac,
                'link': {'kind': 'macvtap', 'name': _link_name(segment, number), 'parent': segment['interface'],
                         'mode': segment['mode'], 'mac_address': mac}})
    return guests


def _network_xml(name, segment):
    """libvirt's direct attachment: a forward mode of bridge, private or vepa with an interface and no bridge is
    a macvtap in that mode on the interface, per guest."""
    return ("<network>\n  <name>%s</name>\n  <forward mode=%s>\n    <interface dev=%s/>\n  </forward>\n</network>\n"
            % (name, quoteattr(segment['mode']), quoteattr(segment['interface'])))


def libvirt_networks(plan):
    """One libvirt network per macvlan segment of the host: ``{name, segment, xml}``."""
    networks = []
    for segment in _vm_segments(plan, 'libvirt_networks'):
        name = LIBVIRT_NETWORK_PREFIX + segment['name']
        networks.append({'name': name, 'segment': segment['name'], 'xml': _network_xml(name, segment)})
    return networks


def vm_links(plan, guests, tap_owner=None, tap_group=None, tap_mode=None):
    """``{links: [...]}`` for underlay.network.links: the macvtaps of ``guests`` (vm_guests' output, or the user's
    own list in its shape), each checked against the host's plan first, with the tap device settings given."""
    require_netaddr()
    segments = {segment['name']: segment for segment in _vm_segments(plan, 'vm_links')}
    tap = {key: value for key, value in (('tap_owner', tap_owner), ('tap_group', tap_group),
                                         ('tap_mode', tap_mode)) if value is not None}
    links = []
    for position, guest in enumerate(guests or ()):
        label = 'vm_links: guest %d%s' % (position, ' (%s)' % guest.get('name') if isinstance(guest, dict) else '')
        _check_guest(label, guest, segments)
        links.append(dict(guest['link'], **tap))
    return {'links': links}


def _check_guest(label, guest, segments):
    if not isinstance(guest, dict) or not all(isinstance(guest.get(key), (str, dict)) for key in
                                              ('name', 'segment', 'address', 'mac_address', 'link')):
        raise FilterError('%s: a guest has name, segment, address, mac_address and link, as vm_guests gives them'
                          % label)
    segment = segments.get(guest['segment'])
    if segment is None:
        raise FilterError("%s: segment '%s' is not a macvlan segment of this host's plan (it has %s)"
                          % (label, guest['segment'], ', '.join(sorted(segments)) or 'none'))
    try:
        address = IPNetwork(guest['address'])
    except (AddrFormatError, ValueError, TypeError) as exc:
        raise FilterError("%s: address '%s' is not an address in CIDR form (%s)" % (label, guest['address'], exc)) \
            from None
    ip_range, subnet = IPNetwork(segment['ip_range']), IPNetwork(segment['subnet'])
    if address.ip not in ip_range or address.prefixlen != subnet.prefixlen:
        raise FilterError("%s: address %s is outside the host's range %s on segment '%s' (or not /%d, the "
                          "segment's prefix length); take one from that range, as vm_guests does"
                          % (label, guest['address'], segment['ip_range'], segment['name'], subnet.prefixlen))
    link = guest['link']
    wanted = {'kind': 'macvtap', 'parent': segment['interface'], 'mac_address': guest['mac_address']}
    wrong = sorted(key for key, value in wanted.items() if link.get(key) != value)
    if wrong:
        raise FilterError('%s: its link must be %s; it has %s' % (label, ', '.join(
            '%s %s' % (key, wanted[key]) for key in wrong), ', '.join('%s %s' % (key, link.get(key)) for key in wrong)))
