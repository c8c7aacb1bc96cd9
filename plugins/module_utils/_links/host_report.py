# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The links module's result: its links and namespaces as they are now (in check mode: as they would be), what
was deleted, a summary and the diff; never a success that reports links which are not there."""

from __future__ import annotations

from ansible_collections.underlay.network.plugins.module_utils._common.describe import link_id
from ansible_collections.underlay.network.plugins.module_utils._common.errors import AggregateError
from ansible_collections.underlay.network.plugins.module_utils._links.host_apply import parent_gone


def report(sessions, plan, actions, check_mode):
    """The module result: links and namespaces as they are now (in check mode: as they would be)."""
    sessions.invalidate()
    links, before, after, vanished, read = [], {}, {}, [], []
    for change in plan.links:
        key = link_id(change.desired['netns'], change.desired['name'])
        if check_mode or not change.changed:
            state = change.predicted
        else:
            current = sessions.read_link(change.desired['netns'], change.desired['name'])
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
        causes = sorted({cause for cause in (parent_gone(sessions, change) for _key, change in vanished) if cause})
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
    parents = [after for _name, _index, _before, after in plan.parents]
    parents_changed = [(before, after) for _name, _index, before, after in plan.parents if before != after]
    namespaces = [result['namespace'] for _name, result in sorted(plan.namespace_results.items())]
    ns_before = {name: r['diff']['before'] for name, r in plan.namespace_results.items() if r['changed']}
    ns_after = {name: r['diff']['after'] for name, r in plan.namespace_results.items() if r['changed']}
    return {
        'changed': plan.changed,
        'links': links,
        'namespaces': namespaces,
        'parents': parents,
        'deleted': sorted(link_id(s['netns'], s['name']) for s, _depth in plan.deletions) + sorted(plan.teardown),
        'summary': summary,
        'marker': plan.marker,
        'actions': actions,
        'diff': {'before': {'parents': {b['name']: b for b, _a in parents_changed}, 'namespaces': ns_before,
                            'links': before},
                 'after': {'parents': {a['name']: a for _b, a in parents_changed}, 'namespaces': ns_after,
                           'links': after}},
    }
