#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: macvlan_link
short_description: Manage macvlan links, also inside network namespaces
version_added: 0.1.0
description:
  - Creates, changes and deletes a macvlan link on a parent interface, optionally directly inside a
    named network namespace, with its MAC address, MTU, addresses and routes.
  - Reads the link through netlink, compares it with what is declared and changes only the difference.
    Mode, source MAC list, MTU, MAC address, admin state, addresses and routes change in place; another
    parent, or entering or leaving V(passthru) mode, needs O(recreate=true).
  - Every input is validated before anything is touched. If the kernel refuses a step, the link is left as it
    was (see the notes).
author:
  - underlay.network contributors (@underlay-network)
extends_documentation_fragment:
  - underlay.network.link
  - underlay.network.link.mac_address
  - underlay.network.link.macvlan
notes:
  - The host cannot reach its own macvlan links through the parent (the kernel does not pass traffic between
    a parent and its macvlan children). Give the host a macvlan "shim" on the same parent, with a /32 address
    and a route to the links' range, to reach them.
seealso:
  - module: underlay.network.netns
'''

EXAMPLES = r'''
- name: Put a "container" namespace on the physical network (the seed's net1)
  underlay.network.macvlan_link:
    name: eth0
    parent: eth0
    netns: net1
    mode: bridge
    addresses:
      - 172.28.248.10/20

- name: Give the host a shim so that it reaches its macvlan containers
  underlay.network.macvlan_link:
    name: mynet-shim
    parent: eth0
    mode: bridge
    addresses:
      - 172.28.248.254/32
    routes:
      - dest: 172.28.248.0/21

- name: Move a link to another parent (the kernel cannot do this in place)
  underlay.network.macvlan_link:
    name: mv0
    parent: eth1
    recreate: true

- name: Accept frames from two source MACs only
  underlay.network.macvlan_link:
    name: mvsrc
    parent: eth0
    mode: source
    source_macs:
      - 02:42:ac:1c:f8:0a
      - 02:42:ac:1c:f8:0b

- name: Remove the link
  underlay.network.macvlan_link:
    name: eth0
    netns: net1
    state: absent
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
      sample: macvlan
    netns:
      description: Namespace the link lives in; null for the task's own namespace.
      type: str
      sample: net1
    parent:
      description: Parent interface in the task's namespace.
      type: str
      sample: eth0
    mode:
      description: Macvlan mode.
      type: str
      sample: bridge
    source_macs:
      description: Source MAC list (source mode).
      type: list
      elements: str
      sample: []
    mac_address:
      description: MAC address.
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
      sample: [172.28.248.10/20]
    routes:
      description: Static routes through the link in the main table.
      type: list
      elements: dict
      sample: [{dest: 172.28.248.0/21, gateway: null, metric: 0}]
actions:
  description: The changes applied, in order (empty in check mode and when nothing changed).
  returned: always
  type: list
  elements: str
  sample: [create macvlan eth0 in netns 'net1', add address 172.28.248.10/20, set admin_state up]
conflicts:
  description: Differences that cannot be applied in place, when the module failed because of them.
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
    run_link_module('macvlan')


if __name__ == '__main__':
    main()
