import pytest

from ansible_collections.underlay.network.plugins.module_utils._common.errors import ValidationError
from ansible_collections.underlay.network.plugins.module_utils._links.desired import desired_link
from ansible_collections.underlay.network.plugins.module_utils._links.diff import plan_link
from ansible_collections.underlay.network.plugins.module_utils._links.kinds import KINDS

VLAN, IPVLAN = KINDS['vlan'], KINDS['ipvlan']


def vlan_params(**overrides):
    base = dict(name=None, parent='eth0', vlan_id=10, protocol='802.1Q', netns=None, state='present',
                admin_state='up', mtu=None, mac_address=None, addresses=None, routes=None, flags=None,
                ingress_qos_map=None, egress_qos_map=None)
    base.update(overrides)
    return base


def vlan_current(**overrides):
    base = dict(name='eth0.10', kind='vlan', netns=None, index=5, parent='eth0', mac_address='02:00:00:00:00:01',
                mtu=1500, admin_state='up', addresses=[], routes=[], vlan_id=10, protocol='802.1Q',
                flags={'reorder_hdr': True, 'gvrp': False, 'loose_binding': False, 'mvrp': False},
                ingress_qos_map={}, egress_qos_map={})
    base.update(overrides)
    return base


def test_vlan_name_defaults_to_parent_dot_id():
    assert desired_link(vlan_params(), VLAN)['name'] == 'eth0.10'
    assert desired_link(vlan_params(parent='enp129s0f1', vlan_id=4000), VLAN)['name'] == 'enp129s0f1.4000'


def test_vlan_default_name_too_long_says_to_set_name():
    with pytest.raises(ValidationError, match=r"default name 'enp129s0f1.4000.10' .* set name explicitly"):
        desired_link(vlan_params(parent='enp129s0f1.4000', vlan_id=10), VLAN)


@pytest.mark.parametrize('overrides, fragment', [
    (dict(vlan_id=0), 'vlan_id 0 is out of range'),
    (dict(vlan_id=4095), 'vlan_id 4095 is out of range'),
    (dict(protocol='802.1x'), "protocol '802.1x' is not a VLAN protocol"),
    (dict(egress_qos_map={'6': 9}), 'egress_qos_map entry 6: 9 is out of range'),
    (dict(ingress_qos_map={'8': 1}), 'ingress_qos_map entry 8: 1 is out of range'),
    (dict(ingress_qos_map={'a': 1}), 'must map integers'),
])
def test_vlan_bad_input(overrides, fragment):
    with pytest.raises(ValidationError, match=fragment):
        desired_link(vlan_params(**overrides), VLAN)


def test_vlan_id_and_protocol_cannot_change_in_place():
    plan = plan_link(vlan_current(), desired_link(vlan_params(vlan_id=11, protocol='802.1ad'), VLAN), VLAN)
    assert plan.action == 'recreate'
    assert len(plan.conflicts) == 2 and 'vlan_id is 10, wanted 11' in plan.conflicts[0]


def test_vlan_flags_and_qos_merge_with_what_is_there():
    desired = desired_link(vlan_params(flags={'gvrp': True, 'mvrp': None}, egress_qos_map={'6': 5}), VLAN)
    plan = plan_link(vlan_current(egress_qos_map={1: 1}), desired, VLAN)
    assert plan.changes['flags'][1] == {'reorder_hdr': True, 'gvrp': True, 'loose_binding': False, 'mvrp': False}
    assert plan.changes['egress_qos_map'][1] == {1: 1, 6: 5}
    same = desired_link(vlan_params(flags={'reorder_hdr': True}, egress_qos_map={'1': 1}), VLAN)
    assert not plan_link(vlan_current(egress_qos_map={1: 1}), same, VLAN).changed


def test_vlan_encodes_only_declared_flags():
    desired = desired_link(vlan_params(flags={'gvrp': True, 'reorder_hdr': False}), VLAN)
    assert VLAN.encode(desired)['vlan_flags'] == {'flags': 0x2, 'mask': 0x3}
    assert VLAN.encode(desired_link(vlan_params(protocol='802.1ad'), VLAN))['vlan_protocol'] == 0x88A8


def ipvlan_params(**overrides):
    base = dict(name='eth0', parent='eth0', netns='net1', state='present', admin_state='up', mtu=None,
                addresses=None, routes=None, mode='l3', flag='bridge')
    base.update(overrides)
    return base


