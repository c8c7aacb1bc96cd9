# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Persistent configuration for what the roles build: pure controller-side rendering.

The files are rendered from the very link configs the roles hand to the links module
(``host_links(plan, 'vlans')`` and ``host_links(plan, 'shims', existing)``), so that the runtime state and
the persistent state cannot disagree: one description, one conversion, two ways of applying it.

systemd-networkd (``networkd_files``):

* per VLAN interface ``20-underlay-IFNAME.netdev`` (``Kind=vlan``, ``Id=``) and ``20-underlay-IFNAME.network``
  (the host address, and a ``MACVLAN=``/``IPVLAN=`` line per shim on it);
* per shim ``30-underlay-IFNAME.netdev`` (``Kind=macvlan`` ``Mode=bridge``, or ``Kind=ipvlan`` ``Mode=L2|L3``
  ``Flags=``) and ``30-underlay-IFNAME.network`` (its /32, a ``[Route]`` per routed range, with
  ``Scope=global`` as the links module installs it: networkd would otherwise pick its own scope);
* per VLAN interface and per shim ``98-underlay-IFNAME.link``: its owner marker as the link's alias
  (``Alias=underlay.network/vlan_host`` or ``underlay.network/shim``, what the role's links carry), so that
  a link rebuilt at boot is still known as the collection's (the planner's index evidence, ``overridden``).
  systemd-networkd cannot set an alias; udev does, from the first ``.link`` file that matches a link when it
  appears. ``98-`` sorts after an admin's own ``.link`` files (which then win, and the link comes back
  without the marker) and before systemd's ``99-default.link``, whose settings ours repeat;
* the trunk is never taken over: networkd configures a link with the first .network file that matches it
  only, so a .network of ours matching the trunk would drop the host's own configuration of it (its
  addresses, DHCP, routes). The ``VLAN=`` lines (and ``MACVLAN=``/``IPVLAN=`` of shims on an untagged
  segment) go into a drop-in of the trunk's own .network file instead, ``TRUNK_NETWORK.d/50-underlay.conf``,
  which networkd merges into that file wherever it lives (/etc, /run or /usr/lib/systemd/network).

ifupdown (``ifupdown_files``): one file, ``/etc/network/interfaces.d/underlay`` (no dot in the name:
``source-directory`` skips such files), a stanza per VLAN interface (ifupdown creates ``TRUNK.VLAN_ID`` on
the trunk by itself, the trunk's own stanza stays the host's; ``up ip link set dev IFNAME alias MARKER``) and
per shim (``pre-up ip link add``, ``pre-up ip link set dev IFNAME alias MARKER``, the address, ``up ip route
add`` per routed range, ``post-down ip link delete``): the links come back with their owner marker.

Every file starts with ``HEADER``: the role removes only files that carry it.

