# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The links module's plan: a host's whole declared underlay (namespaces and links), read and checked before
anything is changed, so that a mistake anywhere in the input changes nothing.

There is no second implementation here: every namespace is planned through ``_netns/reconcile.py`` and every
link through ``change.plan_link_change``, as the netns and single-link modules do. What this file adds is what
only a whole host has: the order between links (parents first), adopting and refusing to strip links the call
does not own, pruning by the marker (overridden) and deletion (deleted). ``host_apply.py`` carries the plan out.
"""

from __future__ import annotations

from ansible_collections.underlay.network.plugins.module_utils._common.describe import describe_route, link_id
from ansible_collections.underlay.network.plugins.module_utils._common.errors import LinkError, ValidationError
from ansible_collections.underlay.network.plugins.module_utils._common.markers import (
    MANAGED_MARKER,
    managed_by,
    owner_marker,
)
from ansible_collections.underlay.network.plugins.module_utils._common.validation import route_key, sort_addresses
from ansible_collections.underlay.network.plugins.module_utils._common.vocabulary import (
    ADD,
    DELETED,
    MERGED,
    OVERRIDDEN,
    REPLACE,
)
from ansible_collections.underlay.network.plugins.module_utils._kernel.netns import namespace_exists
from ansible_collections.underlay.network.plugins.module_utils._links.change import LinkOptions, plan_link_change
from ansible_collections.underlay.network.plugins.module_utils._links.desired import (
    check_ipvlan_ports,
    check_parent_ports,
    desired_links,
    desired_namespaces,
)
from ansible_collections.underlay.network.plugins.module_utils._links.kinds import KINDS
from ansible_collections.underlay.network.plugins.module_utils._links.parent_settings import (
    desired_parents,
    plan_parents,
)
from ansible_collections.underlay.network.plugins.module_utils._netns.reconcile import reconcile_namespace


def stacking_depths(links):
    """Each of ``links`` (desired or current states) with its depth: 0 when it is not stacked on another
    of them, else its parent's depth + 1. In the order given.

    Parents live in the task's namespace, so only links there can be parents. Links are created by
    increasing depth and deleted by decreasing depth.
    """
    parents = {link['name']: link for link in links if link['netns'] is None}
    depth = {}

    def depth_of(link, trail):
        key = (link['netns'], link['name'])
        if key not in depth:
            parent = parents.get(link.get('parent'))
            if parent is None or parent is link:
                depth[key] = 0
            elif parent['name'] in trail:
                raise ValidationError('links %s are stacked on each other in a loop; a link needs a parent '
                                      'that is not stacked on it' % ' -> '.join(trail + [parent['name']]))
            else:
                depth[key] = depth_of(parent, trail + [parent['name']]) + 1
        return depth[key]

    return [(link, depth_of(link, [link['name']])) for link in links]


def stacking_order(links):
    """``links`` with their depths, parents first; otherwise in the order given (a stable sort)."""
    return sorted(stacking_depths(links), key=lambda pair: pair[1])


class HostPlan:
    """Everything one call will do, worked out before anything is changed."""

    def __init__(self, state, marker=MANAGED_MARKER):
        self.state = state
        self.marker = marker  # what links this call creates carry, and what it prunes by
        self.namespaces = []  # (name, planned result of reconcile_namespace) for namespaces to create/update
        self.namespace_results = {}  # name -> planned result, for every declared namespace
        self.links = []  # LinkChange, in stacking order
        self.deletions = []  # (state of the link, depth), links to delete (deleted, overridden)
        self.teardown = []  # namespaces to delete (deleted)
        self.parents = []  # (name, index, before, after) of each declared parent (parent_settings.plan_parents)

    @property
    def changed(self):
        return bool(self.namespaces or self.deletions or self.teardown
                    or any(change.changed for change in self.links)
                    or any(before != after for _name, _index, before, after in self.parents))


def plan_host(sessions, config, state, options, owner=None):
    """Read the host and plan the whole call (``options``: how its links are treated, ``LinkOptions``); raises
    ValidationError or LinkError, changes nothing."""
    plan = HostPlan(state, owner_marker(owner))
    namespaces = desired_namespaces(config.get('namespaces') or [])
    links = desired_links(config.get('links') or [], state)
    parents = desired_parents(config.get('parents') or [])
    if state == DELETED:  # parents are never deleted: their settings stay as they are
        return _plan_deletion(sessions, plan, namespaces, links)
    check_ipvlan_ports(links)
    check_parent_ports(links)
    plan.parents = plan_parents(sessions, parents, {link['name'] for link in links if link['netns'] is None})
    declared_ns = _plan_namespaces(sessions, plan, namespaces, links)
    if state == OVERRIDDEN:
        _plan_pruning(sessions, plan, links, declared_ns)
    _plan_links(sessions, plan, links, options)
    return plan


def host_options(state, recreate=False, allow_port_mode_change=False, check_mode=False):
    """How the links module treats every declared link: merged adds addresses and routes, replaced and overridden
    make them exactly as declared."""
    mode = ADD if state == MERGED else REPLACE
    return LinkOptions(recreate=recreate, addresses_mode=mode, routes_mode=mode, check_mode=check_mode,
                       allow_port_mode_change=allow_port_mode_change)


def _plan_namespaces(sessions, plan, namespaces, links):
    """The declared namespaces' changes (planned through the netns module's own reconcile); their names."""
    declared_ns = {ns['name'] for ns in namespaces}
    for link in links:
        if link['netns'] is not None and link['netns'] not in declared_ns and not namespace_exists(link['netns']):
            raise ValidationError("link %s: netns '%s' does not exist and is not in config.namespaces; declare it "
                                  'there and this call creates it first' % (link['name'], link['netns']))
    for ns in namespaces:
        planned = reconcile_namespace(ns['name'], 'present', ns.get('sysctls'), check_mode=True)
        plan.namespace_results[ns['name']] = planned
        if planned['changed']:
            plan.namespaces.append((ns, planned))
    sessions.created_later.update(ns['name'] for ns in namespaces if not namespace_exists(ns['name']))
    return declared_ns


def _plan_links(sessions, plan, links, options):
    """Each declared link's change, parents first; a link the call does not own is adopted or left its addresses."""
    new_parents, rebuilt = {}, set()  # task-namespace links (re-)created by this call; links they take along
    for link, _depth in stacking_order(links):
        adopt = link.pop('adopt', False)
        link['managed_by'] = plan.marker if adopt else _existing_marker(sessions, link) or plan.marker
        try:
            change = plan_link_change(sessions, link, KINDS[link['kind']], options, new_parents=new_parents,
                                      assume_absent=link['parent'] in rebuilt)
            if change.current is not None and change.current['managed_by'] != plan.marker:
                if adopt:
                    _adopt(change, plan.marker)
                elif options.addresses_mode == REPLACE:
                    _refuse_stripping(change, plan.state, plan.marker)
        except LinkError as exc:
            raise LinkError('link %s: %s' % (link_id(link['netns'], link['name']), exc), **exc.details) from None
        if link['netns'] is None and change.plan.action in ('create', 'recreate'):
            new_parents[link['name']] = link['mtu']
            if change.plan.action == 'recreate':
                rebuilt.add(link['name'])
        plan.links.append(change)


