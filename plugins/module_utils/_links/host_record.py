# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A host's convergence record: what the last complete run of a plan left on the host.

A run of the same plan on a host found exactly so has nothing to converge: every converge task of that run
was a no-op on that state, or made it, and the tasks are idempotent. The record lets the next run tell that
with the one read it makes anyway, instead of one module run per converge task.

The record is a file under /run (a tmpfs: a reboot clears it), one per network namespace (a lab host is
one), holding the caller's digest of its plan, the namespaces that plan puts workloads in (with the sysctls
it sets there), and a digest of the host's state when the run ended. That state is everything the converge
tasks read or change: every link of the namespace, physical devices included, with its kind settings,
parent, MAC address, MTU, admin state, marker, addresses and routes; and for each recorded namespace whether
it exists, its links in the same detail, its loopback and those sysctls. Counters, carrier and operational
state are left out: they change without anyone converging anything.
"""

from __future__ import annotations

import hashlib
import json
import os

from ansible_collections.underlay.network.plugins.module_utils._common.errors import UnderlayError
from ansible_collections.underlay.network.plugins.module_utils._common.validation import validate_netns_name
from ansible_collections.underlay.network.plugins.module_utils._kernel.netns import namespace_exists
from ansible_collections.underlay.network.plugins.module_utils._kernel.rtnl_codec import IFF_UP
from ansible_collections.underlay.network.plugins.module_utils._kernel.sysctl import normalize_sysctls
from ansible_collections.underlay.network.plugins.module_utils._links.sessions import Sessions, read_virtual_links
from ansible_collections.underlay.network.plugins.module_utils._netns.reconcile import NAMESPACE_SPEC, probe_sysctls

RECORD_DIR = '/run/underlay.network/converged'
# AnsibleModule's keyword arguments of the convergence_record module.
RECORD_MODULE = dict(
    argument_spec=dict(
        plan=dict(type='str'),
        namespaces=dict(type='list', elements='dict', default=[], options=NAMESPACE_SPEC),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
    ),
    required_if=[('state', 'present', ['plan'])],
)
# A record of another format (an older collection's) is no record: the host converges once more.
FORMAT = 1


def record_path():
    """The record of the namespace this process is in, named by that namespace's identity (device, inode)."""
    own = os.stat('/proc/self/ns/net')
    return os.path.join(RECORD_DIR, '%d-%d.json' % (own.st_dev, own.st_ino))


def state_digest(sessions, namespaces):
    """SHA-256 of the state described above; ``namespaces``: ``[{name, sysctls}]`` as recorded."""
    present = [ns['name'] for ns in namespaces if namespace_exists(ns['name'])]
    state = {
        'links': read_virtual_links(sessions, present, devices=True),
        'namespaces': [_namespace_state(sessions, ns) if ns['name'] in present
                       else {'name': ns['name'], 'exists': False} for ns in namespaces],
    }
    return hashlib.sha256(json.dumps(state, sort_keys=True, default=str).encode()).hexdigest()


def _namespace_state(sessions, ns):
    """A recorded namespace's loopback and sysctls; its links are in read_virtual_links's, from the same session."""
    lo = sessions.get(ns['name']).link_msg(ifname='lo')
    found = probe_sysctls(ns['name'], normalize_sysctls(ns.get('sysctls') or {}), True)
    return {'name': ns['name'], 'exists': True, 'loopback': bool(lo is not None and lo['flags'] & IFF_UP),
            'sysctls': {key: value for key, (value, _writable) in found.items()}}


def read_record():
    """The record, or None when there is none or it cannot be used (unreadable, another format)."""
    try:
        with open(record_path(), encoding='utf-8') as handle:
            record = json.load(handle)
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get('format') != FORMAT:
        return None
    return record


def convergence(sessions):
    """``{plan, current}``: the recorded plan digest (None without a record) and whether the host's state is
    still the one recorded with it."""
    record = read_record()
    if record is None:
        return {'plan': None, 'current': False}
    return {'plan': record['plan'], 'current': state_digest(sessions, record['namespaces']) == record['state']}


def new_record(sessions, plan, namespaces):
    """The record of the host's state now, for the plan digest ``plan``."""
    namespaces = [{'name': ns['name'], 'sysctls': ns.get('sysctls') or {}} for ns in namespaces]
    return {'format': FORMAT, 'plan': plan, 'namespaces': namespaces, 'state': state_digest(sessions, namespaces)}


def write_record(record):
    """Write ``record`` whole or not at all (a rename), readable by root only."""
    os.makedirs(RECORD_DIR, mode=0o700, exist_ok=True)
    path = record_path()
    temporary = '%s.%d.tmp' % (path, os.getpid())
    with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'w', encoding='utf-8') as handle:
        json.dump(record, handle, sort_keys=True)
    os.replace(temporary, path)


def remove_record():
    """Remove the record; True when there was one."""
    try:
        os.unlink(record_path())
    except FileNotFoundError:
        return False
    return True


def record_convergence(params, check_mode):
    """The convergence_record module: write the record of the host's state now (state present) or remove it;
    returns what the module reports of it (None once removed). Check mode writes and removes nothing."""
    if params['state'] == 'absent':
        if not check_mode:
            remove_record()
        return None
    for ns in params['namespaces']:
        validate_netns_name(ns['name'], 'namespaces[].name')
        normalize_sysctls(ns['sysctls'], 'namespaces[%s].sysctls' % ns['name'])
    try:
        with Sessions() as sessions:
            record = new_record(sessions, params['plan'], params['namespaces'])
        if not check_mode:
            write_record(record)
    except OSError as exc:
        raise UnderlayError('cannot write the convergence record below /run/underlay.network (%s)' % exc) from None
    return {key: record[key] for key in ('plan', 'namespaces', 'state')}