@pytest.mark.parametrize('overrides, fragment', [
    (dict(mode='l4'), "mode 'l4' is not an ipvlan mode"),
    (dict(flag='privat'), "flag 'privat' is not an ipvlan flag"),
    (dict(mac_address='02:00:00:00:00:01'), "shares its parent's MAC"),
])
def test_ipvlan_bad_input(overrides, fragment):
    with pytest.raises(ValidationError, match=fragment):
        desired_link(ipvlan_params(**overrides), IPVLAN)


def test_ipvlan_mode_change_is_in_place_for_the_port_guard_to_judge():
    current = dict(name='eth0', kind='ipvlan', netns='net1', index=2, parent='eth0', mac_address='02:00:00:00:00:01',
                   mtu=1500, admin_state='up', addresses=[], routes=[], mode='l2', flag='bridge')
    plan = plan_link(current, desired_link(ipvlan_params(), IPVLAN), IPVLAN)
    assert plan.action == 'update' and plan.changes == {'mode': ('l2', 'l3')}
    assert IPVLAN.encode(desired_link(ipvlan_params(mode='l3s', flag='private'), IPVLAN)) == {
        'kind': 'ipvlan', 'ipvlan_mode': 2, 'ipvlan_flags': 1}


MACVTAP = KINDS['macvtap']


def macvtap_params(**overrides):
    base = dict(name='vm1', parent='eth0', netns=None, state='present', admin_state='up', mtu=None,
                mac_address=None, addresses=None, routes=None, mode='bridge', source_macs=None, tap_owner=None,
                tap_group=None, tap_mode=None)
    base.update(overrides)
    return base


def macvtap_current(**tap):
    node = dict({'path': '/dev/tap7', 'owner': 'root', 'group': 'root', 'mode': '0600'}, **tap)
    return dict(name='vm1', kind='macvtap', netns=None, index=7, parent='eth0', mac_address='02:00:00:00:00:07',
                mtu=1500, admin_state='up', addresses=[], routes=[], mode='bridge', source_macs=[], tap_device=node)


def test_macvtap_node_fields_left_undeclared_stay_as_they_are():
    desired = desired_link(macvtap_params(), MACVTAP)
    assert not plan_link(macvtap_current(group='kvm', mode='0660'), desired, MACVTAP).changed


def test_macvtap_declared_node_settings_are_changed_in_place():
    desired = desired_link(macvtap_params(tap_group='root', tap_mode='660'), MACVTAP)
    plan = plan_link(macvtap_current(), desired, MACVTAP)
    assert plan.action == 'update'
    assert plan.changes == {'tap_device': (macvtap_current()['tap_device'],
                                           {'path': '/dev/tap7', 'owner': 'root', 'group': 'root', 'mode': '0660'})}


def test_a_missing_macvtap_node_is_made_with_the_defaults():
    desired = desired_link(macvtap_params(), MACVTAP)
    plan = plan_link(macvtap_current(owner=None, group=None, mode=None), desired, MACVTAP)
    assert plan.changes['tap_device'][1] == {'path': '/dev/tap7', 'owner': 'root', 'group': 'root', 'mode': '0600'}


@pytest.mark.parametrize('overrides, fragment', [
    (dict(tap_owner='no-such-user-ul'), "tap_owner 'no-such-user-ul' is not a user on this host"),
    (dict(tap_group='no-such-group-ul'), "tap_group 'no-such-group-ul' is not a group on this host"),
    (dict(tap_owner=''), "tap_owner '' is not a user"),
    (dict(tap_mode='0o660'), 'three octal digits'),
    (dict(tap_mode='4755'), 'without set-id bits'),
    (dict(mode='l2'), "mode 'l2' is not a macvlan mode"),
    (dict(mode='bridge', source_macs=['02:00:00:00:00:01']), 'only used with mode=source'),
])
def test_macvtap_bad_input_names_the_parameter(overrides, fragment):
    with pytest.raises(ValidationError, match=fragment):
        desired_link(macvtap_params(**overrides), MACVTAP)


def test_macvtap_numeric_ids_need_no_user_database_entry():
    desired = desired_link(macvtap_params(tap_owner='64055', tap_group='64055', tap_mode='0640'), MACVTAP)
    assert desired['tap_device'] == {'path': None, 'owner': '64055', 'group': '64055', 'mode': '0640'}


def test_macvtap_is_encoded_with_pyroute2s_macvtap_names():
    desired = desired_link(macvtap_params(mode='source', source_macs=['02:00:00:00:00:01']), MACVTAP)
    assert MACVTAP.encode(desired) == {
        'kind': 'macvtap', 'macvtap_mode': 'source', 'macvtap_macaddr_mode': 'set',
        'macvtap_macaddr_data': {'attrs': [('IFLA_MACVLAN_MACADDR', '02:00:00:00:00:01')]}}