def _adopt(change, marker):
    """adopt: true on an existing link without the call's marker: the call takes it over and marks it."""
    plan = change.plan
    if plan.action in ('none', 'update'):  # a re-created link gets the marker as it is created
        plan.changes['managed_by'] = (change.current['managed_by'], marker)
        plan.action = 'update'


def _refuse_stripping(change, state, marker):
    """replaced/overridden never remove addresses or routes from a link the call did not create (one without its
    marker: an admin's uplink VLAN carrying the management address and default route, another owner's link).
    Only ``adopt: true`` on the link lets them; the call is refused before anything is changed."""
    current, plan = change.current, change.plan
    if plan.action == 'recreate':
        target = change.recreate_target
        addresses = sort_addresses(set(current['addresses']) - set(target['addresses']))
        kept = {route_key(route) for route in target['routes']}
        routes = [route for route in current['routes'] if route_key(route) not in kept]
    else:
        addresses, routes = plan.addresses_delete, plan.routes_delete
    if not addresses and not routes:
        return  # it loses nothing: converged (addresses and routes added), and not claimed
    carries = ', '.join(['address %s' % cidr for cidr in current['addresses']]
                        + ['route %s' % describe_route(route) for route in current['routes']])
    raise LinkError(
        'it exists and was not created by this call (%s). It carries %s, and state %s would remove %s. Declare '
        'what it must keep in its addresses and routes, use state merged (which removes nothing), or set adopt: '
        'true on this link to take it over (it then gets the marker %s); nothing was changed' % (
            'it has no marker' if current['managed_by'] is None
            else "it has another owner's marker, %s" % current['managed_by'],
            carries, state, ', '.join(['address %s' % cidr for cidr in addresses]
                                      + ['route %s' % describe_route(route) for route in routes]),
            marker),
        would_remove={'addresses': list(addresses), 'routes': list(routes)})


