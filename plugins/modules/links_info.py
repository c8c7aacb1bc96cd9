#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: links_info
short_description: Report a host's virtual links (VLAN, macvlan, ipvlan, ...), also inside its namespaces
version_added: 0.1.0
description:
  - Reads every virtual link of the namespace the task runs in and, when asked, of named network namespaces.
    Physical devices (unless O(devices)) and C(lo) are left out. It changes nothing.
  - Each link comes with its kind and kind settings (macvlan and macvtap mode, a macvtap's tap device node,
    ipvlan mode and flag, VLAN id and protocol), its parent (resolved across namespaces), namespace, MAC
    address, MTU, state, addresses and routes, and whether this collection manages it (RV(links[].managed_by)).
  - This is what the C(verify) role and users' own playbooks read. M(underlay.network.links) takes the same
    shape as input.
author:
  - underlay.network contributors (@underlay-network)
options:
  namespaces:
    description:
      - Named namespaces to read as well, as C(ip netns list) shows them. V(all) reads every named namespace.
      - A listed namespace that does not exist makes the module fail and says which.
    type: list
    elements: str
    default: []
  managed_only:
    description:
      - Only links this collection created (those carrying its marker).
    type: bool
    default: false
  kinds:
    description:
      - Only links of these kinds (for example V(vlan), V(macvlan), V(macvtap), V(ipvlan), V(veth)). All virtual
        kinds when empty.
    type: list
    elements: str
    default: []
  devices:
    description:
      - Report physical devices too (kind V(device), C(lo) left out), for example the host's NIC with its
        addresses, which tell what the host already reaches directly.
    type: bool
    default: false
  convergence:
    description:
      - Also read the host's convergence record (see M(underlay.network.convergence_record)) and tell whether the
        host is still in the state recorded (RV(convergence)).
    type: bool
    default: false
requirements:
  - pyroute2 >= 0.9
attributes:
  check_mode:
    support: full
    description: It only reads, so it runs the same in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to show.
notes:
  - Needs C(CAP_NET_ADMIN) to look into other namespaces, as C(ip netns exec) does.
seealso:
  - module: underlay.network.links
'''

EXAMPLES = r'''
- name: Every virtual link of the host and of its namespaces
  underlay.network.links_info:
    namespaces: [all]
  register: underlay

- name: The VLAN ids on the trunk
  ansible.builtin.debug:
    msg: "{{ underlay.links | selectattr('kind', 'eq', 'vlan') | map(attribute='vlan_id') | list }}"

- name: Only what this collection manages, macvlan and ipvlan only
  underlay.network.links_info:
    managed_only: true
    kinds: [macvlan, ipvlan]
'''

RETURN = r'''
links:
  description:
    - The links, those of the task's namespace first, then by namespace and name.
    - Kind-specific keys are present for their kind only. V(macvlan) has C(mode) and C(source_macs), V(macvtap)
      also C(tap_device) (see RV(underlay.network.macvtap_link#module:link.tap_device)).
      V(ipvlan) has C(mode) and C(flag). V(vlan) has C(vlan_id), C(protocol), C(flags), C(ingress_qos_map)
      and C(egress_qos_map).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Link name.
      type: str
    kind:
      description: Link kind as the kernel names it; V(device) for a physical device (O(devices)).
      type: str
    netns:
      description: The namespace the link is in; null for the task's own.
      type: str
    parent:
      description:
        - The link it is stacked on, in the task's namespace; null when it has none or the parent is in
          a namespace other than the task's.
      type: str
    mac_address:
      description: MAC address.
      type: str
    mtu:
      description: MTU.
      type: int
    admin_state:
      description: V(up) or V(down).
      type: str
    addresses:
      description: Addresses in CIDR form (IPv6 link-local left out).
      type: list
      elements: str
    routes:
      description: Static routes through the link in the main table (C(dest), C(gateway), C(metric)).
      type: list
      elements: dict
    managed_by:
      description:
        - The collection's marker when it created the link (V(underlay.network) or V(underlay.network/MODULE)),
          else null.
      type: str
  sample:
    - {name: eth1.10, kind: vlan, netns: null, parent: eth1, vlan_id: 10, protocol: 802.1Q, mtu: 1500,
       mac_address: '52:54:00:12:34:56', admin_state: up, addresses: [192.0.2.1/24], routes: [],
       managed_by: underlay.network}
    - {name: eth0, kind: macvlan, netns: web1, parent: eth1.10, mode: bridge, source_macs: [], mtu: 1500,
       mac_address: '02:42:c0:00:02:0a', admin_state: up, addresses: [192.0.2.10/24], routes: [],
       managed_by: underlay.network}
default_routes:
  description:
    - The default routes of the task's namespace (main table), whatever made them. The interface that carries
      one is the host's uplink, which the roles never cut off (see the P(underlay.network.fleet_plan#filter)
      filter's C(protected) addresses).
  returned: always
  type: list
  elements: dict
  contains:
    interface:
      description: The interface the route goes out of.
      type: str
    gateway:
      description: The next hop; null for an on-link default route.
      type: str
    family:
      description: V(ipv4) or V(ipv6).
      type: str
  sample:
    - {interface: eth0, gateway: 172.28.0.1, family: ipv4}
convergence:
  description:
    - With O(convergence), what the host's convergence record says.
    - C(plan) is the digest of the plan recorded, null when there is no record (none was written since the last
      reboot, or it was removed). C(current) is true when the host's state is still exactly the one recorded.
    - A run of that plan on a host with C(current) true has nothing to converge.
  returned: when O(convergence) is true
  type: dict
  contains:
    plan:
      description: The recorded plan digest.
      type: str
    current:
      description: Whether the host's state is the recorded one.
      type: bool
  sample: {plan: 5f0c...e1, current: true}
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.underlay.network.plugins.module_utils._common.errors import UnderlayError, fail_from
from ansible_collections.underlay.network.plugins.module_utils._kernel.pyroute2_import import require_pyroute2
from ansible_collections.underlay.network.plugins.module_utils._links.info import LINKS_INFO_ARGUMENT_SPEC, links_info


def main():
    module = AnsibleModule(argument_spec=LINKS_INFO_ARGUMENT_SPEC, supports_check_mode=True)
    require_pyroute2(module)
    try:
        result = links_info(module.params)
    except UnderlayError as exc:
        fail_from(module, exc)
    module.exit_json(changed=False, **result)


if __name__ == '__main__':
    main()
