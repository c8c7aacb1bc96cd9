#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: macvtap_link
short_description: Manage macvtap links, the way a VM reaches the physical network
version_added: 0.1.0
description:
  - Creates, changes and deletes a macvtap link on a parent interface, optionally directly inside a named
    network namespace, with its MAC address, MTU, addresses and routes, and makes its tap device node
    C(/dev/tapN) with the owner, group and mode an unprivileged qemu or libvirt needs to open it.
  - A macvtap is a macvlan whose frames go to a character device instead of the network stack, which is what
    libvirt's C(<interface type='direct'>) attaches a VM to. It has the macvlan modes; a VM on it is reached
    from other hosts, and from the host itself only through a shim (see M(underlay.network.macvlan_link)).
  - It is a module of its own, not a mode of M(underlay.network.macvlan_link), because its tap device node is
    an object of its own, with options (O(tap_owner), O(tap_group), O(tap_mode)) that mean nothing for a
    macvlan.
  - Reads the link and its node, compares them with what is declared and changes only the difference. Mode,
    source MAC list, MTU, MAC address, admin state, addresses, routes and the node change in place; another
    parent, or entering or leaving V(passthru) mode, needs O(recreate=true).
  - Every input is validated before anything is touched; a O(tap_owner) or O(tap_group) that does not exist
    makes the module fail without a change. The parent must not be a macvtap itself.
author:
  - underlay.network contributors (@underlay-network)
extends_documentation_fragment:
  - underlay.network.link
  - underlay.network.link.mac_address
  - underlay.network.link.macvlan
  - underlay.network.link.tap_device
seealso:
  - module: underlay.network.macvlan_link
  - module: underlay.network.links
  - name: libvirt's direct attachment (macvtap)
    description: How libvirt attaches a VM to a macvtap.
    link: https://libvirt.org/formatdomain.html#direct-attachment-to-physical-interface
'''

EXAMPLES = r'''
- name: A macvtap for a VM on the uplink, openable by the kvm group
  underlay.network.macvtap_link:
    name: vm1
    parent: eth0
    mode: bridge
    tap_group: kvm
    tap_mode: '0660'
  register: vm1_tap

- name: Start the VM on it (qemu reads and writes the link's frames through the tap device)
  ansible.builtin.debug:
    msg: >-
      qemu-system-x86_64 -netdev tap,id=n0,fd=3 3<>{{ vm1_tap.link.tap_device.path }}
      -device virtio-net-pci,netdev=n0,mac={{ vm1_tap.link.mac_address }}

- name: Remove it
  underlay.network.macvtap_link:
    name: vm1
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
      sample: macvtap
    netns:
      description: Namespace the link lives in; null for the task's own namespace.
      type: str
      sample: net1
    parent:
      description: Parent interface in the task's namespace.
      type: str
      sample: eth0
    mode:
      description: Macvtap (macvlan) mode.
      type: str
      sample: bridge
    source_macs:
      description: Source MAC list (source mode).
      type: list
      elements: str
      sample: []
    tap_device:
      description:
        - The tap device node, C(/dev/tapN) (N is the ifindex), and its owner, group and mode; these are null
          while no node with the link's device numbers is there. In check mode, for a link not created yet, the
          path is null and the rest as declared.
      type: dict
      sample: {path: /dev/tap12, owner: root, group: kvm, mode: '0660'}
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
  sample: [create macvtap vm1 in netns 'net1', set admin_state up, make /dev/tap12 (241:1, root:kvm 0660)]
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
    run_link_module('macvtap')


if __name__ == '__main__':
    main()
