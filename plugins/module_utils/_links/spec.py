# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every argument spec of the link modules, in one place: the options all links share, each kind's own, the
single-link modules (macvlan_link, macvtap_link, vlan_iface, ipvlan_link) and the links module's config.

Their documentation is the doc fragment underlay.network.link (the shared options) and each module's
DOCUMENTATION; ansible-test sanity (validate-modules) holds those to these specs.
"""

from __future__ import annotations

from ansible_collections.underlay.network.plugins.module_utils._common.vocabulary import (
    ADD,
    IPVLAN_FLAGS,
    IPVLAN_MODES,
    LINK_KINDS,
    MACVLAN_MODES,
    MERGED,
    REPLACE,
    STATES,
    VLAN_FLAGS,
    VLAN_PROTOCOLS,
)
from ansible_collections.underlay.network.plugins.module_utils._netns.reconcile import NAMESPACE_SPEC

ROUTE_SPEC = dict(
    dest=dict(type='str', required=True),
    gateway=dict(type='str'),
    metric=dict(type='int'),
)
# For kinds with a MAC address of their own (doc fragment underlay.network.link.mac_address).
MAC_ADDRESS_SPEC = dict(mac_address=dict(type='str'))

MACVLAN_SPEC = dict(
    MAC_ADDRESS_SPEC,
    mode=dict(type='str', default='bridge', choices=list(MACVLAN_MODES)),
    source_macs=dict(type='list', elements='str'),
)
# A macvtap's tap device (doc fragment underlay.network.link.tap_device).
TAP_DEVICE_SPEC = dict(
    tap_owner=dict(type='str'),
    tap_group=dict(type='str'),
    tap_mode=dict(type='str'),
)

# Each kind's own options, shared by its module and the links module.
KIND_SPECS = {
    'macvlan': MACVLAN_SPEC,
    'macvtap': dict(MACVLAN_SPEC, **TAP_DEVICE_SPEC),
    'vlan': dict(
        MAC_ADDRESS_SPEC,
        vlan_id=dict(type='int'),
        protocol=dict(type='str', default='802.1Q', choices=list(VLAN_PROTOCOLS)),
        flags=dict(type='dict', options={name: dict(type='bool') for name in VLAN_FLAGS}),
        ingress_qos_map=dict(type='dict'),
        egress_qos_map=dict(type='dict'),
    ),
    'ipvlan': dict(
        mode=dict(type='str', default='l2', choices=list(IPVLAN_MODES)),
        flag=dict(type='str', default='bridge', choices=list(IPVLAN_FLAGS)),
    ),
}
# Options that belong to some kinds only, and which kinds.
KIND_OPTIONS = {option: sorted(kind for kind in LINK_KINDS if option in KIND_SPECS[kind])
                for kind in LINK_KINDS for option in KIND_SPECS[kind]}

# The options every link module shares (documented in doc_fragments/link.py).
LINK_ARGUMENT_SPEC = dict(
    name=dict(type='str', required=True),
    parent=dict(type='str'),
    netns=dict(type='str'),
    state=dict(type='str', default='present', choices=['present', 'absent']),
    admin_state=dict(type='str', default='up', choices=['up', 'down']),
    mtu=dict(type='int'),
    addresses=dict(type='list', elements='str'),
    addresses_mode=dict(type='str', default=ADD, choices=[ADD, REPLACE]),
    routes=dict(type='list', elements='dict', options=ROUTE_SPEC),
    routes_mode=dict(type='str', default=ADD, choices=[ADD, REPLACE]),
    recreate=dict(type='bool', default=False),
)
# The ipvlan port's mode is shared by every ipvlan on a parent (_links/kinds.py, Ipvlan.preflight).
PORT_MODE_SPEC = dict(allow_port_mode_change=dict(type='bool', default=False))

# AnsibleModule's keyword arguments of each single-link module, by the kind it manages.
LINK_MODULES = {
    'macvlan': dict(
        argument_spec=dict(LINK_ARGUMENT_SPEC, **KIND_SPECS['macvlan']),
        required_if=[('state', 'present', ('parent',))],
    ),
    'macvtap': dict(
        argument_spec=dict(LINK_ARGUMENT_SPEC, **KIND_SPECS['macvtap']),
        required_if=[('state', 'present', ('parent',))],
    ),
    'vlan': dict(
        argument_spec=dict(LINK_ARGUMENT_SPEC, name=dict(type='str'), **KIND_SPECS['vlan']),  # name: PARENT.VLAN_ID
        required_if=[('state', 'present', ('parent', 'vlan_id'))],
        required_one_of=[('name', 'parent')],
    ),
    'ipvlan': dict(
        argument_spec=dict(LINK_ARGUMENT_SPEC, **KIND_SPECS['ipvlan'], **PORT_MODE_SPEC),
        required_if=[('state', 'present', ('parent',))],
    ),
}

# One entry of the links module's config.links: the options every link shares, plus each kind's own. Defaults
# and choices of kind options stay with the kind (LinkKind.normalize): one option name (mode) has different ones
# per kind.
LINK_ENTRY_SPEC = dict(
    name=dict(type='str'),
    kind=dict(type='str', required=True, choices=sorted(LINK_KINDS)),
    parent=dict(type='str'),
    netns=dict(type='str'),
    admin_state=dict(type='str', choices=['up', 'down']),
    mtu=dict(type='int'),
    addresses=dict(type='list', elements='str'),
    routes=dict(type='list', elements='dict', options=ROUTE_SPEC),
    adopt=dict(type='bool', default=False),
    **{option: {key: value for key, value in spec.items() if key not in ('default', 'choices')}
       for kind in LINK_KINDS for option, spec in KIND_SPECS[kind].items()},
)

# One entry of the links module's config.parents: settings of an interface the call does not create.
PARENT_SPEC = dict(
    name=dict(type='str', required=True),
    promisc=dict(type='bool'),
)

AGGREGATE_ARGUMENT_SPEC = dict(
    config=dict(type='dict', default={}, options=dict(
        namespaces=dict(type='list', elements='dict', default=[], options=NAMESPACE_SPEC),
        parents=dict(type='list', elements='dict', default=[], options=PARENT_SPEC),
        links=dict(type='list', elements='dict', default=[], options=LINK_ENTRY_SPEC),
    )),
    state=dict(type='str', default=MERGED, choices=list(STATES)),
    owner=dict(type='str'),
    recreate=dict(type='bool', default=False),
    **PORT_MODE_SPEC,
)
