# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One link's change, planned before anything is touched: read it, compare, check it against the kernel's rules.

``LinkOptions`` is how a call treats its links; it travels as one value from a module's ``main()`` (or the links
module's plan) to ``plan_link_change`` and the kind's checks. ``apply.py`` carries a planned change out.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from ansible_collections.underlay.network.plugins.module_utils._common.describe import describe_netns, describe_route
from ansible_collections.underlay.network.plugins.module_utils._common.errors import LinkError
from ansible_collections.underlay.network.plugins.module_utils._common.vocabulary import ADD
from ansible_collections.underlay.network.plugins.module_utils._kernel.netns import namespace_exists
from ansible_collections.underlay.network.plugins.module_utils._links.diff import (
    plan_link,
    predict_state,
    public_state,
    recreation_target,
)
from ansible_collections.underlay.network.plugins.module_utils._links.parent import check_parent, check_stacking


@dataclass(frozen=True)
class LinkOptions:
    """How a call treats its links, besides what each link declares (the single-link modules' options of the same
    names; the links module sets them for every link from its state and its own options)."""

    state: str = 'present'
    recreate: bool = False
    addresses_mode: str = ADD
    routes_mode: str = ADD
    check_mode: bool = False
    allow_port_mode_change: bool = False

    @classmethod
    def from_module(cls, module):
        """A single-link module's options (ipvlan_link alone has allow_port_mode_change)."""
        params = module.params
        return cls(state=params['state'], recreate=params['recreate'], addresses_mode=params['addresses_mode'],
                   routes_mode=params['routes_mode'], check_mode=module.check_mode,
                   allow_port_mode_change=bool(params.get('allow_port_mode_change')))


class LinkChange:
    """One link's way from its current state to the desired one, worked out before anything is touched.

    ``plan_link_change`` makes it (reading and checking everything), ``apply_link_change`` carries it
    out. ``single.reconcile_link`` does both for one link; the links module plans every link first and
    applies them afterwards, so that a mistake anywhere in its input changes nothing.
    """

    def __init__(self, desired, kind, state, current, plan=None, parent_index=None, recreate_target=None):
        self.desired, self.kind, self.state, self.current = desired, kind, state, current
        self.plan, self.parent_index, self.recreate_target = plan, parent_index, recreate_target

    @property
    def changed(self):
        if self.state == 'absent':
            return self.current is not None
        return self.plan.changed

    @property
    def before(self):
        return public_state(self.current)

    @property
    def predicted(self):
        if self.state == 'absent':
            return {}
        return public_state(predict_state(self.current, self.desired, self.plan, self.kind))


def read_current(sessions, desired, kind):
    """The link's current state, or None; a namespace this call is about to create holds nothing yet."""
    if desired['netns'] is not None and desired['netns'] in sessions.created_later \
            and not namespace_exists(desired['netns']):
        return None
    session = sessions.get(desired['netns'])
    current = sessions.read_link(desired['netns'], desired['name'])
    if current is not None and current['kind'] != kind.kind:
        raise LinkError("%s exists in %s and is a %s, not a %s; choose another name or remove that link first"
                        % (desired['name'], describe_netns(desired['netns']), current['kind'], kind.kind))
    if current is not None:  # compared with declared ones, never reported (diff.public_state)
        current['link_local'] = session.link_local_addresses(current['index'])
    return current


def plan_link_change(sessions, desired, kind, options, new_parents=None, assume_absent=False):
    """Read the link and check the change against the kernel's rules; raises LinkError, changes nothing.

    For the links module: ``new_parents`` maps the names of task-namespace links that the same call
    (re-)creates before this one to their MTU (None: unknown yet); a link stacked on one of them
    finds its parent when it is applied. ``assume_absent`` plans a link whose parent is re-created
    first, which takes the link with it.
    """
    if options.state == 'absent':
        if desired['netns'] is not None and not namespace_exists(desired['netns']):
            return LinkChange(desired, kind, 'absent', None)  # no namespace, no link: already absent
        return LinkChange(desired, kind, 'absent', read_current(sessions, desired, kind))
    current = None if assume_absent else read_current(sessions, desired, kind)
    parent_index = check_parent(sessions, desired, kind, new_parents or {})
    plan = plan_link(current, desired, kind, options.addresses_mode, options.routes_mode)
    if plan.action in ('create', 'recreate'):
        check_stacking(sessions, desired, kind, new_parents or {}, plan.action)
    if plan.changed:
        kind.preflight(sessions, desired, options)
    if plan.conflicts and not options.recreate:
        raise LinkError('%s cannot be changed in place: %s. Set recreate: true to delete it and create it anew '
                        '(its addresses and routes are re-applied); nothing was changed'
                        % (desired['name'], '; '.join(plan.conflicts)), conflicts=plan.conflicts)
    target = None
    if plan.action == 'recreate':
        target = recreation_target(current, desired, options.addresses_mode, options.routes_mode, kind)
        kind.creatable(sessions, target)  # before the old link is deleted for it
    change = LinkChange(desired, kind, 'present', current, plan, parent_index, target)
    if plan.changed:
        check_gateways(sessions, change)
    return change


def check_gateways(sessions, change):
    """Refuse, before any change, a route the kernel would refuse as unreachable (ENETUNREACH). Its gateway must be
    on-link through the link: in the prefix of an address the link will have, or of a route through it without a
    gateway (for IPv4 one of link scope, as connected routes are); an IPv6 link-local gateway always is."""
    plan, current = change.plan, change.current
    state = change.recreate_target or (change.desired if plan.action == 'create' else None)
    in_place = state is None
    if in_place:  # only the routes added, next to what the link has and will have
        state = predict_state(current, change.desired, plan, change.kind)
    routes = [route for route in (plan.routes_add if in_place else state.get('routes') or ()) if route['gateway']]
    if not routes:
        return
    prefixes = sessions.get(current['netns']).onlink_prefixes(current['index']) if in_place else []
    prefixes += [ipaddress.ip_interface(cidr).network for cidr in state.get('addresses') or ()]
    prefixes += [network for network in (ipaddress.ip_network(route['dest']) for route in state.get('routes') or ()
                                         if not route['gateway']) if network.version == 6]
    for route in routes:
        gateway = ipaddress.ip_address(route['gateway'])
        if gateway.version == 6 and gateway.is_link_local \
                or any(gateway in network for network in prefixes if network.version == gateway.version):
            continue
        raise LinkError('route %s: gateway %s is not on-link through %s (no address it will have, nor a route '
                        'through it without a gateway, covers it), so the kernel would refuse the route (Network is '
                        "unreachable); add an address in the gateway's subnet or fix the gateway; nothing was changed"
                        % (describe_route(route), gateway, state['name']), actions=[])
