# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Carrying out the links module's plan: namespaces -> deletions (deepest first, batched) -> links in stacking
order -> namespaces removed.

A kernel refusal stops the call there (``AggregateError``, via ``Progress.fail``): the host keeps what was
converged before, the object that failed is left as it was, and the error says what was applied, what failed
and what was not attempted.
"""

from __future__ import annotations

from ansible_collections.underlay.network.plugins.module_utils._common.describe import link_id
from ansible_collections.underlay.network.plugins.module_utils._common.errors import (
    AggregateError,
    LinkError,
    NetlinkOperationError,
)
from ansible_collections.underlay.network.plugins.module_utils._links.apply import apply_link_change
from ansible_collections.underlay.network.plugins.module_utils._links.kinds import KINDS
from ansible_collections.underlay.network.plugins.module_utils._links.parent_settings import apply_parents
from ansible_collections.underlay.network.plugins.module_utils._netns.reconcile import STEP_ERRORS, reconcile_namespace


class Progress:
    """What has been applied so far, for the report and for a failure mid-way."""

    def __init__(self, plan):
        self.plan = plan
        self.actions = []
        self.steps = self._steps(plan)
        self.done = 0

    @staticmethod
    def _steps(plan):
        steps = [('parent', name) for name, _index, before, after in plan.parents if before != after]
        steps += [('namespace', ns['name']) for ns, _planned in plan.namespaces]
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
    """Carry out a plan: parents' settings, namespaces, deletions (deepest first, batched), links in stacking order,
    teardowns."""
    progress = Progress(plan)
    for name, index, before, after in plan.parents:  # before anything is stacked on them
        if before == after:
            continue
        try:
            progress.actions.extend(apply_parents(sessions, [(name, index, before, after)]))
        except NetlinkOperationError as exc:
            progress.fail('parent %s' % name, exc)
        progress.done += 1
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
                          cause=parent_gone(sessions, change))
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


def parent_gone(sessions, change):
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
        cleanups = [KINDS[s['kind']].before_delete(netns, s) for s in states]
        try:  # the session's message names the namespace
            gone = sessions.get(netns).delete_links([(s['index'], s['name']) for s in states],
                                                    'delete %s' % ', '.join(s['name'] for s in states))
        except NetlinkOperationError as exc:
            progress.fail('deleting %s' % ', '.join(names), exc, steps=len(states))
        # A link deleted meanwhile by someone else is what was wanted: reported, not an error.
        progress.actions.extend('%s: %s' % (name, 'gone already' if s['name'] in gone else 'delete %s' % s['kind'])
                                for name, s in zip(names, states))
        progress.actions.extend(action for cleanup in cleanups if cleanup is not None for action in cleanup())
        progress.done += len(states)
