#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: docker_vlan_network
short_description: Docker macvlan and ipvlan networks, on an interface or on a VLAN of a trunk
version_added: 0.1.0
description:
  - Creates, re-creates and removes a Docker network of the C(macvlan) or C(ipvlan) driver, the way to put
    containers straight on a physical network (or one VLAN of it).
  - With O(trunk) and O(vlan_id) the network sits on the VLAN sub-interface C(TRUNK.VLAN_ID), which this module
    creates first, through the same code as M(underlay.network.vlan_iface). Docker then does not own it, so it
    survives C(docker network rm) (Docker deletes sub-interfaces it created itself), and the module marks it
    as its own (interface alias C(underlay.network/docker_vlan_network)).
  - Everything that can be checked is checked before the first change, with a message naming the value and the
    fix. In the parameters, before the engine is asked anything, a pool's gateway outside its subnet, an
    O(ipam_config[].ip_range) outside its subnet, an aux address outside the subnet or on the gateway, and
    overlapping pools. On the engine, a parent already used by another macvlan or ipvlan network, naming that
    network (Docker allows one per parent and its own error names only an id), and a subnet overlapping
    another network's. In the kernel, a missing O(trunk) or O(parent).
  - A Docker network cannot be changed in place. When the existing network differs (pools compared regardless
    of their order, driver options completed with the engine's defaults), O(recreate) decides.
  - When a step on the engine fails after the first change (a refusal, or no answer within O(timeout)), the
    module reads the engine again and puts the previous network back with the containers it had, then fails
    saying whether that worked. A VLAN sub-interface the task made is deleted again when no network sits on it
    in the end. When putting back fails too (the engine still not answering), the message says so.
author:
  - underlay.network contributors (@underlay-network)
extends_documentation_fragment:
  - underlay.network.docker
options:
  name:
    description:
      - Name of the Docker network.
    type: str
    required: true
  state:
    description:
      - V(present) creates the network (re-creating it on drift as O(recreate) allows), V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
  driver:
    description:
      - The Docker network driver.
      - C(ipvlan) needs the kernel's ipvlan support on the host.
    type: str
    choices: [macvlan, ipvlan]
    default: macvlan
  parent:
    description:
      - An existing interface the network sits on, e.g. V(eth0) or a VLAN interface made by
        M(underlay.network.vlan_iface). Never created, changed or removed by this module.
      - Exactly one of O(parent) and O(trunk) with O(state=present).
    type: str
  trunk:
    description:
      - The interface that carries tagged traffic. With O(vlan_id), the network sits on the VLAN sub-interface
        O(vlan_name), created by this module if it does not exist.
    type: str
  vlan_id:
    description:
      - The VLAN id (1 to 4094) of the sub-interface on O(trunk). Required with O(trunk).
    type: int
  vlan_name:
    description:
      - Name of the VLAN sub-interface. Defaults to V(TRUNK.VLAN_ID), e.g. V(eth0.10), as Docker names it.
    type: str
  macvlan_mode:
    description:
      - Mode of the containers' macvlan links. Only with O(driver=macvlan); the engine's default is V(bridge).
      - V(passthru) allows a single container.
    type: str
    choices: [bridge, private, vepa, passthru]
  ipvlan_mode:
    description:
      - Mode of the ipvlan port. Only with O(driver=ipvlan); the engine's default is V(l2).
      - The mode is the parent's, shared by every ipvlan link on it, shims included
        (see M(underlay.network.ipvlan_link)).
    type: str
    choices: [l2, l3]
  ipvlan_flag:
    description:
      - Flag of the ipvlan port. Only with O(driver=ipvlan); the engine's default is V(bridge).
    type: str
    choices: [bridge, private, vepa]
  ipam_config:
    description:
      - The address pools, IPv4 and IPv6. At least one with O(state=present). Any IPv6 pool enables IPv6 on the
        network.
      - Pools must not overlap each other, nor the subnet of any other network on the engine.
    type: list
    elements: dict
    suboptions:
      subnet:
        description:
          - The subnet of the physical network (or VLAN), e.g. V(172.28.10.0/24), without host bits.
        type: str
        required: true
      gateway:
        description:
          - The router of that subnet, inside it. When not set, the engine picks one and it is not compared.
        type: str
      ip_range:
        description:
          - The part of the subnet the engine hands out to containers, e.g. V(172.28.10.128/27). Give each host
            its own range; every engine allocates on its own, so two hosts sharing a subnet must not share one.
          - When not set, the whole subnet.
        type: str
      aux_addresses:
        description:
          - 'Addresses the engine must never hand out, by name, e.g. C({host: 172.28.10.2}) for the host shim.'
          - Inside the subnet and not the gateway. Inside or outside O(ipam_config[].ip_range) alike, because the engine
            reserves an aux address wherever it lies in the subnet, hands it to no container and refuses it
            as a container's static address.
        type: dict
  internal:
    description:
      - Make the network internal (no default route for its containers).
    type: bool
    default: false
  labels:
    description:
      - Labels of the network. When not set, the existing labels are not compared.
    type: dict
  recreate:
    description:
      - What to do when the existing network differs from the wanted one.
      - V(never) fails, listing the differences.
      - V(when_unused) re-creates it if no container (running or stopped) is attached, and fails naming them
        otherwise.
      - V(always) also disconnects the attached containers, re-creates the network and reconnects them with the
        addresses they had (reported in RV(containers)); it fails before any change if an address would fall
        outside the new subnets or is a gateway or aux address of the new pools. Their MAC addresses on the
        network change. If a step fails halfway, the previous network and its containers are put back.
    type: str
    choices: [never, when_unused, always]
    default: when_unused
  force:
    description:
      - With O(state=absent), disconnect attached containers and remove the network. Without it, the module
        fails naming them. If the removal then fails, the disconnected containers are reconnected.
    type: bool
    default: false
  remove_vlan:
    description:
      - With O(state=absent), O(trunk) and O(vlan_id), also delete the VLAN sub-interface, if this module created
        it and no other network sits on it. An interface it did not create is never removed (a warning says so).
      - While the VLAN carries other links than those of the network's own containers (a shim, a macvlan in
        another namespace, named or not), the module fails before any change, naming them (RV(carried)).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description:
      - Runs every check, reports what would change and the containers that would be disconnected; changes
        nothing, neither on the engine nor in the kernel.
  diff_mode:
    support: full
    description:
      - Shows the network before and after.
