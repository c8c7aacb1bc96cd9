# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The desired state of links and namespaces, from what the user wrote: validated and normalized, no I/O.

A desired link is the dict the diff compares with a link read from the kernel (``diff.py``); a value of None
means "not declared: leave it as it is".
"""

from __future__ import annotations

from ansible_collections.underlay.network.plugins.module_utils._common.describe import describe_netns, link_id
from ansible_collections.underlay.network.plugins.module_utils._common.errors import ValidationError
from ansible_collections.underlay.network.plugins.module_utils._common.validation import (
    normalize_addresses,
    normalize_mac,
    normalize_routes,
    validate_ifname,
    validate_mtu,
    validate_netns_name,
)
from ansible_collections.underlay.network.plugins.module_utils._common.vocabulary import DELETED, OVERRIDDEN, REPLACED
from ansible_collections.underlay.network.plugins.module_utils._links.kinds import KINDS
from ansible_collections.underlay.network.plugins.module_utils._links.spec import KIND_OPTIONS


def desired_link(params, kind, present=True):
    """Validate one link's parameters (a module's, or an entry of config.links) and return its normalized desired
    state; for a link to remove (not ``present``) only what names it is checked."""
    name = validate_ifname(params['name'], 'name') if params.get('name') else kind.default_name(params)
    if not name:  # the kernel would answer an empty name with a bare EINVAL
        raise ValidationError('name must not be empty; give the name of the link')
    desired = {
        'name': name,
        'kind': kind.kind,
        'netns': validate_netns_name(params['netns'], 'netns') if params.get('netns') else None,
        'parent': validate_ifname(params['parent'], 'parent') if params.get('parent') else None,
        'admin_state': params.get('admin_state') or 'up',
        'mtu': validate_mtu(params.get('mtu')),
        'mac_address': normalize_mac(params['mac_address']) if params.get('mac_address') else None,
        'addresses': normalize_addresses(params['addresses']) if params.get('addresses') is not None else None,
        'routes': normalize_routes(params['routes']) if params.get('routes') is not None else None,
    }
    if not present:
        return desired
    if desired['netns'] is None and desired['parent'] == name:
        raise ValidationError("parent '%s' is the link itself; name the physical (or VLAN) interface "
                              'the link is stacked on' % name)
    if desired['routes'] and desired['admin_state'] == 'down':
        raise ValidationError('routes need the link up; set admin_state: up or drop routes')
    desired.update(kind.normalize(params))
    return desired


def desired_links(entries, state):
    """Validate config.links and return the normalized desired links in the order given."""
    result, seen = [], {}
    for position, entry in enumerate(entries):
        label = 'config.links[%d]%s' % (position, " (%s)" % entry['name'] if entry.get('name') else '')
        kind = KINDS[entry['kind']]
        foreign = sorted(option for option, kinds in KIND_OPTIONS.items()
                         if entry.get(option) is not None and entry['kind'] not in kinds)
        if foreign:
            raise ValidationError('%s: %s' % (label, '; '.join(
                '%s applies to kind %s only' % (option, _and(KIND_OPTIONS[option])) for option in foreign))
                + ', not to %s: remove it or fix kind' % entry['kind'])
        if state != DELETED and not entry.get('parent'):
            raise ValidationError('%s: parent is required (the interface the %s link is stacked on)'
                                  % (label, entry['kind']))
        params = dict(entry)
        params.pop('adopt', None)
        if state in (REPLACED, OVERRIDDEN):  # exactly as declared: nothing declared is nothing wanted
            params['addresses'] = params.get('addresses') or []
            params['routes'] = params.get('routes') or []
        try:
            desired = desired_link(params, kind, present=state != DELETED)
        except ValidationError as exc:
            raise ValidationError('%s: %s' % (label, exc)) from None
        key = (desired['netns'], desired['name'])
        if key in seen:
            raise ValidationError('%s and %s both declare %s in %s; declare each link once'
                                  % (seen[key], label, desired['name'], describe_netns(desired['netns'])))
        seen[key] = label
        if state != DELETED:
            desired['adopt'] = bool(entry.get('adopt'))  # plan_host takes it out again
        result.append(desired)
    return result


def _and(words):
    return ' and '.join(words) if len(words) < 3 else '%s and %s' % (', '.join(words[:-1]), words[-1])


def check_ipvlan_ports(links):
    """Every ipvlan declared on one parent must have the same mode and flag: the kernel keeps one per parent."""
    ports = {}
    for link in links:
        if link['kind'] != 'ipvlan':
            continue
        first = ports.setdefault(link['parent'], link)
        if (first['mode'], first['flag']) != (link['mode'], link['flag']):
            raise ValidationError(
                'ipvlan links %s (%s, %s) and %s (%s, %s) share parent %s, whose port has one mode and flag '
                'for all its links; declare them alike' % (
                    link_id(first['netns'], first['name']), first['mode'], first['flag'],
                    link_id(link['netns'], link['name']), link['mode'], link['flag'], link['parent']))


def check_parent_ports(links):
    """Links declared on one parent must be of one port kind, macvlan (with macvtap) or ipvlan: the kernel refuses
    the other kind on a parent that has one."""
    ports = {}
    for link in links:
        port = KINDS[link['kind']].port
        if port is None:
            continue
        first = ports.setdefault(link['parent'], link)
        if KINDS[first['kind']].port != port:
            raise ValidationError(
                '%s (%s) and %s (%s) share parent %s, and the kernel allows links of one port kind per parent, '
                'macvlan (with macvtap) or ipvlan; put them on different parents' % (
                    link_id(first['netns'], first['name']), first['kind'], link_id(link['netns'], link['name']),
                    link['kind'], link['parent']))


def desired_namespaces(entries):
    names = {}
    for position, entry in enumerate(entries):
        try:
            name = validate_netns_name(entry['name'], 'name')
        except ValidationError as exc:
            raise ValidationError('config.namespaces[%d]: %s' % (position, exc)) from None
        if name in names:
            raise ValidationError('config.namespaces[%d] and [%d] both declare %s; declare each namespace once'
                                  % (names[name], position, name))
        names[name] = position
    return [dict(entry, name=entry['name'].strip()) for entry in entries]
