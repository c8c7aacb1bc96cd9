#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: links
short_description: Converge a host's whole underlay (namespaces, VLANs, macvlan, macvtap and ipvlan links) in one task
version_added: 0.1.0
description:
  - Takes every namespace and link a host should have and converges them in one call, with the same code as
    M(underlay.network.netns), M(underlay.network.vlan_iface), M(underlay.network.macvlan_link),
    M(underlay.network.macvtap_link) and M(underlay.network.ipvlan_link). That makes one task per host instead
    of one per object, and one read of the kernel's state instead of one per object.
  - States work like those of network resource modules. V(merged) adds and changes what is declared.
    V(replaced) makes each declared link exactly as declared (addresses and routes not listed are removed),
    but never strips a link the call did not create unless told to adopt it (O(config.links[].adopt)).
    V(overridden) does what V(replaced) does and also removes the links this collection created earlier and
    no longer declares. V(deleted) removes what is declared.
  - Links this collection creates carry a marker as their alias (C(ip link show) prints it; C(managed_by) in
    RV(links) reports it). It is V(underlay.network), or V(underlay.network/OWNER) with O(owner). Pruning goes
    by the call's marker only, exactly, never by names. A link without it is never removed by V(overridden),
    whether it has no marker, another owner's, or is one of the VLANs M(underlay.network.docker_vlan_network)
    makes on a user's behalf (marked V(underlay.network/docker_vlan_network)).
  - Order. Namespaces come first, then links in stacking order (a VLAN before the links declared on it);
    deletions run the other way, the most deeply stacked links first.
  - Deletions are batched. All links to delete in one namespace at one stacking depth go in one
    group delete (the kernel removes them together), and V(deleted) removes a declared namespace with
    everything in it. Deleting links one by one would cost a kernel RCU grace period (about 20 ms) each.
    Each batch uses a link group number picked at random that no link has, and checked again just before the
    group delete to hold only its own links, so two calls at once on one host never delete each other's links.
    A link to delete that something else removed meanwhile counts as done (RV(actions) says C(gone already)).
  - Everything is read and checked before anything is changed. That covers the whole input, parents,
    link kinds, changes the kernel cannot make in place, ipvlan port modes and links a pruning would take
    along. It also covers what the kernel is known to refuse, namely route gateways that are not on-link
    through their link and, for a link to re-create, a VLAN id already taken on the new parent or a macvlan
    MAC address in use there. So a mistake anywhere in the input changes nothing.
  - If the kernel still refuses a step while applying, the call stops at that step and fails. Objects
    converged before it stay converged. The failing link is put back as it was. A link being created is
    removed again (or is gone already, if the kernel removed it with its parent). The steps already applied
    to an existing link are undone. A link being re-created is created again as it was, but the links
    stacked on it that went with its deletion do not come back. A batched deletion removes all of its
    links or none. When a parent is deleted by something else while the call runs, the kernel removes the
    links on it too, those this call made included; the message then names that parent as the cause. A
    call whose links are gone right after it applied them fails too, rather than reporting links that are
    not there. A namespace being created is removed again, and in an existing one the sysctls already
    written are written back (lo stays up). Only when undoing fails too does the failing link stay partly
    changed, and the message then says what it keeps.
  - The result lists the actions applied (RV(applied)), the object that failed (RV(failed_object)) and the
    objects not attempted (RV(not_attempted)), so the next run finishes the job. Objects converged before
    the failure are not rolled back, because undoing deletions would make new links with new ifindexes and
    MAC addresses, a change nobody asked for.
author:
  - underlay.network contributors (@underlay-network)