def _existing_marker(sessions, link):
    """The marker of the declared link as it exists now, if it carries one.

    A declared link keeps the marker it has, another owner's too, also when it is re-created: the call
    converges it but does not take it over. A link without a marker gets the call's when it is created
    or re-created.
    """
    if link['netns'] is not None and not namespace_exists(link['netns']):
        return None
    msg = sessions.get(link['netns']).link_msg(ifname=link['name'])
    return managed_by(msg.get_attr('IFLA_IFALIAS')) if msg is not None else None


def _managed_links(sessions, names, marker):
    """Links in the namespaces ``names`` that carry exactly ``marker``.

    Links of other owners (``underlay.network/OWNER``) and those marked by another module on a user's
    behalf (docker_vlan_network's VLANs, ``underlay.network/docker_vlan_network``) are left alone.
    """
    found = []
    for name in names:
        session = sessions.get(name)
        for msg in session.links():
            state = sessions.link_state(session, msg, addressing=False)
            if state['managed_by'] == marker and state['kind'] in KINDS:
                found.append(state)
    return found


def _check_nothing_else_stacked(sessions, doomed):
    """Deleting a link deletes the links stacked on it: refuse when any of those is not being deleted too.

    Whatever marks those carry: another owner's links on a pruned link are as much in the way as links
    without a marker.
    """
    parents = {s['name'] for s in doomed if s['netns'] is None}
    if not parents:
        return
    doomed_keys = {(s['netns'], s['name']) for s in doomed}
    victims = ['%s (on %s)' % (link_id(s['netns'], s['name']), s['parent']) for s in sessions.children(parents)
               if (s['netns'], s['name']) not in doomed_keys]
    if victims:
        raise LinkError('removing %s would also remove the links stacked on them, which this call does not remove: '
                        '%s. Declare those parents, or remove the stacked links first; nothing was changed'
                        % (', '.join(sorted(parents)), ', '.join(sorted(victims))), stacked=sorted(victims))


def _plan_pruning(sessions, plan, links, declared_ns):
    """overridden: links with the call's marker in the task's namespace or a declared namespace, no longer declared."""
    declared = {(link['netns'], link['name']) for link in links}
    scope = [None] + sorted(name for name in declared_ns | {link['netns'] for link in links if link['netns']}
                            if namespace_exists(name))
    doomed = [s for s in _managed_links(sessions, scope, plan.marker) if (s['netns'], s['name']) not in declared]
    needed = {link['parent']: link for link in links}
    for state in doomed:
        if state['netns'] is None and state['name'] in needed:
            child = needed[state['name']]
            raise LinkError('%s is not declared, so overridden would remove it, but link %s is declared on it; '
                            'declare %s too; nothing was changed'
                            % (state['name'], link_id(child['netns'], child['name']), state['name']))
    _check_nothing_else_stacked(sessions, doomed)
    plan.deletions = stacking_depths(doomed)


def _plan_deletion(sessions, plan, namespaces, links):
    """deleted: the declared links and namespaces; with nothing declared, every link here with the call's marker."""
    teardown = [ns['name'] for ns in namespaces if namespace_exists(ns['name'])]
    if not namespaces and not links:
        doomed = _managed_links(sessions, [None], plan.marker)
        _check_nothing_else_stacked(sessions, doomed)
    else:
        doomed = []
        for link in links:
            if link['netns'] in teardown:
                continue  # goes with its namespace
            try:
                change = plan_link_change(sessions, link, KINDS[link['kind']], LinkOptions(state='absent'))
            except LinkError as exc:
                raise LinkError('link %s: %s' % (link_id(link['netns'], link['name']), exc), **exc.details) from None
            if change.current is not None:
                doomed.append(change.current)
    plan.deletions = stacking_depths(doomed)
    plan.teardown = teardown
    for name in teardown:
        plan.namespace_results[name] = reconcile_namespace(name, 'absent', check_mode=True)
    return plan