What a filter is handed is checked again before anything is rendered (``_check_plan``): the stanzas are
shell (ifupdown runs every ``pre-up``/``up``/``post-down`` line with ``/bin/sh -c``) and the networkd files
are ``Key=value`` lines, so an interface name, an address, a route, a VLAN id or a mode that is not one would
become a command or a key of its own. Only names of letters, digits, ``.``, ``_`` and ``-`` (what the fleet
plan gives) are written, and every value of a command line is quoted (``shell_command``) all the same.
"""

from __future__ import annotations

import ipaddress
import posixpath
import re
import shlex

from ansible_collections.underlay.network.plugins.module_utils._common.markers import owner_marker
from ansible_collections.underlay.network.plugins.module_utils._common.vocabulary import (
    IPVLAN_FLAGS,
    IPVLAN_MODES,
    MACVLAN_MODES,
    SEGMENT_MODES,
)
from ansible_collections.underlay.network.plugins.plugin_utils._filters import FilterError
from ansible_collections.underlay.network.plugins.plugin_utils._render.links import host_links

HEADER = '# Managed by underlay.network (role persist) - changes are overwritten'
NETWORKD_DIR = 'etc/systemd/network'
NETWORKD_DROPIN = '50-underlay.conf'
NETWORKD_VLAN_PREFIX = '20-underlay-'
NETWORKD_SHIM_PREFIX = '30-underlay-'
NETWORKD_LINK_PREFIX = '98-underlay-'
# What systemd's own 99-default.link gives every link; a .link file of ours replaces it for our links.
DEFAULT_LINK_SETTINGS = (('NamePolicy', 'keep kernel database onboard slot path'),
                         ('AlternativeNamesPolicy', 'database onboard slot path'),
                         ('MACAddressPolicy', 'persistent'))
# The marker (alias) the links of each set carry: the owner of the role that applies them (roles/vlan_host
# and roles/shim call underlay.network.links with owner vlan_host and owner shim; _common/markers.owner_marker).
MARKERS = {'vlans': owner_marker('vlan_host'), 'shims': owner_marker('shim')}
# systemd-networkd's spelling of the ipvlan modes.
NETWORKD_IPVLAN_MODES = {mode: mode.upper() for mode in IPVLAN_MODES}


# Interface names written into the files: letters, digits, '.', '_' and '-', starting with a letter or digit
# (no option-like '-x'), at most IFNAMSIZ - 1 bytes. Every name the fleet plan gives is one.
SAFE_IFNAME = re.compile(r'[A-Za-z0-9][A-Za-z0-9._-]{0,14}')
ADDRESS_TEXT = re.compile(r'[0-9A-Fa-f:.]+/[0-9]{1,3}')
SHIM_KINDS = tuple(SEGMENT_MODES)
REPLAN = ('recompute the plan with underlay.network.fleet_plan (the persist role takes underlay_host_plan) '
          'rather than editing it')


def shell_command(argv):
    """One command line of an ifupdown stanza: every value quoted for ``/bin/sh -c`` (``shlex.split`` gives
    ``argv`` back)."""
    return ' '.join(shlex.quote(str(arg)) for arg in argv)


def _check_name(filter_name, where, value):
    if not isinstance(value, str) or not SAFE_IFNAME.fullmatch(value):
        raise FilterError(
            "%s: the plan's %s %r is not an interface name that is written into network configuration: use 1 "
            "to 15 letters, digits, '.', '_' and '-', starting with a letter or digit; %s"
            % (filter_name, where, value, REPLAN))
    return value


def _check_address(filter_name, where, value, network=False):
    try:
        if not isinstance(value, str) or not ADDRESS_TEXT.fullmatch(value):
            raise ValueError(value)
        if network:
            ipaddress.ip_network(value, strict=False)
        else:
            ipaddress.ip_interface(value)
    except ValueError:
        raise FilterError(
            "%s: the plan's %s %r is not %s, e.g. %s; %s"
            % (filter_name, where, value, 'a network' if network else 'an address with its prefix length',
               '172.28.10.128/28' if network else '172.28.10.2/24', REPLAN)) from None
    return value


def _check_choice(filter_name, where, value, choices):
    if not isinstance(value, str) or value not in choices:
        raise FilterError("%s: the plan's %s %r is not one of %s; %s"
                          % (filter_name, where, value, ', '.join(choices), REPLAN))
    return value


def _check_plan(plan, filter_name):
    """Everything of ``plan`` that reaches a file, checked (the filters may be handed any dict)."""
    if not isinstance(plan, dict) or 'segments' not in plan or 'trunk' not in plan:
        return  # host_links says what a plan is
    _check_name(filter_name, 'trunk', plan['trunk'])
    if not isinstance(plan['segments'], list):
        return  # host_links says what the segments are
    for number, segment in enumerate(plan['segments']):
        if not isinstance(segment, dict):
            raise FilterError("%s: the plan's segments[%d] is not a segment plan; %s"
                              % (filter_name, number, REPLAN))
        where = 'segments[%d] (%s).' % (number, segment.get('name'))
        missing = [key for key in ('interface', 'vlan_id', 'driver', 'mode', 'host_address', 'shim')
                   if key not in segment]
        if missing:
            raise FilterError("%s: the plan's segments[%d] (%s) has no %s; %s"
                              % (filter_name, number, segment.get('name'), ', '.join(missing), REPLAN))
        _check_name(filter_name, where + 'interface', segment['interface'])
        vlan_id = segment['vlan_id']
        if vlan_id is not None and (not isinstance(vlan_id, int) or isinstance(vlan_id, bool)
                                    or not 1 <= vlan_id <= 4094):
            raise FilterError("%s: the plan's %svlan_id %r is not a VLAN id (1 to 4094, or null for the "
                              'untagged trunk); %s' % (filter_name, where, vlan_id, REPLAN))
        driver = _check_choice(filter_name, where + 'driver', segment['driver'], SHIM_KINDS)
        _check_choice(filter_name, where + 'mode', segment['mode'],
                      MACVLAN_MODES if driver == 'macvlan' else IPVLAN_MODES)
        if segment['host_address'] is not None:
            _check_address(filter_name, where + 'host_address', segment['host_address'])
        shim = segment['shim']
        if shim:
            if not isinstance(shim, dict) or not isinstance(shim.get('routes'), list):
                raise FilterError("%s: the plan's %sshim is not a shim plan (name, address, routes); %s"
                                  % (filter_name, where, REPLAN))
            _check_name(filter_name, where + 'shim.name', shim.get('name'))
            _check_address(filter_name, where + 'shim.address', shim.get('address'))
            for route_number, route in enumerate(shim['routes']):
                _check_address(filter_name, '%sshim.routes[%d]' % (where, route_number), route, network=True)


def _links(plan, existing, filter_name):
    """The VLAN and shim links of the checked plan, as the roles apply them."""
    _check_plan(plan, filter_name)
    vlans = host_links(plan, 'vlans')['links']
    shims = host_links(plan, 'shims', existing=existing)['links']
    for link in shims:
        if link['kind'] == 'ipvlan' and (link['mode'] not in IPVLAN_MODES
                                         or link.get('flag') not in (None,) + IPVLAN_FLAGS):
            raise FilterError(
                "%s: existing: the ipvlan port %s has mode %r and flag %r, which is not an ipvlan mode (%s) and "
                "flag (%s); pass existing as underlay.network.links_info returns it"
                % (filter_name, link['parent'], link['mode'], link.get('flag'), ', '.join(IPVLAN_MODES),
                   ', '.join(IPVLAN_FLAGS)))
    return vlans, shims


def _file(root, directory, name, sections):
    """One rendered file: the header, then ``[Section]`` blocks of ``Key=value`` lines."""
    lines = [HEADER]
    for section, entries in sections:
        lines.append('')
        lines.append('[%s]' % section)
        lines.extend('%s=%s' % entry for entry in entries)
    return {'path': posixpath.join(root, directory, name), 'content': '\n'.join(lines) + '\n'}


def _root(root):
    if not isinstance(root, str) or not root.startswith('/'):
        raise FilterError("persistence: root must be an absolute directory, e.g. '/'; got %r" % (root,))
    return root


def _trunk_network(trunk_network):
    if not isinstance(trunk_network, str) or not posixpath.basename(trunk_network)[:-len('.network')] \
            or not trunk_network.endswith('.network'):
        raise FilterError(
            "networkd_files: trunk_network must name the .network file that configures the trunk, e.g. "
            "'10-eth0.network' (networkctl status TRUNK shows it as 'Network File'); got %r" % (trunk_network,))
    return posixpath.basename(trunk_network)


def _attachment(link):
    return ('MACVLAN' if link['kind'] == 'macvlan' else 'IPVLAN', link['name'])


def _shim_netdev(link):
    if link['kind'] == 'macvlan':
        mode = link.get('mode') or 'bridge'
        if mode not in MACVLAN_MODES:
            raise FilterError("networkd_files: shim %s has macvlan mode %r, which systemd-networkd does not "
                              'know' % (link['name'], mode))
        return ('MACVLAN', [('Mode', mode)])
    mode = link.get('mode') or 'l2'
    if mode not in IPVLAN_MODES:
        raise FilterError("networkd_files: shim %s has ipvlan mode %r; use l2 or l3" % (link['name'], mode))
    entries = [('Mode', NETWORKD_IPVLAN_MODES[mode])]
    if link.get('flag'):
        entries.append(('Flags', link['flag']))
    return ('IPVLAN', entries)


def networkd_files(plan, root='/', trunk_network=None, existing=()):
    """The systemd-networkd files for one host's plan: a sorted list of ``{path, content}``.

    ``trunk_network`` is the name of the .network file that configures the trunk on the host (its drop-in
    carries the ``VLAN=`` lines); it is needed as soon as something sits on the trunk. ``existing`` is what
    the shim role passes to host_links (the ipvlan ports already there), so that ipvlan shims are persisted
    in the mode they run in.
    """
    root = _root(root)
    vlans, shims = _links(plan, existing, 'networkd_files')
    trunk = plan['trunk']
    on = {}
    for link in vlans:
        on.setdefault(link['parent'], []).append(('VLAN', link['name']))
    for link in shims:
        on.setdefault(link['parent'], []).append(_attachment(link))
    files = []
    if on.get(trunk):
        if trunk_network is None:
            raise FilterError(
                "networkd_files: the plan puts %s on the trunk %s, but no trunk_network names the .network file "
                "that configures %s; the VLANs are attached with a drop-in of that file, so that the trunk's "
                "own configuration stays the host's (networkctl status %s shows it as 'Network File')"
                % (', '.join(entry[1] for entry in on[trunk]), trunk, trunk, trunk))
        files.append(_file(root, posixpath.join(NETWORKD_DIR, _trunk_network(trunk_network) + '.d'),
                           NETWORKD_DROPIN, [('Network', on[trunk])]))
    for link in vlans:
        name = NETWORKD_VLAN_PREFIX + link['name']
        files.append(_file(root, NETWORKD_DIR, name + '.netdev',
                           [('NetDev', [('Name', link['name']), ('Kind', 'vlan')]),
                            ('VLAN', [('Id', link['vlan_id'])])]))
        network = [('Address', address) for address in link['addresses']] + on.get(link['name'], [])
        files.append(_file(root, NETWORKD_DIR, name + '.network',
                           [('Match', [('Name', link['name'])]), ('Network', network)]))
    for link, marker in [(link, MARKERS['vlans']) for link in vlans] + [(link, MARKERS['shims']) for link in shims]:
        files.append(_file(root, NETWORKD_DIR, NETWORKD_LINK_PREFIX + link['name'] + '.link',
                           [('Match', [('OriginalName', link['name'])]),
                            ('Link', [('Alias', marker)] + list(DEFAULT_LINK_SETTINGS))]))
    for link in shims:
        name = NETWORKD_SHIM_PREFIX + link['name']
        files.append(_file(root, NETWORKD_DIR, name + '.netdev',
                           [('NetDev', [('Name', link['name']), ('Kind', link['kind'])]), _shim_netdev(link)]))
        sections = [('Match', [('Name', link['name'])]),
                    ('Network', [('Address', address) for address in link['addresses']])]
        sections.extend(('Route', [('Destination', route['dest']), ('Scope', 'global')]) for route in link['routes'])
        files.append(_file(root, NETWORKD_DIR, name + '.network', sections))
    return sorted(files, key=lambda rendered: rendered['path'])


IFUPDOWN_FILE = 'etc/network/interfaces.d/underlay'


def _ip_link_alias(link, marker):
    """The ``ip link set ... alias`` that gives a link its owner marker, as the links module does."""
    return shell_command(['ip', 'link', 'set', 'dev', link['name'], 'alias', marker])


def _ip_link_add(link):
    """The ``ip link add`` of a shim, in the mode (and ipvlan flag) the links module creates it with."""
    mode = link.get('mode') or ('bridge' if link['kind'] == 'macvlan' else 'l2')
    argv = ['ip', 'link', 'add', 'link', link['parent'], 'name', link['name'], 'type', link['kind'], 'mode', mode]
    if link['kind'] == 'ipvlan' and link.get('flag'):
        argv.append(link['flag'])
    return shell_command(argv)


def ifupdown_files(plan, root='/', existing=()):
    """The ifupdown configuration for one host's plan: one file, ``ROOT/etc/network/interfaces.d/underlay``,
    with a stanza per VLAN interface (ifupdown makes ``TRUNK.VLAN_ID`` on the trunk itself) and per shim
    (made by ``pre-up``, its routes by ``up``); ``[]`` when the plan has neither. The trunk's own stanza is
    the host's and is never written."""
    root = _root(root)
    vlans, shims = _links(plan, existing, 'ifupdown_files')
    if not vlans and not shims:
        return []
    lines = [HEADER, '# Sourced by /etc/network/interfaces (source /etc/network/interfaces.d/*).']
    for link in vlans:
        lines += ['', 'auto %s' % link['name']]
        if link['addresses']:
            lines.append('iface %s inet static' % link['name'])
            lines.extend('    address %s' % address for address in link['addresses'])
        else:
            lines.append('iface %s inet manual' % link['name'])
        # up: ifupdown makes the VLAN itself, after the pre-up lines
        lines.append('    up %s' % _ip_link_alias(link, MARKERS['vlans']))
    for link in shims:
        lines += ['', 'auto %s' % link['name'], 'iface %s inet static' % link['name'],
                  '    pre-up %s' % _ip_link_add(link), '    pre-up %s' % _ip_link_alias(link, MARKERS['shims'])]
        lines.extend('    address %s' % address for address in link['addresses'])
        # proto static, scope global: what the links module installs (ip would pick scope link).
        lines.extend('    up ' + shell_command(['ip', 'route', 'add', route['dest'], 'dev', link['name'],
                                                'proto', 'static', 'scope', 'global'])
                     for route in link['routes'])
        lines.append('    post-down ' + shell_command(['ip', 'link', 'delete', link['name']]))
    return [{'path': posixpath.join(root, IFUPDOWN_FILE), 'content': '\n'.join(lines) + '\n'}]
