#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: vlan_iface
short_description: Manage 802.1Q / 802.1ad VLAN sub-interfaces, also inside network namespaces
version_added: 0.1.0
description:
  - Creates, changes and deletes a VLAN sub-interface of a trunk (C(eth0.10)), optionally directly inside a
    named network namespace, with its flags, QoS maps, MTU, addresses and routes.
  - Flags, QoS maps, MTU, MAC address, admin state, addresses and routes change in place. The kernel keeps a
    VLAN's id and protocol for life (C(ip link set ... type vlan id 11) is accepted and ignored), so another
    O(vlan_id), O(protocol) or O(parent) makes the module fail without touching anything, unless
    O(recreate=true).
  - QinQ is two tasks, an 802.1ad outer VLAN on the trunk and an 802.1Q VLAN on top of it.
author:
  - underlay.network contributors (@underlay-network)
extends_documentation_fragment:
  - underlay.network.link
  - underlay.network.link.mac_address
options:
  name:
    description:
      - Name of the VLAN interface. Defaults to V(PARENT.VLAN_ID), e.g. V(eth0.10).
      - At most 15 bytes (V(enp129s0f1.4000) fits, V(enp129s0f1.4000.10) does not), without V(/), V(:) or
        whitespace.
    type: str
    required: false
  vlan_id:
    description:
      - The VLAN id, 1 to 4094. Required with O(state=present).
    type: int
  protocol:
    description:
      - The tag protocol. V(802.1ad) is the outer (service) tag of QinQ.
    type: str
    choices: ['802.1Q', '802.1ad']
    default: '802.1Q'
  flags:
    description:
      - VLAN flags. Only the flags given are set; the others stay as they are.
    type: dict
    suboptions:
      reorder_hdr:
        description: Hand frames to the stack with the VLAN header removed (the kernel's default is on).
        type: bool
      gvrp:
        description: Register the VLAN with GVRP.
        type: bool
      mvrp:
        description: Register the VLAN with MVRP.
        type: bool
      loose_binding:
        description: Do not follow the parent's operational state.
        type: bool
  ingress_qos_map:
    description:
      - 'Maps the 802.1p priority of received frames (0 to 7) to the packet priority, for example C({5: 3}).'
      - Entries given are set; other entries stay as they are.
    type: dict
  egress_qos_map:
    description:
      - 'Maps the packet priority of sent frames to an 802.1p priority (0 to 7), for example C({6: 5}).'
      - Entries given are set; other entries stay as they are.
    type: dict
seealso:
  - module: underlay.network.macvlan_link
  - module: underlay.network.ipvlan_link
'''

EXAMPLES = r'''
- name: Two VLANs on the trunk with the host's addresses (the seed's eth0.10 and eth0.20)
  underlay.network.vlan_iface:
    parent: eth0
    vlan_id: "{{ item.id }}"
    addresses:
      - "{{ item.address }}"
  loop:
    - {id: 10, address: 172.28.244.1/24}
    - {id: 20, address: 172.28.248.1/24}

- name: QinQ - the outer 802.1ad service tag ...
  underlay.network.vlan_iface:
    name: eth0.100
    parent: eth0
    vlan_id: 100
    protocol: 802.1ad

- name: ... and the inner customer tag on top of it
  underlay.network.vlan_iface:
    name: eth0.100.10
    parent: eth0.100
    vlan_id: 10

- name: Move a VLAN to another id (the kernel cannot do it in place)
  underlay.network.vlan_iface:
    name: vlan-app
    parent: eth0
    vlan_id: 11
    recreate: true

- name: Remove eth0.10
  underlay.network.vlan_iface:
    parent: eth0
    vlan_id: 10
    state: absent
'''

RETURN = r'''
link:
  description: The VLAN interface as it now is (in check mode, as it would be); empty when absent.
  returned: always
  type: dict
  contains:
    name:
      description: Interface name.
      type: str
      sample: eth0.10
    kind:
      description: Link kind.
      type: str
      sample: vlan
    netns:
      description: Namespace the interface lives in; null for the task's own namespace.
      type: str
      sample: null
    parent:
      description: Parent interface in the task's namespace.
      type: str
      sample: eth0
    vlan_id:
      description: VLAN id.
      type: int
      sample: 10
    protocol:
      description: Tag protocol.
      type: str
      sample: 802.1Q
    flags:
      description: VLAN flags.
      type: dict
      sample: {reorder_hdr: true, gvrp: false, mvrp: false, loose_binding: false}
    ingress_qos_map:
      description: Ingress QoS map.
      type: dict
      sample: {}
    egress_qos_map:
      description: Egress QoS map.
      type: dict
      sample: {}
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
      sample: [172.28.244.1/24]
    routes:
      description: Static routes through the interface in the main table.
      type: list
      elements: dict
      sample: []
actions:
  description: The changes applied, in order (empty in check mode and when nothing changed).
  returned: always
  type: list
  elements: str
  sample: [create vlan eth0.10 in the task's network namespace, add address 172.28.244.1/24, set admin_state up]
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
    run_link_module('vlan')


if __name__ == '__main__':
    main()
