#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: ipvlan_link
short_description: Manage ipvlan links, guarding the mode their parent's port shares
version_added: 0.1.0
description:
  - Creates, changes and deletes an ipvlan link on a parent interface, optionally directly inside a named
    network namespace, with its addresses and routes.
  - The kernel keeps one mode and one flag per parent (the ipvlan I(port)), not per link. Creating an ipvlan
    in another mode, or changing one link's mode, silently switches every ipvlan on that parent. This module
    looks at every ipvlan on the parent first (in the task's namespace, in every named namespace, and in the
    namespaces without a name that processes are in, such as a Docker container's) and fails with a message
    naming the links that would change, unless O(allow_port_mode_change=true).
  - Every ipvlan shares its parent's MAC address, so there is no MAC address option.
author:
  - underlay.network contributors (@underlay-network)
extends_documentation_fragment:
  - underlay.network.link
options:
  mode:
    description:
      - The ipvlan mode of the parent's port.
      - V(l2) switches frames between the links and the parent's network (one broadcast domain).
      - V(l3) routes between the links; no broadcast or multicast, the namespaces need routes (a default route
        via their own link).
      - V(l3s) is V(l3) with netfilter and connection tracking on the way.
    type: str
    choices: [l2, l3, l3s]
    default: l2
  flag:
    description:
      - The port's flag. V(bridge) lets the links talk to each other directly, V(private) forbids it, V(vepa)
        sends their traffic to the external switch.
    type: str
    choices: [bridge, private, vepa]
    default: bridge
  allow_port_mode_change:
    description:
      - Allow this task to switch the mode or flag of every other ipvlan on the same parent.
      - Without it, such a task fails, names the links that would change and changes nothing.
    type: bool
    default: false
notes:
  - A namespace without a name is found through the processes in it (C(/proc/PID/ns/net)); one that no process
    is in any more (only held open by a file descriptor) cannot be found, and its ipvlans are not seen.
seealso:
  - module: underlay.network.macvlan_link
  - module: underlay.network.vlan_iface
'''

EXAMPLES = r'''
- name: The seed's L3 lab - an ipvlan l3 leg per namespace with a default route through it
  underlay.network.ipvlan_link:
    name: eth0
    parent: eth0
    netns: "{{ item.netns }}"
    mode: l3
    addresses:
      - "{{ item.address }}"
    routes:
      - dest: default
  loop:
    - {netns: net1, address: 172.28.248.10/24}
    - {netns: net3, address: 172.28.249.10/24}

- name: A host shim on the same parent - it must use the port's mode
  underlay.network.ipvlan_link:
    name: ipvl-shim
    parent: eth0
    mode: l3
    addresses:
      - 172.28.250.254/32
    routes:
      - dest: 172.28.248.0/24
      - dest: 172.28.249.0/24

- name: Deliberately switch the whole port to l2 (every ipvlan on eth0 follows)
  underlay.network.ipvlan_link:
    name: ipvl-shim
    parent: eth0
    mode: l2
    allow_port_mode_change: true
'''

RETURN = r'''
link:
  description: The link as it now is (in check mode, as it would be); empty when absent.
  returned: always
  type: dict
  contains:
    name:
      description: Link name.
      type: str
      sample: eth0
    kind:
      description: Link kind.
      type: str
      sample: ipvlan
    netns:
      description: Namespace the link lives in; null for the task's own namespace.
      type: str
      sample: net1
    parent:
      description: Parent interface in the task's namespace.
      type: str
      sample: eth0
    mode:
      description: ipvlan mode (the port's).
      type: str
      sample: l3
    flag:
      description: ipvlan flag (the port's).
      type: str
      sample: bridge
    mac_address:
      description: MAC address (the parent's).
      type: str
      sample: 02:42:ac:1c:f8:0a
    mtu:
      description: MTU.
      type: int
      sample: 1500
    admin_state:
      description: Administrative state.
      type: str
      sample: up
    addresses:
      description: Addresses in CIDR form (IPv6 link-local left out).
      type: list
      elements: str
      sample: [172.28.248.10/24]
    routes:
      description: Static routes through the link in the main table.
      type: list
      elements: dict
      sample: [{dest: 0.0.0.0/0, gateway: null, metric: 0}]
port:
  description: The parent's ipvlan port after the change (in check mode, as it would be).
  returned: when state is present
  type: dict
  contains:
    parent:
      description: Parent interface.
      type: str
      sample: eth0
    mode:
      description: The port's mode.
      type: str
      sample: l3
    flag:
      description: The port's flag.
      type: str
      sample: bridge
    links:
      description: Every ipvlan on the parent, wherever it lives.
      type: list
      elements: dict
      sample: [{name: eth0, netns: net1, mode: l3, flag: bridge}]
actions:
  description: The changes applied, in order (empty in check mode and when nothing changed).
  returned: always
  type: list
  elements: str
  sample: [create ipvlan eth0 in netns 'net1', add address 172.28.248.10/24, set admin_state up]
would_change:
  description: The links a refused port-wide mode switch would have changed.
  returned: failure
  type: list
  elements: str
undone:
  description:
    - When the kernel refused a step of an in-place change of an existing link, the steps applied before it,
      which were undone again, so the link is as it was.
  returned: failure
  type: list
  elements: str
  sample: [set mtu 1400, add address 172.28.250.9/24]
'''

from ansible_collections.underlay.network.plugins.module_utils._links.single import run_link_module


def main():
    run_link_module('ipvlan')


if __name__ == '__main__':
    main()
