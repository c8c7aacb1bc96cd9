# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A host's whole declared underlay (namespaces and links) converged in one call: the links module.

There is no second implementation here. Every namespace goes through
``netns_reconcile.reconcile_namespace`` and every link through
``link_reconcile.plan_link_change`` / ``apply_link_change``, exactly as in the
netns, macvlan_link, vlan_iface and ipvlan_link modules. What this file adds is
what only a whole host has: the order between objects, pruning by the marker,
deletions batched per namespace, and one report.

The call runs in two phases. Planning reads everything and checks every object
(so that a mistake anywhere in the input changes nothing); applying then goes
namespaces -> links in stacking order (VLANs before the links on them) ->
deletions in reverse stacking order. A kernel refusal while applying stops the
call there: see ``AggregateError``.
"""

from __future__ import annotations

import re

from ansible_collections.underlay.network.plugins.module_utils.gc_passes import fewer_gc_passes
from ansible_collections.underlay.network.plugins.module_utils.link_diff import (
    ADD,
    MANAGED_MARKER,
    REPLACE,
    managed_by,
)
from ansible_collections.underlay.network.plugins.module_utils.link_kinds import KINDS, LinkError
from ansible_collections.underlay.network.plugins.module_utils.link_reconcile import (
    Sessions,
    apply_link_change,
    desired_link,
    plan_link_change,
)
from ansible_collections.underlay.network.plugins.module_utils.netlink import (
    NetlinkOperationError,
    describe_netns,
    describe_route,
)
from ansible_collections.underlay.network.plugins.module_utils.netns import UNNAMED_LABEL, namespace_exists
from ansible_collections.underlay.network.plugins.module_utils.netns_reconcile import (
    STEP_ERRORS,
    reconcile_namespace,
)
from ansible_collections.underlay.network.plugins.module_utils.validation import (
    ValidationError,
    route_key,
    sort_addresses,
    validate_netns_name,
)

MERGED, REPLACED, OVERRIDDEN, DELETED = 'merged', 'replaced', 'overridden', 'deleted'
STATES = (MERGED, REPLACED, OVERRIDDEN, DELETED)


def _link_entry_spec():
    """One entry of config.links: the options every link module shares, plus each kind's own.

    Defaults and choices of kind options stay with the kind (``LinkKind.normalize``): the same
    option name (mode) has different ones per kind.
    """
    spec = dict(
        name=dict(type='str'),
        kind=dict(type='str', required=True, choices=sorted(KINDS)),
        parent=dict(type='str'),
        netns=dict(type='str'),
        admin_state=dict(type='str', choices=['up', 'down']),
        mtu=dict(type='int'),
        addresses=dict(type='list', elements='str'),
        routes=dict(type='list', elements='dict', options=dict(
            dest=dict(type='str', required=True),
            gateway=dict(type='str'),
            metric=dict(type='int'),
        )),
        adopt=dict(type='bool', default=False),
    )
    for kind in KINDS.values():
        for option, option_spec in kind.options.items():
            spec[option] = {k: v for k, v in option_spec.items() if k not in ('default', 'choices')}
    return spec


LINK_ENTRY_SPEC = _link_entry_spec()
# Options that belong to some kinds only, and which kinds.
KIND_OPTIONS = {option: sorted(name for name, kind in KINDS.items() if option in kind.options)
                for kind in KINDS.values() for option in kind.options}

AGGREGATE_ARGUMENT_SPEC = dict(
    config=dict(type='dict', default={}, options=dict(
        namespaces=dict(type='list', elements='dict', default=[], options=dict(
            name=dict(type='str', required=True),
            sysctls=dict(type='dict', default={}),
        )),
        links=dict(type='list', elements='dict', default=[], options=LINK_ENTRY_SPEC),
    )),
    state=dict(type='str', default=MERGED, choices=list(STATES)),
    owner=dict(type='str'),
    recreate=dict(type='bool', default=False),
    allow_port_mode_change=dict(type='bool', default=False),
)
OWNER_PATTERN = re.compile(r'^[a-z0-9_]{1,32}$')
# docker_vlan_network marks its VLANs 'underlay.network/docker_vlan_network' (docker_reconcile.VLAN_MARKER) and
# keeps them for the user; an owner of that name would prune them.
RESERVED_OWNERS = ('docker_vlan_network',)


class AggregateError(Exception):
    """The kernel refused a step while applying: the call stops there.

    The host keeps every object converged before the failure; the object that failed is left as it
    was (a link being created is removed again, a batched deletion deletes all of its links or
    none). ``details`` say exactly what was applied, what failed and what was not attempted.
    Rolling back instead is not offered: undoing a deletion would make new links with new
    ifindexes and MAC addresses, which is a change of its own.
    """

    def __init__(self, msg, **details):
        super().__init__(msg)
        self.details = details


def owner_marker(owner=None):
    """The marker of the links a call of ``owner`` creates and may prune.

    ``underlay.network/OWNER``; without an owner the collection's own ``underlay.network``. Each owner
    (a role, say) prunes only its own links, so one role's ``overridden`` never removes another's.
    """
    if owner is None:
        return MANAGED_MARKER
    if not isinstance(owner, str) or not OWNER_PATTERN.match(owner):
        raise ValidationError("owner %r is not valid: use 1 to 32 lowercase letters, digits and underscores, "
                              "e.g. the name of the role that owns the links (vlan_host)" % (owner,))
    if owner in RESERVED_OWNERS:
        raise ValidationError("owner %s is taken by the module %s, whose VLANs carry the marker %s/%s and are "
                              "never pruned; choose another owner" % (owner, owner, MANAGED_MARKER, owner))
    return MANAGED_MARKER + '/' + owner


def link_id(netns, name):
    """How the result names a link: ``trunk.10`` in the task's namespace, ``net1/eth0`` inside net1, and
    ``eth0 in the network namespace of process 4321 (sleep)`` in a namespace without a name."""
    if netns is None:
        return name
    return '%s in %s' % (name, netns) if netns.startswith(UNNAMED_LABEL) else '%s/%s' % (netns, name)


# -- planning (pure) ----------------------------------------------------------
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
                '%s applies to kind %s only' % (option, ' and '.join(KIND_OPTIONS[option])) for option in foreign))
                + ', not to %s: remove it or fix kind' % entry['kind'])
        if state != DELETED and not entry.get('parent'):
            raise ValidationError('%s: parent is required (the interface the %s link is stacked on)'
                                  % (label, entry['kind']))
        params = dict(entry, state='absent' if state == DELETED else 'present')
        params.pop('adopt', None)
        if state in (REPLACED, OVERRIDDEN):  # exactly as declared: nothing declared is nothing wanted
            params['addresses'] = params.get('addresses') or []
            params['routes'] = params.get('routes') or []
        try:
            desired = desired_link(params, kind)
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


# -- the plan against the host ---------------------------------------------------
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

    @property
    def changed(self):
        return bool(self.namespaces or self.deletions or self.teardown
                    or any(change.changed for change in self.links))


def plan_host(sessions, config, state, recreate=False, allow_port_mode_change=False, check_mode=False, owner=None):
    """Read the host and plan the whole call; raises ValidationError or LinkError, changes nothing."""
    plan = HostPlan(state, owner_marker(owner))
    namespaces = desired_namespaces(config.get('namespaces') or [])
    links = desired_links(config.get('links') or [], state)
    if state == DELETED:
        return _plan_deletion(sessions, plan, namespaces, links)

    check_ipvlan_ports(links)
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

    if state == OVERRIDDEN:
        _plan_pruning(sessions, plan, links, declared_ns)
    mode = ADD if state == MERGED else REPLACE
    new_parents, rebuilt = {}, set()  # task-namespace links (re-)created by this call; links they take along
    params = {'allow_port_mode_change': allow_port_mode_change}
    for link, _depth in stacking_order(links):
        adopt = link.pop('adopt', False)
        link['managed_by'] = plan.marker if adopt else _existing_marker(sessions, link) or plan.marker
        try:
            change = plan_link_change(sessions, link, KINDS[link['kind']], 'present', recreate, mode, mode,
                                      check_mode, params, new_parents=new_parents,
                                      assume_absent=link['parent'] in rebuilt)
            if change.current is not None and change.current['managed_by'] != plan.marker:
                if adopt:
                    _adopt(change, plan.marker)
                elif mode == REPLACE:
                    _refuse_stripping(change, state, plan.marker)
        except LinkError as exc:
            raise LinkError('link %s: %s' % (link_id(link['netns'], link['name']), exc), **exc.details) from None
        if link['netns'] is None and change.plan.action in ('create', 'recreate'):
            new_parents[link['name']] = link['mtu']
            if change.plan.action == 'recreate':
                rebuilt.add(link['name'])
        plan.links.append(change)
    return plan


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
            state = session.link_state(msg, sessions.task, KINDS, addressing=False)
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
                change = plan_link_change(sessions, link, KINDS[link['kind']], 'absent')
            except LinkError as exc:
                raise LinkError('link %s: %s' % (link_id(link['netns'], link['name']), exc), **exc.details) from None
            if change.current is not None:
                doomed.append(change.current)
    plan.deletions = stacking_depths(doomed)
    plan.teardown = teardown
    for name in teardown:
        plan.namespace_results[name] = reconcile_namespace(name, 'absent', check_mode=True)
    return plan


# -- applying -----------------------------------------------------------------
class Progress:
    """What has been applied so far, for the report and for a failure mid-way."""

    def __init__(self, plan):
        self.plan = plan
        self.actions = []
        self.steps = self._steps(plan)
        self.done = 0

    @staticmethod
    def _steps(plan):
        steps = [('namespace', ns['name']) for ns, _planned in plan.namespaces]
        steps += [('delete', link_id(s['netns'], s['name'])) for s, _depth in plan.deletions]
        steps += [('link', link_id(c.desired['netns'], c.desired['name'])) for c in plan.links if c.changed]
        steps += [('teardown', name) for name in plan.teardown]
        return steps

    def fail(self, what, exc, partial=(), steps=1, undone=None, cause=None):
        """Stop the call: ``what`` (``steps`` steps of the plan) failed after ``partial`` of its own actions
        (``undone``: the steps of it that were undone again; ``cause``: what made the kernel refuse, when known)."""
        self.actions.extend(partial)
        pending = [name for _step, name in self.steps[self.done + steps:]]
        extra = {'undone': list(undone)} if undone is not None else {}
        raise AggregateError(
            '%s failed: %s.%s The call stopped there: %s; not attempted: %s'
            % (what, exc, ' %s.' % cause if cause else '',
               'applied before it: ' + ', '.join(self.actions) if self.actions else 'nothing was applied',
               ', '.join(pending) or 'nothing'),
            applied=list(self.actions), failed_object=what, not_attempted=pending, **extra) from exc


def apply_host(sessions, plan):
    """Carry out a plan: namespaces, deletions (deepest first, batched), links in stacking order, teardowns."""
    progress = Progress(plan)
    for ns, _planned in plan.namespaces:
        try:
            outcome = reconcile_namespace(ns['name'], 'present', ns.get('sysctls'))
        except STEP_ERRORS as exc:
            progress.fail("netns '%s'" % ns['name'], exc)
        progress.actions.extend(outcome['actions'])
        plan.namespace_results[ns['name']] = outcome
        progress.done += 1
    _delete_batched(sessions, plan.deletions, progress)
    for change in plan.links:
        if not change.changed:
            continue
        key = link_id(change.desired['netns'], change.desired['name'])
        try:
            progress.actions.extend('%s: %s' % (key, action) for action in apply_link_change(sessions, change))
        except (LinkError, NetlinkOperationError) as exc:
            details = getattr(exc, 'details', {})
            undone = details.get('undone')
            progress.fail('link %s' % key, exc, ['%s: %s' % (key, action) for action in details.get('actions', ())],
                          undone=None if undone is None else ['%s: %s' % (key, action) for action in undone],
                          cause=_parent_gone(sessions, change))
        progress.done += 1
    for name in plan.teardown:
        try:
            outcome = reconcile_namespace(name, 'absent')
        except STEP_ERRORS as exc:
            progress.fail("netns '%s'" % name, exc)
        progress.actions.extend(outcome['actions'])
        plan.namespace_results[name] = outcome
        progress.done += 1
    return progress.actions


def _parent_gone(sessions, change):
    """Why a link's step failed, when the reason is that its parent went away meanwhile (deleted by something else
    while the call ran: the kernel then refuses with a bare ENODEV and removes the links on it); else None."""
    parent = change.desired.get('parent')
    if change.state == 'absent' or not parent:
        return None
    task = sessions.task
    task.invalidate()
    index = task.lookup_index(parent)
    if index is not None and change.parent_index in (None, index):
        return None
    return ('The real cause: its parent %s is gone%s (something else deleted it while this call ran). The kernel '
            'removes the links on a deleted parent with it, so the links on %s this call made or converged before '
            'are gone too' % (parent, '' if index is None else ' (a new %s replaced it)' % parent, parent))


def _delete_batched(sessions, deletions, progress):
    """One request per namespace and stacking depth, deepest first: one RCU wait per batch, not per link."""
    batches = {}
    for state, depth in deletions:
        batches.setdefault((-depth, state['netns'] is None, state['netns'] or ''), []).append(state)
    for key in sorted(batches):
        states = batches[key]
        netns = states[0]['netns']
        names = [link_id(s['netns'], s['name']) for s in states]
        try:  # the session's message names the namespace
            gone = sessions.get(netns).delete_links([(s['index'], s['name']) for s in states],
                                                    'delete %s' % ', '.join(s['name'] for s in states))
        except NetlinkOperationError as exc:
            progress.fail('deleting %s' % ', '.join(names), exc, steps=len(states))
        # A link deleted meanwhile by someone else is what was wanted: reported, not an error.
        progress.actions.extend('%s: %s' % (name, 'gone already' if s['name'] in gone else 'delete %s' % s['kind'])
                                for name, s in zip(names, states))
        progress.done += len(states)


# -- the report -------------------------------------------------------------------
def report(sessions, plan, actions, check_mode):
    """The module result: links and namespaces as they are now (in check mode: as they would be)."""
    sessions.invalidate()
    links, before, after, vanished, read = [], {}, {}, [], []
    for change in plan.links:
        key = link_id(change.desired['netns'], change.desired['name'])
        if check_mode or not change.changed:
            state = change.predicted
        else:
            current = sessions.get(change.desired['netns']).read_link(change.desired['name'], sessions.task, KINDS)
            read.append((key, change, current))
            state = {k: v for k, v in (current or {}).items() if k != 'index'}
        links.append(state)
        if change.changed:
            before[key], after[key] = change.before, state
    # Still there once all is read? A link removed by something else while it was read (its addresses read after
    # it went) must not be reported as it was read either.
    sessions.invalidate()
    for key, change, current in read:
        msg = None if current is None else sessions.get(change.desired['netns']).link_msg(ifname=current['name'])
        if msg is None or msg['index'] != current['index']:
            vanished.append((key, change))
    if vanished:  # never a success that reports links which are not there
        causes = sorted({cause for cause in (_parent_gone(sessions, change) for _key, change in vanished) if cause})
        raise AggregateError(
            'every step of the call was applied, but %s %s gone right after: something else removed %s while the '
            'call ran.%s' % (', '.join(key for key, _change in vanished), 'is' if len(vanished) == 1 else 'are',
                             'it' if len(vanished) == 1 else 'them', ''.join(' ' + cause + '.' for cause in causes)),
            applied=list(actions), failed_object='link %s' % vanished[0][0], not_attempted=[])
    for state, _depth in plan.deletions:
        key = link_id(state['netns'], state['name'])
        before[key], after[key] = {k: v for k, v in state.items() if k != 'index'}, {}
    summary = {
        'created': sum(1 for c in plan.links if c.plan.action == 'create'),
        'updated': sum(1 for c in plan.links if c.plan.action == 'update'),
        'recreated': sum(1 for c in plan.links if c.plan.action == 'recreate'),
        'unchanged': sum(1 for c in plan.links if not c.changed),
        'deleted': len(plan.deletions),
        'namespaces_changed': len(plan.namespaces),
        'namespaces_deleted': len(plan.teardown),
    }
    namespaces = [result['namespace'] for _name, result in sorted(plan.namespace_results.items())]
    ns_before = {name: r['diff']['before'] for name, r in plan.namespace_results.items() if r['changed']}
    ns_after = {name: r['diff']['after'] for name, r in plan.namespace_results.items() if r['changed']}
    return {
        'changed': plan.changed,
        'links': links,
        'namespaces': namespaces,
        'deleted': sorted(link_id(s['netns'], s['name']) for s, _depth in plan.deletions) + sorted(plan.teardown),
        'summary': summary,
        'marker': plan.marker,
        'actions': actions,
        'diff': {'before': {'namespaces': ns_before, 'links': before},
                 'after': {'namespaces': ns_after, 'links': after}},
    }


def converge_host(config, state=MERGED, recreate=False, allow_port_mode_change=False, check_mode=False, owner=None):
    """The whole links module: plan, apply unless check mode, report."""
    with fewer_gc_passes(), Sessions(whole=True) as sessions:
        plan = plan_host(sessions, config, state, recreate, allow_port_mode_change, check_mode, owner)
        actions = apply_host(sessions, plan) if plan.changed and not check_mode else []
        return report(sessions, plan, actions, check_mode)
