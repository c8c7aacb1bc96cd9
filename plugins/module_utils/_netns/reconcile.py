# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read -> diff -> apply -> report for one named namespace: the netns module and the aggregate
links module both go through ``reconcile_namespace``."""

from __future__ import annotations

from ansible_collections.underlay.network.plugins.module_utils._common.errors import (
    NamespaceError,
    NetlinkOperationError,
    NetnsError,
    SysctlError,
)
from ansible_collections.underlay.network.plugins.module_utils._common.validation import validate_netns_name
from ansible_collections.underlay.network.plugins.module_utils._kernel.netlink import Namespace
from ansible_collections.underlay.network.plugins.module_utils._kernel.netns import (
    create_namespace,
    delete_namespace,
    namespace_exists,
    namespace_path,
    not_a_namespace,
    run_in_namespace,
    run_in_new_namespace,
)
from ansible_collections.underlay.network.plugins.module_utils._kernel.rtnl_codec import IFF_UP
from ansible_collections.underlay.network.plugins.module_utils._kernel.sysctl import (
    normalize_sysctls,
    read_sysctls,
    sysctl_path,
    write_sysctls,
)

# A namespace as the netns module, the links module (config.namespaces) and convergence_record take it.
NAMESPACE_SPEC = dict(
    name=dict(type='str', required=True),
    sysctls=dict(type='dict', default={}),
)
NETNS_ARGUMENT_SPEC = dict(NAMESPACE_SPEC, state=dict(type='str', default='present', choices=['present', 'absent']))
LINK_FIELDS = ('name', 'kind', 'admin_state', 'mtu', 'mac_address', 'addresses')
# The shape of the diff: what the module manages, not what it only reports (links).
DIFF_FIELDS = ('exists', 'loopback', 'sysctls')


# What a step can raise once input is valid: our own verdicts, netlink refusals, namespaces that cannot be
# created, deleted or entered, and sysctls the kernel refuses. Nothing else: any other exception is a bug and
# must reach Ansible with its traceback, not as a clean message.
STEP_ERRORS = (NetnsError, NetlinkOperationError, NamespaceError, SysctlError)


def read_namespace(name, sysctl_keys=()):
    """The namespace as it is, and ``{key: (value, writable)}`` for ``sysctl_keys``.

    For a namespace that does not exist, the sysctls are read in a fresh anonymous
    one: the values a new namespace starts with (and a check of every key).
    """
    state = absent_state(name)
    state['exists'] = namespace_exists(name)
    problem = not_a_namespace(name) if state['exists'] else None
    if problem:
        raise NetnsError("netns '%s': %s" % (name, problem))
    found = probe_sysctls(name, sysctl_keys, state['exists'])
    if not state['exists']:
        return state, found
    with Namespace(name) as session:
        links = [session.link_state(msg, None, {}) for msg in session.links()]
    state['links'] = [{field: link[field] for field in LINK_FIELDS} for link in links]
    state['loopback'] = next((link['admin_state'] for link in links if link['name'] == 'lo'), None)
    state['sysctls'] = {key: value for key, (value, _writable) in found.items()}
    return state, found


def probe_sysctls(name, keys, exists):
    """Read every key inside the namespace (or a fresh one); fail on unknown keys before anything is written."""
    if not keys:
        return {}
    if exists:
        found = run_in_namespace(name, read_sysctls, list(keys))
    else:
        found = run_in_new_namespace(read_sysctls, list(keys))
    unknown = [key for key, (value, _writable) in found.items() if value is None]
    if unknown:
        raise NetnsError('sysctls: no such key inside a network namespace: %s; check the spelling '
                         '(sysctl -a shows the net.* keys that exist); nothing was changed'
                         % ', '.join('%s (%s)' % (key, sysctl_path(key)) for key in unknown))
    return found


def sysctl_changes(found, desired):
    """``[(key, current, desired)]`` for the sysctls that differ; fails on read-only ones."""
    changes = [(key, found[key][0], value) for key, value in desired.items() if found[key][0] != value]
    read_only = [change[0] for change in changes if not found[change[0]][1]]
    if read_only:
        raise NetnsError('sysctls: read-only inside a network namespace (only the host may change them): %s; '
                         'remove them from sysctls; nothing was changed' % ', '.join(read_only))
    return changes


def apply_present(name, exists, desired_sysctls, actions):
    """Create the namespace if needed, bring lo up, write the sysctls; undo a creation if a later step fails."""
    created = False
    try:
        if not exists:
            create_namespace(name)
            created = True
            actions.append("create netns '%s'" % name)
        with Namespace(name) as session:
            lo = session.link_msg(ifname='lo')
            if lo is not None and not lo['flags'] & IFF_UP:
                session.set_link(lo['index'], 'set lo up', state='up')
                actions.append('set lo up')
        # Read again in the namespace itself: for a new one, the plan came from an anonymous stand-in.
        changes = sysctl_changes(probe_sysctls(name, desired_sysctls, True), desired_sysctls)
        if changes:
            run_in_namespace(name, write_sysctls, changes)
            actions.extend('set %s %s -> %s' % change for change in changes)
    except STEP_ERRORS as exc:
        if not created:
            raise
        delete_namespace(name)
        raise NetnsError("%s; the new netns '%s' was removed again, so nothing is half-applied" % (exc, name)) from exc


def absent_state(name):
    return {'name': name, 'path': namespace_path(name), 'exists': False, 'loopback': None, 'sysctls': {}, 'links': []}


def reconcile_namespace(name, state='present', sysctls=None, check_mode=False):
    """Validate -> read -> diff -> apply (unless check mode); return the netns module's result."""
    name = validate_netns_name(name, 'name')
    actions = []

    if state == 'absent':
        before = read_namespace(name)[0]
        if before['exists'] and not check_mode:
            delete_namespace(name)
            actions.append("delete netns '%s'" % name)
        return result(before['exists'], before, absent_state(name), actions)

    desired_sysctls = normalize_sysctls(sysctls or {}, 'sysctls')
    before, found = read_namespace(name, desired_sysctls)
    changes = sysctl_changes(found, desired_sysctls)
    changed = bool(not before['exists'] or before['loopback'] != 'up' or changes)
    if not changed:
        return result(False, before, before, actions)
    if check_mode:
        predicted = dict(before, exists=True, loopback='up', sysctls=dict(desired_sysctls))
        return result(True, before, predicted, actions)
    apply_present(name, before['exists'], desired_sysctls, actions)
    return result(True, before, read_namespace(name, desired_sysctls)[0], actions)


def result(changed, before, after, actions):
    return {
        'changed': changed,
        'namespace': after,
        'actions': actions,
        'diff': {'before': {k: before[k] for k in DIFF_FIELDS}, 'after': {k: after[k] for k in DIFF_FIELDS}},
    }
