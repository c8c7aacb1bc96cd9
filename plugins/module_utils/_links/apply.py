# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Carrying out one link's planned change (``change.LinkChange``) through the netlink core, step by step, in an
order the kernel accepts; every step taken is recorded. A refused in-place change is undone, a refused
re-creation brings the old link back, a refused creation removes the half-made link."""

from __future__ import annotations

import errno

from ansible_collections.underlay.network.plugins.module_utils._common.describe import describe_netns, describe_route
from ansible_collections.underlay.network.plugins.module_utils._common.errors import LinkError, NetlinkOperationError
from ansible_collections.underlay.network.plugins.module_utils._common.markers import MANAGED_MARKER
from ansible_collections.underlay.network.plugins.module_utils._common.validation import sort_addresses
from ansible_collections.underlay.network.plugins.module_utils._common.vocabulary import REPLACE
from ansible_collections.underlay.network.plugins.module_utils._links.diff import plan_link
from ansible_collections.underlay.network.plugins.module_utils._links.parent import port_conflict


class LinkApplier:
    """Applies a plan through the netlink core and records every step it took."""

    def __init__(self, sessions, kind):
        self.sessions = sessions
        self.kind = kind
        self.actions = []

    def _do(self, session, action, method, *args, **kwargs):
        outcome = getattr(session, method)(*args, **kwargs)
        self.actions.append(action)
        return outcome

    def create(self, target, parent_index, index=None):
        """Create the link in its namespace (``Namespace.create_link`` picks the way), then converge it.

        A failure while converging removes the new link again. ``index``: the ifindex wanted, and
        ``target['alias']`` the alias (by default the marker): a deleted link brought back as it was.
        """
        task, where = self.sessions.task, self.sessions.get(target['netns'])
        name = target['name']
        admin_state = target.get('admin_state')
        if index is None:
            index = self.kind.new_index(task, where)
        try:
            index, created_up = self._do(
                task, 'create %s %s in %s' % (self.kind.kind, name, describe_netns(target['netns'])),
                'create_link', name, self.kind.encode(target), parent_index=parent_index, mtu=target.get('mtu'),
                mac_address=target.get('mac_address'), target=where if target['netns'] is not None else None,
                move_after_create=self.kind.move_after_create, up=admin_state == 'up', index=index)
        except NetlinkOperationError as exc:
            conflict = port_conflict(self.sessions, target, self.kind) if exc.code == errno.EBUSY and self.kind.port \
                else None
            if conflict is not None:  # the refusal check_stacking leaves to the kernel, explained
                raise conflict from exc
            raise
        if created_up:
            self.actions.append('set admin_state up')
            admin_state = None
        if index is None:
            index = where.lookup_index(name)
        alias = target['alias'] if 'alias' in target else target.get('managed_by') or MANAGED_MARKER
        try:
            if alias:
                where.set_link(index, 'mark %s as created by this collection' % name, ifalias=alias)
            self.converge(where, index, addresses_add=target.get('addresses') or (), routes_add=target.get('routes')
                          or (), admin_state=admin_state)
            self.set_outside(where, index, {field: self.kind.wanted(field, None, target.get(field) or {})
                                            for field in self.kind.outside_fields})
        except NetlinkOperationError as exc:
            raise LinkError('%s; %s' % (exc, where.remove_half_made(index, name))) from exc

    def converge(self, where, index, addresses_add=(), addresses_delete=(), routes_add=(), routes_delete=(),
                 admin_state=None, link_changes=None, addresses_want=None):
        """Apply in-place changes in an order the kernel accepts.

        Routes go first (deleting an address can take its routes with it) and
        come back last (a route needs the link up and its gateway on-link).
        """
        for route in routes_delete:
            self._do(where, 'delete route %s' % describe_route(route), 'delete_route', index, route)
        if admin_state == 'down':
            self._do(where, 'set admin_state down', 'set_link', index, 'set link down', state='down')
        for request, action in link_changes or ():
            self._do(where, action, 'set_link', index, action, **request)
        for cidr in addresses_delete:
            self._do(where, 'delete address %s' % cidr, 'delete_address', index, cidr)
        if addresses_delete and addresses_want is not None:
            # Deleting a primary IPv4 address takes its subnet's secondaries with it: add back what went.
            addresses_add = sort_addresses(set(addresses_want) - set(where.addresses(index))
                                           - set(where.link_local_addresses(index)))
        for cidr in addresses_add:
            self._do(where, 'add address %s' % cidr, 'add_address', index, cidr)
        if admin_state == 'up':
            self._do(where, 'set admin_state up', 'set_link', index, 'set link up', state='up')
        # On-link routes first: an IPv6 gateway may be on-link through one of them.
        for route in sorted(routes_add, key=lambda route: bool(route['gateway'])):
            self._do(where, 'add route %s' % describe_route(route), 'add_route', index, route)

    def update(self, current, desired, plan):
        link_changes = []
        kind_fields = [f for f in self.kind.fields if f in plan.changes and f not in self.kind.outside_fields]
        if kind_fields:
            merged = dict(current, **{f: plan.changes[f][1] for f in kind_fields})
            link_changes.append((self.kind.encode(merged), 'set %s' % ', '.join(
                '%s %s' % (f, plan.changes[f][1]) for f in kind_fields)))
        if 'mtu' in plan.changes:
            link_changes.append(({'mtu': desired['mtu']}, 'set mtu %d' % desired['mtu']))
        if 'mac_address' in plan.changes:
            link_changes.append(({'address': desired['mac_address']}, 'set mac_address %s' % desired['mac_address']))
        self.converge(self.sessions.get(desired['netns']), current['index'],
                      addresses_add=plan.addresses_add, addresses_delete=plan.addresses_delete,
                      routes_add=plan.routes_add, routes_delete=plan.routes_delete,
                      admin_state=plan.changes.get('admin_state', (None, None))[1], link_changes=link_changes,
                      addresses_want=desired['addresses'])
        self.set_outside(self.sessions.get(desired['netns']), current['index'],
                         {f: plan.changes[f][1] for f in self.kind.outside_fields if f in plan.changes})
        if 'managed_by' in plan.changes:  # an adopted link (the links module's adopt): marked once converged
            where, marker = self.sessions.get(desired['netns']), plan.changes['managed_by'][1]
            self._do(where, 'adopt: mark it %s' % marker, 'set_link', current['index'],
                     'mark %s as adopted' % desired['name'], ifalias=marker)

    def set_outside(self, where, index, values):
        """Set the kind's fields that live outside netlink (a macvtap's device node), once the link is converged."""
        for field, value in values.items():
            self.actions.append(self.kind.apply_outside(where.name, index, field, value))

    def delete(self, current):
        where = self.sessions.get(current['netns'])
        remove_outside = self.kind.before_delete(current['netns'], current)
        self._do(where, 'delete %s %s in %s' % (current['kind'], current['name'], describe_netns(current['netns'])),
                 'delete_link', current['index'], 'delete link %s' % current['name'])
        if remove_outside is not None:
            self.actions.extend(remove_outside())

    def restore(self, before):
        """Bring an existing link back to ``before`` (its state when read) after an in-place change failed half-way:
        what was added goes, what was deleted or set comes back, in ``converge``'s order (which the kernel accepts)."""
        where = self.sessions.get(before['netns'])
        where.invalidate()
        msg = where.link_msg(index=before['index'])
        if msg is None or msg.get_attr('IFLA_IFNAME') != before['name']:
            raise NetlinkOperationError('%s is gone from %s' % (before['name'], describe_netns(before['netns'])))
        now = self.sessions.link_state(where, msg)
        now['link_local'] = where.link_local_addresses(before['index'])
        back = dict(before, **self.kind.restoring(now, before))
        self.update(now, back, plan_link(now, back, self.kind, REPLACE, REPLACE))


