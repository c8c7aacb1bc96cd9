# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read -> diff -> apply -> report for one link, shared by every link module.

``macvlan_link`` (and the later ``ipvlan_link``, ``vlan_iface`` and the
aggregate module) are thin front ends: they declare their kind-specific
options and call ``run_link_module``; the aggregate calls ``reconcile_link``
directly with sessions it keeps open across links.
"""

from __future__ import annotations

import ipaddress
import itertools
import os

from ansible_collections.underlay.network.plugins.module_utils.link_diff import (
    ADD,
    MANAGED_MARKER,
    REPLACE,
    plan_link,
    predict_state,
    public_state,
    recreation_target,
)
from ansible_collections.underlay.network.plugins.module_utils.link_kinds import KINDS, LinkError
from ansible_collections.underlay.network.plugins.module_utils.netlink import (
    Namespace,
    NetlinkOperationError,
    describe_netns,
    describe_route,
    require_pyroute2,
)
from ansible_collections.underlay.network.plugins.module_utils.netns import (
    PROCESS_GONE,
    list_namespaces,
    namespace_exists,
    namespace_path,
    unnamed_namespaces,
)
from ansible_collections.underlay.network.plugins.module_utils.validation import (
    ValidationError,
    normalize_addresses,
    normalize_mac,
    normalize_routes,
    sort_addresses,
    validate_ifname,
    validate_mtu,
    validate_netns_name,
)

# The options every link module shares (documented in doc_fragments/link.py).
LINK_ARGUMENT_SPEC = dict(
    name=dict(type='str', required=True),
    parent=dict(type='str'),
    netns=dict(type='str'),
    state=dict(type='str', default='present', choices=['present', 'absent']),
    admin_state=dict(type='str', default='up', choices=['up', 'down']),
    mtu=dict(type='int'),
    addresses=dict(type='list', elements='str'),
    addresses_mode=dict(type='str', default=ADD, choices=[ADD, REPLACE]),
    routes=dict(type='list', elements='dict', options=dict(
        dest=dict(type='str', required=True),
        gateway=dict(type='str'),
        metric=dict(type='int'),
    )),
    routes_mode=dict(type='str', default=ADD, choices=[ADD, REPLACE]),
    recreate=dict(type='bool', default=False),
)
LINK_REQUIRED_IF = [('state', 'present', ('parent',))]


def desired_link(params, kind):
    """Validate the module parameters and return the normalized desired state."""
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
    if params.get('state', 'present') == 'absent':
        return desired
    if desired['netns'] is None and desired['parent'] == name:
        raise ValidationError("parent '%s' is the link itself; name the physical (or VLAN) interface "
                              'the link is stacked on' % name)
    if desired['routes'] and desired['admin_state'] == 'down':
        raise ValidationError('routes need the link up; set admin_state: up or drop routes')
    desired.update(kind.normalize(params))
    return desired


class Sessions:
    """Netlink sessions by namespace name (``None``: the task's namespace), opened once."""

    def __init__(self, created_later=(), whole=False):
        self._open = {}
        self.whole = whole  # read whole namespaces (the aggregate) rather than one link at a time
        # Namespaces the caller creates after planning: links planned in them start from nothing.
        self.created_later = set(created_later)

    def get(self, name=None):
        if name not in self._open:
            if name is not None and not namespace_exists(name):
                raise LinkError("netns '%s' does not exist; this module never creates namespaces: "
                                'add an underlay.network.netns task (state: present) before it' % name)
            self._open[name] = Namespace(name, whole=self.whole)
        return self._open[name]

    @property
    def task(self):
        return self.get(None)

    def namespaces(self):
        """The task's namespace (None) and every named one that is not the task's own under another name."""
        own = os.stat('/proc/self/ns/net')
        names = [None]
        for name in list_namespaces():
            try:
                found = os.stat(namespace_path(name))
            except OSError as exc:
                if exc.errno in PROCESS_GONE:
                    continue  # removed meanwhile
                raise
            if (found.st_dev, found.st_ino) != (own.st_dev, own.st_ino):
                names.append(name)
        return names

    @staticmethod
    def unnamed():
        """Sessions in the namespaces without a name that processes are in (a Docker container's), read only,
        one at a time: each is closed before the next opens (hundreds of containers would exhaust the
        descriptors). Only a process gone meanwhile is skipped; a namespace that cannot be read fails."""
        try:
            found = unnamed_namespaces()
        except OSError as exc:
            raise _unreadable('the network namespaces of processes', exc) from None
        for path, label in found:
            try:
                session = Namespace(label, whole=True, path=path)
            except OSError as exc:
                if exc.errno in PROCESS_GONE:
                    continue  # the process has gone meanwhile, and its namespace with it
                raise _unreadable(label, exc) from None
            try:
                yield session
            finally:
                session.close()

    def children(self, parents, kind=None):
        """Every link (of ``kind``, or of any kind) stacked on ``parents`` (a name or several, links of the
        task's namespace), wherever it lives: named namespaces, and those without a name that processes
        are in (a container's macvlan on a VLAN, an ipvlan of the port)."""
        parents = {parents} if isinstance(parents, str) else set(parents)
        found = []
        for session in itertools.chain([self.get(name) for name in self.namespaces()], self.unnamed()):
            for msg in session.links():
                info = msg.get_attr('IFLA_LINKINFO')
                if kind is not None and (info is None or info.get_attr('IFLA_INFO_KIND') != kind):
                    continue
                # Kind, mode and parent are all that is asked for: no address or route dumps per link.
                state = session.link_state(msg, self.task, KINDS, addressing=False)
                if state['parent'] in parents:
                    found.append(state)
        return found

    def invalidate(self):
        """Forget every cached dump (after a change, which may touch other namespaces' links too)."""
        for session in self._open.values():
            session.invalidate()

    def close(self):
        for session in self._open.values():
            session.close()
        self._open.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _unreadable(what, exc):
    return LinkError("cannot read %s (%s): links stacked on this host's links may live there, so the guards "
                     'cannot pass without them; nothing was changed' % (what, exc.strerror or exc))


def read_virtual_links(sessions, namespaces=(), managed_only=False, kinds=(), devices=False):
    """Every virtual link (one with a kind) of the task's namespace and of ``namespaces`` (``['all']``: every
    named one), normalized as the link modules report them; the links_info module. ``devices``: physical
    devices (kind ``device``, ``lo`` left out) too."""
    if list(namespaces) == ['all']:
        names = sessions.namespaces()
    else:
        names = [None]
        for name in namespaces:
            validate_netns_name(name, 'namespaces')
            if not namespace_exists(name):
                raise LinkError("namespaces: netns '%s' does not exist (ip netns list shows those that do); "
                                "remove it or use 'all'" % name)
            names.append(name)
    found = []
    for name in names:
        session = sessions.get(name)
        for msg in session.links():
            # Filter before reading addresses and routes: a namespace without a wanted link costs no dump of them.
            state = session.link_state(msg, sessions.task, KINDS, addressing=False)
            if (state['kind'] == 'device' and (not devices or state['name'] == 'lo')) \
                    or (managed_only and not state['managed_by']) or (kinds and state['kind'] not in kinds):
                continue
            state.update(addresses=session.addresses(msg['index']), routes=session.routes(msg['index']))
            found.append(public_state(state))
    return sorted(found, key=lambda link: (link['netns'] is not None, link['netns'] or '', link['name']))


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
        index, created_up = self._do(
            task, 'create %s %s in %s' % (self.kind.kind, name, describe_netns(target['netns'])),
            'create_link', name, self.kind.encode(target), parent_index=parent_index, mtu=target.get('mtu'),
            mac_address=target.get('mac_address'), target=where if target['netns'] is not None else None,
            move_after_create=self.kind.move_after_create, up=admin_state == 'up', index=index)
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
        kind_fields = [f for f in self.kind.fields if f in plan.changes]
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
        if 'managed_by' in plan.changes:  # an adopted link (the links module's adopt): marked once converged
            where, marker = self.sessions.get(desired['netns']), plan.changes['managed_by'][1]
            self._do(where, 'adopt: mark it %s' % marker, 'set_link', current['index'],
                     'mark %s as adopted' % desired['name'], ifalias=marker)

    def delete(self, current):
        where = self.sessions.get(current['netns'])
        self._do(where, 'delete %s %s in %s' % (current['kind'], current['name'], describe_netns(current['netns'])),
                 'delete_link', current['index'], 'delete link %s' % current['name'])

    def restore(self, before):
        """Bring an existing link back to ``before`` (its state when read) after an in-place change failed half-way:
        what was added goes, what was deleted or set comes back, in ``converge``'s order (which the kernel accepts)."""
        where = self.sessions.get(before['netns'])
        where.invalidate()
        msg = where.link_msg(index=before['index'])
        if msg is None or msg.get_attr('IFLA_IFNAME') != before['name']:
            raise NetlinkOperationError('%s is gone from %s' % (before['name'], describe_netns(before['netns'])))
        now = where.link_state(msg, self.sessions.task, KINDS)
        now['link_local'] = where.link_local_addresses(before['index'])
        back = dict(before, **self.kind.restoring(now, before))
        self.update(now, back, plan_link(now, back, self.kind, REPLACE, REPLACE))


class LinkChange:
    """One link's way from its current state to the desired one, worked out before anything is touched.

    ``plan_link_change`` makes it (reading and checking everything), ``apply_link_change`` carries it
    out. ``reconcile_link`` does both for one link; the aggregate module plans every link first and
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
    current = session.read_link(desired['name'], sessions.task, KINDS)
    if current is not None and current['kind'] != kind.kind:
        raise LinkError("%s exists in %s and is a %s, not a %s; choose another name or remove that link first"
                        % (desired['name'], describe_netns(desired['netns']), current['kind'], kind.kind))
    if current is not None:  # compared with declared ones, never reported (link_diff.public_state)
        current['link_local'] = session.link_local_addresses(current['index'])
    return current


def plan_link_change(sessions, desired, kind, state='present', recreate=False, addresses_mode=ADD, routes_mode=ADD,
                     check_mode=False, params=None, new_parents=None, assume_absent=False):
    """Read the link and check the change against the kernel's rules; raises LinkError, changes nothing.

    For the aggregate: ``new_parents`` maps the names of task-namespace links that the same call
    (re-)creates before this one to their MTU (None: unknown yet); a link stacked on one of them
    finds its parent when it is applied. ``assume_absent`` plans a link whose parent is re-created
    first, which takes the link with it.
    """
    if state == 'absent':
        if desired['netns'] is not None and not namespace_exists(desired['netns']):
            return LinkChange(desired, kind, state, None)  # no namespace, no link: already absent
        return LinkChange(desired, kind, state, read_current(sessions, desired, kind))
    current = None if assume_absent else read_current(sessions, desired, kind)
    new_parents = new_parents or {}
    parent = sessions.task.link_msg(ifname=desired['parent'])
    if desired['parent'] in new_parents:
        parent_index, parent_mtu = None, new_parents[desired['parent']]
    elif parent is None:
        raise LinkError("parent '%s' does not exist in the task's network namespace; create it first or fix parent "
                        '(the parent stays in the namespace the task runs in, the link goes to netns)'
                        % desired['parent'])
    else:
        parent_index, parent_mtu = parent['index'], parent.get_attr('IFLA_MTU')
    if desired['mtu'] is not None and parent_mtu is not None and desired['mtu'] > parent_mtu:
        raise LinkError('mtu %d is larger than the MTU %d of parent %s; a %s link cannot exceed its parent'
                        % (desired['mtu'], parent_mtu, desired['parent'], kind.kind))

    plan = plan_link(current, desired, kind, addresses_mode, routes_mode)
    if plan.changed:
        kind.preflight(sessions, desired, current, params or {}, check_mode)
    if plan.conflicts and not recreate:
        raise LinkError('%s cannot be changed in place: %s. Set recreate: true to delete it and create it anew '
                        '(its addresses and routes are re-applied); nothing was changed'
                        % (desired['name'], '; '.join(plan.conflicts)), conflicts=plan.conflicts)
    target = None
    if plan.action == 'recreate':
        target = recreation_target(current, desired, addresses_mode, routes_mode, kind)
        kind.creatable(sessions, target)  # before the old link is deleted for it
    change = LinkChange(desired, kind, state, current, plan, parent_index, target)
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


def reconcile_link(sessions, desired, kind, state='present', recreate=False, addresses_mode=ADD, routes_mode=ADD,
                   check_mode=False, params=None):
    """Bring one link to ``desired``; return ``changed``, ``link``, ``actions`` and ``diff``."""
    change = plan_link_change(sessions, desired, kind, state, recreate, addresses_mode, routes_mode, check_mode,
                              params)
    if state == 'absent':
        actions = apply_link_change(sessions, change) if change.changed and not check_mode else []
        return _result(change.changed, {}, actions, change.before)
    if check_mode or not change.changed:
        return dict(_result(change.changed, change.predicted, [], change.before),
                    **kind.report(sessions, desired, check_mode and change.changed))
    actions = apply_link_change(sessions, change)
    sessions.invalidate()
    after = public_state(sessions.get(desired['netns']).read_link(desired['name'], sessions.task, KINDS))
    return dict(_result(True, after, actions, change.before), **kind.report(sessions, desired, False))


def _apply(applier, step, *args):
    try:
        step(*args)
    except NetlinkOperationError as exc:
        raise LinkError('%s (applied before the failure: %s)' % (exc, ', '.join(applier.actions) or 'nothing'),
                        actions=applier.actions) from exc
    except LinkError as exc:
        exc.details.setdefault('actions', applier.actions)
        raise


def _result(changed, after, actions, before):
    return {'changed': changed, 'link': after, 'actions': actions, 'diff': {'before': before, 'after': after}}


def link_module_argument_spec(kind_options):
    spec = dict(LINK_ARGUMENT_SPEC)
    spec.update(kind_options)
    return spec


def run_link_module(module, kind):
    """The whole main() of a single-link module: validate, reconcile, report."""
    require_pyroute2(module)
    params = module.params
    try:
        desired = desired_link(params, kind)
        with Sessions() as sessions:
            result = reconcile_link(sessions, desired, kind, state=params['state'], recreate=params['recreate'],
                                    addresses_mode=params['addresses_mode'], routes_mode=params['routes_mode'],
                                    check_mode=module.check_mode, params=params)
    except ValidationError as exc:
        module.fail_json(msg=str(exc))
    except LinkError as exc:
        module.fail_json(msg=str(exc), **exc.details)
    except NetlinkOperationError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)
