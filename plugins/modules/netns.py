#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: netns
short_description: Manage named network namespaces and their sysctls
version_added: 0.1.0
description:
  - Creates and deletes a named network namespace the way C(ip netns add) does (a bind mount below C(/run/netns)),
    so that it shows up in C(ip netns list), works with C(ip netns exec) and C(nsenter --net=/run/netns/NAME), and
    can be used as O(underlay.network.macvlan_link#module:netns) by the link modules.
  - Brings the loopback interface inside the namespace up (a new namespace starts with it down).
  - Sets sysctls inside the namespace, such as V(net.ipv4.ip_forward). Only C(net.*) keys exist per namespace.
    Each value is read first and written only when it differs, so a second run changes nothing.
  - Reports the links inside the namespace and the values of the sysctls asked for.
  - Every input is checked before anything is touched. All sysctl keys are read before any is written; if the
    kernel refuses a value, the sysctls written before it are restored and a namespace created by this task is
    removed again, so nothing is left half-applied.
author:
  - underlay.network contributors (@underlay-network)
options:
  name:
    description:
      - Name of the namespace, as C(ip netns) shows it. It is a file name below C(/run/netns).
      - At most 255 bytes, without V(/) or whitespace, and not V(.) or V(..).
    type: str
    required: true
  state:
    description:
      - V(present) creates the namespace if needed, brings its loopback up and applies O(sysctls).
      - V(absent) deletes the namespace (what C(ip netns delete) does). Links inside it go with it unless a process
        still runs in it. A namespace that does not exist is left as it is (not an error).
    type: str
    choices: [present, absent]
    default: present
  sysctls:
    description:
      - Sysctls to set inside the namespace, as a dictionary of keys and values (see the examples).
      - Keys use dots (V(net.ipv4.conf.all.forwarding)) or, as with C(sysctl), slashes when a part contains a dot
        (V(net/ipv4/conf/eth0.10/forwarding)). Only C(net.*) keys are accepted; other sysctls are host-wide.
      - A key that does not exist inside the namespace (no such file below C(/proc/sys)) or that is read-only there
        makes the module fail before anything is changed.
      - Values are compared as strings with runs of whitespace folded into one space; booleans become V(1) and V(0).
        Give values the way the kernel prints them (V(1), not V(01)), or every run writes them again.
      - Sysctls not listed are left as they are. Ignored with O(state=absent).
    type: dict
    default: {}
requirements:
  - pyroute2 >= 0.9
attributes:
  check_mode:
    support: full
    description:
      - Reports what would change and changes nothing, not even creating the namespace.
  diff_mode:
    support: full
    description:
      - Shows whether the namespace exists, the loopback state and the sysctls before and after.
notes:
  - Needs root (C(CAP_SYS_ADMIN) to create the namespace and enter it, C(CAP_NET_ADMIN) inside it).
  - The task may itself run inside another namespace (for example through the M(underlay.network.netns) connection
    plugin); the named namespaces are shared by the whole machine.
  - In check mode, when the namespace does not exist yet, the sysctl keys are checked in a short-lived anonymous
    namespace that disappears with the check, so that check mode fails exactly where a real run would.
seealso:
  - module: underlay.network.macvlan_link
  - plugin: underlay.network.netns
    plugin_type: connection
'''

EXAMPLES = r'''
- name: A "container" namespace for a macvlan link (the seed's net1)
  underlay.network.netns:
    name: net1

- name: A router namespace that forwards IPv4 and IPv6
  underlay.network.netns:
    name: router1
    sysctls:
      net.ipv4.ip_forward: 1
      net.ipv6.conf.all.forwarding: 1

- name: List the links inside a namespace
  underlay.network.netns:
    name: net1
  register: net1

- name: Show them
  ansible.builtin.debug:
    msg: "{{ net1.namespace.links | map(attribute='name') | list }}"

- name: Delete the namespace and every link inside it
  underlay.network.netns:
    name: net1
    state: absent
'''

RETURN = r'''
namespace:
  description: The namespace as it now is (in check mode, as it would be).
  returned: always
  type: dict
  contains:
    name:
      description: Namespace name.
      type: str
      sample: net1
    path:
      description: The bind mount that keeps the namespace alive, as used by C(nsenter --net=).
      type: str
      sample: /run/netns/net1
    exists:
      description: Whether the namespace exists.
      type: bool
      sample: true
    loopback:
      description: Administrative state of C(lo) inside the namespace; null when the namespace does not exist.
      type: str
      sample: up
    sysctls:
      description: Current values of the sysctls given in O(sysctls), whitespace folded; empty when absent.
      type: dict
      sample: {net.ipv4.ip_forward: '1'}
    links:
      description:
        - Links inside the namespace. Empty when the namespace does not exist (also in check mode before it is
          created).
      type: list
      elements: dict
      contains:
        name:
          description: Link name.
          type: str
        kind:
          description: Link kind (V(veth), V(macvlan), ...), V(device) for links without one, such as C(lo).
          type: str
        admin_state:
          description: Administrative state, V(up) or V(down).
          type: str
        mtu:
          description: MTU.
          type: int
        mac_address:
          description: MAC address.
          type: str
        addresses:
          description: Addresses in CIDR form (IPv6 link-local left out).
          type: list
          elements: str
      sample:
        - {name: lo, kind: device, admin_state: up, mtu: 65536, mac_address: '00:00:00:00:00:00',
           addresses: [127.0.0.1/8, '::1/128']}
        - {name: eth0, kind: macvlan, admin_state: up, mtu: 1500, mac_address: '02:42:ac:1c:f8:0a',
           addresses: [172.28.248.10/20]}
actions:
  description: The changes applied, in order (empty in check mode and when nothing changed).
  returned: always
  type: list
  elements: str
  sample: ["create netns 'router1'", set lo up, set net.ipv4.ip_forward 0 -> 1]
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.underlay.network.plugins.module_utils.netlink import (
    IFF_UP,
    Namespace,
    NetlinkOperationError,
    require_pyroute2,
)
from ansible_collections.underlay.network.plugins.module_utils.netns import (
    create_namespace,
    delete_namespace,
    namespace_exists,
    namespace_path,
    normalize_sysctls,
    read_sysctls,
    run_in_namespace,
    run_in_new_namespace,
    sysctl_path,
    write_sysctls,
)
from ansible_collections.underlay.network.plugins.module_utils.validation import (
    ValidationError,
    validate_netns_name,
)

LINK_FIELDS = ('name', 'kind', 'admin_state', 'mtu', 'mac_address', 'addresses')
# The shape of the diff: what the module manages, not what it only reports (links).
DIFF_FIELDS = ('exists', 'loopback', 'sysctls')


class NetnsError(Exception):
    """The namespace cannot be brought to the desired state; the message says why."""


# What a step can raise once input is valid: our own verdicts, netlink refusals, the
# forked namespace helpers (RuntimeError) and namespace creation or deletion (OSError).
STEP_ERRORS = (NetnsError, NetlinkOperationError, RuntimeError, OSError)


def read_namespace(name, sysctl_keys=()):
    """The namespace as it is, and ``{key: (value, writable)}`` for ``sysctl_keys``.

    For a namespace that does not exist, the sysctls are read in a fresh anonymous
    one: the values a new namespace starts with (and a check of every key).
    """
    state = absent_state(name)
    state['exists'] = namespace_exists(name)
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


def run(module):
    """Validate -> read -> diff -> apply (unless check mode); return the module result."""
    params = module.params
    name = validate_netns_name(params['name'], 'name')
    actions = []

    if params['state'] == 'absent':
        before = read_namespace(name)[0]
        if before['exists'] and not module.check_mode:
            delete_namespace(name)
            actions.append("delete netns '%s'" % name)
        return result(before['exists'], before, absent_state(name), actions)

    desired_sysctls = normalize_sysctls(params['sysctls'] or {}, 'sysctls')
    before, found = read_namespace(name, desired_sysctls)
    changes = sysctl_changes(found, desired_sysctls)
    changed = bool(not before['exists'] or before['loopback'] != 'up' or changes)
    if not changed:
        return result(False, before, before, actions)
    if module.check_mode:
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


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type='str', required=True),
            state=dict(type='str', default='present', choices=['present', 'absent']),
            sysctls=dict(type='dict', default={}),
        ),
        supports_check_mode=True,
    )
    require_pyroute2(module)
    try:
        outcome = run(module)
    except (ValidationError,) + STEP_ERRORS as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**outcome)


if __name__ == '__main__':
    main()