def apply_link_change(sessions, change):
    """Carry out a planned change; returns the actions taken (LinkError names those taken before a failure)."""
    applier = LinkApplier(sessions, change.kind)
    parent_index = change.parent_index
    if parent_index is None and change.state != 'absent':  # a parent made earlier in the same call
        parent_index = sessions.task.lookup_index(change.desired['parent'])
    if change.state == 'absent':
        _apply(applier, applier.delete, change.current)
    elif change.plan.action == 'create':
        _apply(applier, applier.create, change.desired, parent_index)
    elif change.plan.action == 'recreate':
        _recreate(applier, change, parent_index)
    else:
        _update_or_put_back(applier, change)
    return applier.actions


def _update_or_put_back(applier, change):
    """An in-place change; if the kernel refuses a step half-way, the steps taken are undone (``restore``)."""
    name = change.current['name']
    try:
        applier.update(change.current, change.desired, change.plan)
    except NetlinkOperationError as exc:
        done, undo = list(applier.actions), LinkApplier(applier.sessions, applier.kind)
        try:
            undo.restore(change.current)
        except NetlinkOperationError as undo_exc:
            raise LinkError('%s; putting %s back failed too (%s), so it keeps: %s' % (
                exc, name, undo_exc, ', '.join(done + ['undo: %s' % action for action in undo.actions])),
                actions=done + ['undo: %s' % action for action in undo.actions]) from exc
        raise LinkError('%s; %s was put back as it was (undone: %s)' % (exc, name, ', '.join(done) or 'nothing'),
                        actions=[], undone=done) from exc


def _recreate(applier, change, parent_index):
    """Delete, then create anew. What the kernel would refuse was checked before (``kind.creatable``); if it still
    refuses the new link, the old one is created again as it was: settings, MAC, ifindex, addresses and routes."""
    old, where, task = change.current, applier.sessions.get(change.current['netns']), applier.sessions.task
    msg = where.link_msg(index=old['index'])
    old = dict(old, alias=msg.get_attr('IFLA_IFALIAS') if msg is not None else old['managed_by'])
    if not applier.kind.keeps_mac(old):
        old['mac_address'] = None
    old_parent = task.lookup_index(old['parent']) if old['parent'] else None
    _apply(applier, applier.delete, change.current)
    try:
        _apply(applier, applier.create, change.recreate_target, parent_index)
    except LinkError as exc:
        if old_parent is None:
            raise LinkError("%s; the old %s cannot be created again (its parent is not in the task's namespace): it "
                            'is gone' % (exc, old['name']), **exc.details) from exc
        again = LinkApplier(applier.sessions, applier.kind)
        try:
            again.create(old, old_parent, index=old['index'])
        except (NetlinkOperationError, LinkError) as again_exc:
            raise LinkError('%s; creating the old %s again failed too (%s): it is gone'
                            % (exc, old['name'], again_exc), **exc.details) from exc
        same = where.lookup_index(old['name']) == old['index']
        raise LinkError('%s; the old %s was re-created as it was%s' % (
            exc, old['name'], '' if same else ' (under a new ifindex: its own was taken meanwhile)'),
            actions=[], undone=exc.details.get('actions', [])) from exc


def _apply(applier, step, *args):
    try:
        step(*args)
    except NetlinkOperationError as exc:
        raise LinkError('%s (applied before the failure: %s)' % (exc, ', '.join(applier.actions) or 'nothing'),
                        actions=applier.actions) from exc
    except LinkError as exc:
        exc.details.setdefault('actions', applier.actions)
        raise