options:
  config:
    description:
      - The host's underlay. A role can pass a host's plan straight through (see the examples).
    type: dict
    default: {}
    suboptions:
      namespaces:
        description:
          - Named network namespaces, created before any link (see M(underlay.network.netns)).
          - With O(state=deleted) each listed namespace is deleted with everything inside it.
          - V(overridden) never deletes a namespace that is not listed (namespaces carry no marker). It does
            prune marked links inside the listed ones.
        type: list
        elements: dict
        default: []
        suboptions:
          name:
            description: Namespace name, as C(ip netns list) shows it.
            type: str
            required: true
          sysctls:
            description: C(net.*) sysctls to set inside it, as for O(underlay.network.netns#module:sysctls).
            type: dict
            default: {}
      parents:
        description:
          - Settings of interfaces this call does not create and never deletes, such as the NIC the links are
            stacked on. Only the declared settings are set; nothing else of the interface is touched.
          - Each must exist in the task's namespace when the call starts. They are set before any link is
            created. With O(state=deleted) they are left as they are.
        type: list
        elements: dict
        default: []
        suboptions:
          name:
            description: Interface name in the task's namespace.
            type: str
            required: true
          promisc:
            description:
              - Promiscuous mode, as C(ip link set NAME promisc on|off) sets it (what nmstate and NetworkManager
                call accept-all-mac-addresses). Some NICs and virtual switch ports pass the macvlans' and
                macvtaps' MAC addresses only with it. Left as it is when not set.
              - It is the setting asked for that is compared. A capture (tcpdump) or a bridge makes an interface
                promiscuous too, but that is counted apart and neither read nor changed.
            type: bool
      links:
        description:
          - The links. Each has the options of its kind's module, and a link is identified by O(config.links[].name)
            and O(config.links[].netns).
          - The order does not matter. A link declared on another declared link (a macvlan on a VLAN) is
            created after it.
        type: list
        elements: dict
        default: []
        suboptions:
          kind:
            description: The kind of link, and so the module whose options apply.
            type: str
            required: true
            choices: [ipvlan, macvlan, macvtap, vlan]
          name:
            description:
              - Link name. For V(vlan) links it defaults to C(PARENT.VLAN_ID); the other kinds need it.
            type: str
          parent:
            description:
              - The interface the link is stacked on, in the namespace the task runs in. It may be declared
                in the same call.
              - Required unless O(state=deleted).
            type: str
          netns:
            description:
              - Namespace the link lives in, declared in O(config.namespaces) or already there. Defaults to
                the task's namespace.
            type: str
          admin_state:
            description: V(up) (the default) or V(down).
            type: str
            choices: [up, down]
          mtu:
            description: MTU, not larger than the parent's. Left as it is when not set.
            type: int
          mac_address:
            description: MAC address (V(macvlan), V(macvtap) and V(vlan) only).
            type: str
          addresses:
            description:
              - Addresses in CIDR form. With V(merged) they are added to the link's other addresses; with
                V(replaced) and V(overridden) they are the link's only ones (none when not set).
            type: list
            elements: str
          routes:
            description:
              - Routes through the link in the main table, as for O(underlay.network.macvlan_link#module:routes).
                Merged or replaced like O(config.links[].addresses).
            type: list
            elements: dict
            suboptions:
              dest:
                description: Destination prefix, or V(default).
                type: str
                required: true
              gateway:
                description: Next hop; on-link when not set.
                type: str
              metric:
                description: Route metric.
                type: int
          mode:
            description:
              - For V(macvlan) and V(macvtap), a mode of O(underlay.network.macvlan_link#module:mode) (default
                V(bridge)).
                For V(ipvlan), a mode of O(underlay.network.ipvlan_link#module:mode) (default V(l2)).
            type: str
          source_macs:
            description:
              - V(macvlan) and V(macvtap) in mode V(source) only, see
                O(underlay.network.macvlan_link#module:source_macs).
            type: list
            elements: str
          tap_owner:
            description: V(macvtap) only, see O(underlay.network.macvtap_link#module:tap_owner).
            type: str
          tap_group:
            description: V(macvtap) only, see O(underlay.network.macvtap_link#module:tap_group).
            type: str
          tap_mode:
            description: V(macvtap) only, see O(underlay.network.macvtap_link#module:tap_mode).
            type: str
          flag:
            description: V(ipvlan) only, see O(underlay.network.ipvlan_link#module:flag) (default V(bridge)).
            type: str
          vlan_id:
            description: V(vlan) only, 1 to 4094. Required for V(vlan) links unless O(state=deleted).
            type: int
          protocol:
            description: V(vlan) only, V(802.1Q) (the default) or V(802.1ad).
            type: str
          flags:
            description: V(vlan) only, see O(underlay.network.vlan_iface#module:flags).
            type: dict
            suboptions:
              reorder_hdr:
                description: Reorder the VLAN header.
                type: bool
              gvrp:
                description: GVRP registration.
                type: bool
              loose_binding:
                description: Do not follow the parent's operational state.
                type: bool
              mvrp:
                description: MVRP registration.
                type: bool
          ingress_qos_map:
            description: V(vlan) only, see O(underlay.network.vlan_iface#module:ingress_qos_map).
            type: dict
          egress_qos_map:
            description: V(vlan) only, see O(underlay.network.vlan_iface#module:egress_qos_map).
            type: dict
          adopt:
            description:
              - Take over this link when it exists without the call's marker (see O(owner)), because it was
                made by hand, by another tool or by another owner. The call then converges it as declared and
                marks it with the call's marker, so that V(overridden) prunes it once it is no longer declared.
              - Without it, V(replaced) and V(overridden) never remove addresses or routes from such a link.
                When they would, the call fails before anything is changed, naming the link, what it carries
                and what would go. Such a link that would lose nothing is converged and keeps its marker (or
                none). V(merged) removes nothing from any link and marks none without it.
              - No effect with O(state=deleted).
            type: bool
            default: false
  owner:
    description:
      - Who owns the links this call creates. They get the marker V(underlay.network/OWNER), and V(overridden)
        (and V(deleted) with nothing declared) removes only links that carry exactly that marker. Roles set it
        (to their name) so that one role's V(overridden) never prunes another role's links.
      - Without it the marker is V(underlay.network). Such a call prunes only links with exactly that marker,
        never those of an owner.
      - A declared link that exists with another marker (another owner's, or no owner's) is converged without
        losing an address or a route (see O(config.links[].adopt)) and keeps that marker, also when it is
        re-created, so pruning it stays with its owner. A declared link without a marker stays without one
        unless it is re-created or adopted (O(config.links[].adopt)).
      - 1 to 32 lowercase letters, digits and underscores. V(docker_vlan_network) is taken (by
        M(underlay.network.docker_vlan_network)).
    type: str
  state:
    description:
      - V(merged) creates and updates the declared namespaces and links. Addresses and routes are added to
        those already there, and nothing undeclared is touched.
      - V(replaced) also makes each declared link's addresses and routes exactly the declared ones. A declared
        link that exists without the call's marker is not stripped. When it would lose an address or a route,
        the call fails before anything is changed, unless the link has O(config.links[].adopt).
      - V(overridden) does what V(replaced) does, then removes every link that carries the call's marker
        (see O(owner)) and is not declared. It looks in the task's namespace and in the namespaces
        this call declares or puts links in. Such links are removed before the declared ones are applied,
        so their addresses can move. Pruning fails before anything is changed when it would take along
        links stacked on a pruned link that this call keeps or does not know, another owner's links included,
        and links in namespaces without a name (a Docker container's macvlan on a VLAN).
      - V(deleted) removes the declared links (those not there already count as done) and the declared
        namespaces with everything in them. With nothing declared it removes every link with the call's marker
        (see O(owner)) in the task's namespace, refusing as V(overridden) does when links of others are stacked
        on them.
    type: str
    choices: [merged, replaced, overridden, deleted]
    default: merged
  recreate:
    description:
      - Lets a link be deleted and created anew when it differs in something the kernel cannot change in
        place (as O(underlay.network.macvlan_link#module:recreate)). Links stacked on a re-created link go with
        it and are created again when declared.
    type: bool
    default: false
  allow_port_mode_change:
    description:
      - Lets an ipvlan link switch the mode of its parent's port, and so of every ipvlan on it
        (O(underlay.network.ipvlan_link#module:allow_port_mode_change)).
    type: bool
    default: false
requirements:
  - pyroute2 >= 0.9
attributes:
  check_mode:
    support: full
    description: Plans the whole call, reports what would change and changes nothing.
  diff_mode:
    support: full
    description: Shows every parent, namespace and link that changes, before and after.
notes:
  - Needs root (C(CAP_NET_ADMIN); C(CAP_SYS_ADMIN) for namespaces).
  - Use M(underlay.network.links_info) to read a host's links without changing anything.
seealso:
  - module: underlay.network.links_info
  - module: underlay.network.netns
  - module: underlay.network.vlan_iface
  - module: underlay.network.macvlan_link
  - module: underlay.network.ipvlan_link
'''

EXAMPLES = r'''
- name: Two VLANs on the trunk, a host shim on each, and a container namespace on VLAN 10
  underlay.network.links:
    config:
      namespaces:
        - name: web1
      links:
        - {kind: vlan, parent: eth1, vlan_id: 10}
        - {kind: vlan, parent: eth1, vlan_id: 20}
        - kind: macvlan
          name: shim10
          parent: eth1.10
          addresses: [192.0.2.254/32]
          routes: [{dest: 192.0.2.0/26}]
        - kind: macvlan
          name: shim20
          parent: eth1.20
          addresses: [198.51.100.254/32]
          routes: [{dest: 198.51.100.0/26}]
        - {kind: macvlan, name: eth0, parent: eth1.10, netns: web1, addresses: [192.0.2.10/24]}

- name: A role passes a host's plan straight through, and removes what the plan no longer has
  underlay.network.links:
    config: "{{ underlay_host_plan }}"
    state: overridden

- name: A role's links, pruned by the role alone (marker underlay.network/vlan_host)
  underlay.network.links:
    owner: vlan_host
    state: overridden
    config:
      links:
        - {kind: vlan, parent: eth1, vlan_id: 10}

- name: Remove every link this collection made in the task's namespace without an owner
  underlay.network.links:
    state: deleted
'''

RETURN = r'''
links:
  description:
    - The declared links as they now are (in check mode, as they would be), in stacking order; empty with
      O(state=deleted). Each has the keys of the link returned by M(underlay.network.macvlan_link),
      M(underlay.network.macvtap_link), M(underlay.network.vlan_iface) or M(underlay.network.ipvlan_link) for
      its kind.
  returned: always
  type: list
  elements: dict
  sample:
    - {name: eth1.10, kind: vlan, netns: null, parent: eth1, vlan_id: 10, protocol: 802.1Q, mtu: 1500,
       admin_state: up, mac_address: '52:54:00:12:34:56', addresses: [], routes: [], managed_by: underlay.network}
namespaces:
  description: The declared namespaces, as the RV(underlay.network.netns#module:namespace) result describes them.
  returned: always
  type: list
  elements: dict
parents:
  description: The declared parents' settings as they now are (in check mode, as they would be).
  returned: always
  type: list
  elements: dict
  sample: [{name: eth1, promisc: true}]
deleted:
  description: The links (C(NETNS/NAME) for links inside a namespace) and namespaces this call removes.
  returned: always
  type: list
  elements: str
  sample: [old-shim, web2/eth0]
summary:
  description: How many links were created, updated, re-created, left unchanged and deleted, and namespaces changed.
  returned: always
  type: dict
  sample: {created: 3, updated: 1, recreated: 0, unchanged: 12, deleted: 2, namespaces_changed: 1,
           namespaces_deleted: 0}
marker:
  description:
    - The marker the links this call creates carry and the only one it prunes by (see O(owner)).
  returned: always
  type: str
  sample: underlay.network/vlan_host
actions:
  description: Every change applied, in order, each prefixed with the link it belongs to.
  returned: always
  type: list
  elements: str
  sample: ['eth1.10: create vlan eth1.10 in the task''s network namespace', 'eth1.10: set admin_state up']
applied:
  description: When the kernel refused a step, the actions applied before it (the host keeps them).
  returned: failure
  type: list
  elements: str
failed_object:
  description:
    - When the kernel refused a step, the object whose step it was. It was put back as it had been, except as the
      description says (links stacked on a link being re-created, and a failure to undo, named in the message).
  returned: failure
  type: str
  sample: link shim20
not_attempted:
  description: When the kernel refused a step, the objects the call did not get to.
  returned: failure
  type: list
  elements: str
undone:
  description:
    - When the kernel refused a step of an in-place change of an existing link, the steps applied to that link
      before it, which were undone again (each prefixed with the link).
  returned: failure
  type: list
  elements: str
  sample: ['shim: set mtu 1400', 'shim: add address 172.28.250.9/24']
would_remove:
  description:
    - When V(replaced) or V(overridden) were refused because they would strip a declared link the call did not
      create (see O(config.links[].adopt)), the addresses and routes they would have removed from it.
  returned: failure
  type: dict
  sample: {addresses: [192.0.2.10/24], routes: [{dest: default, gateway: 192.0.2.1, metric: 0}]}
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.underlay.network.plugins.module_utils._common.errors import UnderlayError, fail_from
from ansible_collections.underlay.network.plugins.module_utils._kernel.pyroute2_import import require_pyroute2
from ansible_collections.underlay.network.plugins.module_utils._links.host import converge_host
from ansible_collections.underlay.network.plugins.module_utils._links.host_plan import host_options
from ansible_collections.underlay.network.plugins.module_utils._links.spec import AGGREGATE_ARGUMENT_SPEC


def main():
    module = AnsibleModule(argument_spec=AGGREGATE_ARGUMENT_SPEC, supports_check_mode=True)
    require_pyroute2(module)
    params = module.params
    options = host_options(params['state'], params['recreate'], params['allow_port_mode_change'], module.check_mode)
    try:
        result = converge_host(params['config'], params['state'], options, params['owner'])
    except UnderlayError as exc:
        fail_from(module, exc)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
