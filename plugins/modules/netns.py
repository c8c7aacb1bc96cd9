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
      - At most 255 ASCII characters, without V(/) or whitespace, and not V(.) or V(..). Any other name makes the
        module fail, naming O(name), before anything is touched.
      - A C(/run/netns/NAME) that is a plain file with no namespace mounted on it (left behind by a namespace that
        was not deleted cleanly) makes the module fail with a message saying so, and the file is left as it is.
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
from ansible_collections.underlay.network.plugins.module_utils._common.errors import UnderlayError, fail_from
from ansible_collections.underlay.network.plugins.module_utils._kernel.pyroute2_import import require_pyroute2
from ansible_collections.underlay.network.plugins.module_utils._netns.reconcile import (
    NETNS_ARGUMENT_SPEC,
    reconcile_namespace,
)


def main():
    module = AnsibleModule(argument_spec=NETNS_ARGUMENT_SPEC, supports_check_mode=True)
    require_pyroute2(module)
    params = module.params
    try:
        outcome = reconcile_namespace(params['name'], params['state'], params['sysctls'], module.check_mode)
    except UnderlayError as exc:
        fail_from(module, exc)
    module.exit_json(**outcome)


if __name__ == '__main__':
    main()