notes:
  - The VLAN sub-interface is only left in place on removal when this module (or M(underlay.network.vlan_iface))
    made it. A network created by hand on C(eth0.10) whose sub-interface Docker made stays Docker's until the
    network is re-created by this module.
  - Reconnected containers keep their addresses and network aliases, not their MAC addresses.
requirements:
  - pyroute2 >= 0.9, on the managed host
seealso:
  - module: underlay.network.vlan_iface
  - module: underlay.network.macvlan_link
  - module: underlay.network.ipvlan_link
  - name: Docker macvlan network driver
    description: Docker's documentation of macvlan networks.
    link: https://docs.docker.com/engine/network/drivers/macvlan/
'''

EXAMPLES = r'''
- name: The seed's macvlan network, with a range for this host's containers and the shim's address reserved
  underlay.network.docker_vlan_network:
    name: macvlan
    parent: eth0
    ipam_config:
      - subnet: 172.28.240.0/20
        gateway: 172.28.240.1
        ip_range: 172.28.244.0/22
        aux_addresses:
          host: 172.28.244.254

- name: One macvlan network per VLAN (one network per parent, so VLANs are the way to have several)
  underlay.network.docker_vlan_network:
    name: "vlan{{ item.id }}"
    trunk: eth0
    vlan_id: "{{ item.id }}"
    ipam_config:
      - subnet: "{{ item.subnet }}"
        gateway: "{{ item.gateway }}"
  loop:
    - {id: 10, subnet: 172.28.244.0/24, gateway: 172.28.244.1}
    - {id: 20, subnet: 172.28.248.0/24, gateway: 172.28.248.1}

- name: An ipvlan L2 network, dual stack
  underlay.network.docker_vlan_network:
    name: ipvlan_l2
    driver: ipvlan
    ipvlan_mode: l2
    parent: eth0
    ipam_config:
      - subnet: 172.28.240.0/20
        gateway: 172.28.240.1
      - subnet: 2001:db8:240::/64
        gateway: 2001:db8:240::1

- name: Change the range even though containers are attached (they are reconnected with their addresses)
  underlay.network.docker_vlan_network:
    name: macvlan
    parent: eth0
    ipam_config:
      - subnet: 172.28.240.0/20
        gateway: 172.28.240.1
        ip_range: 172.28.248.0/22
    recreate: always

- name: Remove a VLAN network and the sub-interface this module made for it
  underlay.network.docker_vlan_network:
    name: vlan10
    trunk: eth0
    vlan_id: 10
    state: absent
    remove_vlan: true
'''

RETURN = r'''
network:
  description:
    - The network after the task (in check mode, as it would be); empty when absent.
    - Driver options are completed with the engine's defaults. A pool's gateway is null when the engine picks it
      and the network is not created yet.
  returned: always
  type: dict
  sample:
    name: vlan10
    driver: macvlan
    options: {parent: eth0.10, macvlan_mode: bridge}
    pools:
      - {subnet: 172.28.244.0/24, gateway: 172.28.244.1, ip_range: 172.28.244.128/25,
         aux_addresses: {host: 172.28.244.2}}
    enable_ipv6: false
    internal: false
    labels: {}
vlan:
  description:
    - The VLAN sub-interface, as M(underlay.network.vlan_iface) reports it, when O(trunk) is given; its
      C(managed_by) is V(underlay.network/docker_vlan_network) when this module created it.
  returned: always
  type: dict
  sample: {name: eth0.10, kind: vlan, parent: eth0, vlan_id: 10, protocol: 802.1Q, admin_state: up,
           managed_by: underlay.network/docker_vlan_network}
containers:
  description:
    - Containers that were disconnected (and, on re-creation, reconnected), with their addresses; in check mode
      those that would be.
  returned: always
  type: list
  elements: dict
  sample: [{name: web1, running: true, ipv4_address: 172.28.244.130, ipv6_address: null}]
carried:
  description:
    - On a refused O(remove_vlan), the links on the VLAN that deleting it would delete too.
  returned: failure
  type: list
  elements: str
  sample: ["shim10 (macvlan in the task's network namespace)"]
actions:
  description: The changes made, in order.
  returned: always
  type: list
  elements: str
  sample: [create vlan eth0.10 in the task's network namespace, set admin_state up, create network vlan10]
'''

from ansible_collections.underlay.network.plugins.module_utils._docker.reconcile import run_network_module


def main():
    run_network_module()


if __name__ == '__main__':
    main()
