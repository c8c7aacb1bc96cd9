# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure comparison of a link's current state with the desired one.

States are the normalized dicts produced by ``_kernel/netlink.Namespace.link_state`` (current) and
``desired.desired_link`` (desired). A desired value of ``None`` means "not declared: leave it as it is"."""

from __future__ import annotations

import ipaddress

from ansible_collections.underlay.network.plugins.module_utils._common.markers import MANAGED_MARKER
from ansible_collections.underlay.network.plugins.module_utils._common.validation import route_key, sort_addresses
from ansible_collections.underlay.network.plugins.module_utils._common.vocabulary import ADD, REPLACE

# Fields every link kind has that can be changed in place, in the order they are applied.
COMMON_IN_PLACE_FIELDS = ('mtu', 'mac_address', 'admin_state')


class LinkPlan:
    """What it takes to go from the current state to the desired one."""

    def __init__(self):
        self.action = 'none'  # none | create | update | recreate
        self.changes = {}  # field -> (before, after), for in-place changes
        self.conflicts = []  # differences the kernel cannot apply in place
        self.addresses_add = []
        self.addresses_delete = []
        self.routes_add = []
        self.routes_delete = []
        self.addresses_mode = ADD
        self.routes_mode = ADD

    @property
    def changed(self):
        return self.action != 'none'


def plan_link(current, desired, kind, addresses_mode=ADD, routes_mode=ADD):
    """Compute the ``LinkPlan`` for a link that must be present."""
    plan = LinkPlan()
    plan.addresses_mode, plan.routes_mode = addresses_mode, routes_mode
    if current is None:
        plan.action = 'create'
        plan.addresses_add = list(desired.get('addresses') or [])
        plan.routes_add = list(desired.get('routes') or [])
        return plan

    if desired.get('parent') is not None and current.get('parent') != desired['parent']:
        plan.conflicts.append("parent is '%s', wanted '%s'" % (
            current.get('parent') or 'in another namespace', desired['parent']))
    plan.conflicts.extend(kind.immutable_differences(current, desired))

    for field in COMMON_IN_PLACE_FIELDS + tuple(kind.fields):
        if desired.get(field) is None:
            continue
        want = kind.wanted(field, current.get(field), desired[field])
        if current.get(field) != want:
            plan.changes[field] = (current.get(field), want)

    if desired.get('addresses') is not None:
        have, want = set(current['addresses']), set(desired['addresses'])
        # IPv6 link-local addresses are read apart (``link_local``: the kernel makes its own on every link). One
        # declared is there when the kernel has it; one not declared is never removed, unless ``desired`` is a
        # whole state read before (putting a link back), which names the ones the link had then.
        link_local = set(current.get('link_local') or ())
        plan.addresses_add = sort_addresses(want - have - link_local)
        if addresses_mode == REPLACE:
            delete = have - want
            if desired.get('link_local') is not None:
                delete |= link_local - set(desired['link_local']) - want
            plan.addresses_delete = sort_addresses(delete)

    if desired.get('routes') is not None:
        have = {route_key(r): r for r in current['routes']}
        want = {route_key(r): r for r in desired['routes']}
        plan.routes_add = [want[k] for k in sorted(set(want) - set(have))]
        if routes_mode == REPLACE:
            plan.routes_delete = [have[k] for k in sorted(set(have) - set(want))]

    if plan.conflicts:
        plan.action = 'recreate'
    elif plan.changes or plan.addresses_add or plan.addresses_delete or plan.routes_add or plan.routes_delete:
        plan.action = 'update'
    return plan


def predict_state(current, desired, plan, kind):
    """The state the link will have once ``plan`` is applied (used in check mode and for diffs)."""
    if plan.action in ('create', 'recreate'):
        target = desired
        if plan.action == 'recreate':
            target = recreation_target(current, desired, plan.addresses_mode, plan.routes_mode, kind)
        state = {'name': target['name'], 'kind': kind.kind, 'netns': target.get('netns'),
                 'parent': target.get('parent'), 'managed_by': target.get('managed_by') or MANAGED_MARKER}
        for field in COMMON_IN_PLACE_FIELDS + tuple(kind.fields):
            if target.get(field) is not None:
                state[field] = target[field]
        state['addresses'] = reported_addresses(target.get('addresses') or ())
        state['routes'] = sorted(target.get('routes') or (), key=route_key)
        return state
    state = {k: v for k, v in current.items() if k != 'index'}
    for field, (_before, after) in plan.changes.items():
        state[field] = after
    state['addresses'] = reported_addresses((set(current['addresses']) | set(plan.addresses_add))
                                            - set(plan.addresses_delete))
    deleted = {route_key(r) for r in plan.routes_delete}
    routes = {route_key(r): r for r in current['routes'] if route_key(r) not in deleted}
    routes.update({route_key(r): r for r in plan.routes_add})
    state['routes'] = [routes[k] for k in sorted(routes)]
    return state


def recreation_target(current, desired, addresses_mode=ADD, routes_mode=ADD, kind=None):
    """The desired state completed with what the old link had and the user did not declare.

    A re-created link keeps the old MAC, MTU, admin state and kind-specific
    settings (VLAN flags, QoS maps, source MACs) unless declared otherwise,
    and in ``add`` mode also the addresses and routes that were there:
    re-creation must not lose more than the user asked to change.
    """
    target = dict(desired)
    for field in tuple(kind.fields) if kind is not None else ():
        if target.get(field) is None and current.get(field) is not None:
            target[field] = current[field]  # e.g. VLAN flags and QoS maps set by an earlier task
    for field in COMMON_IN_PLACE_FIELDS:
        if field == 'mac_address' and kind is not None and not kind.keeps_mac(target):
            continue
        if target.get(field) is None:
            target[field] = current.get(field)
    if addresses_mode == ADD or target.get('addresses') is None:
        target['addresses'] = sort_addresses(set(current['addresses']) | set(target.get('addresses') or ()))
    if routes_mode == ADD or target.get('routes') is None:
        routes = {route_key(r): r for r in current['routes']}
        routes.update({route_key(r): r for r in target.get('routes') or ()})
        target['routes'] = [routes[k] for k in sorted(routes)]
    return target


def is_link_local(cidr):
    """Whether ``cidr`` is an IPv6 link-local address (fe80::/10)."""
    iface = ipaddress.ip_interface(cidr)
    return iface.version == 6 and iface.ip.is_link_local


def reported_addresses(addresses):
    """Addresses as the modules report a link's (as ``Namespace.addresses`` reads them): IPv6 link-local left out."""
    return sort_addresses(cidr for cidr in set(addresses) if not is_link_local(cidr))


def public_state(state):
    """A link state as modules return it (without the kernel's ifindex and the link-local addresses read apart)."""
    if state is None:
        return {}
    return {k: v for k, v in state.items() if k not in ('index', 'link_local')}
