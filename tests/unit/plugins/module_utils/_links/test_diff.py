import pytest

from ansible_collections.underlay.network.plugins.module_utils._common.errors import ValidationError
from ansible_collections.underlay.network.plugins.module_utils._links.desired import desired_link
from ansible_collections.underlay.network.plugins.module_utils._links.diff import (
    plan_link,
    predict_state,
    recreation_target,
)
from ansible_collections.underlay.network.plugins.module_utils._links.kinds import KINDS

MACVLAN = KINDS['macvlan']
ROUTE = {'dest': '172.28.248.0/21', 'gateway': None, 'metric': 0}


def params(**overrides):
    base = dict(name='eth0', parent='eth0', netns='net1', state='present', admin_state='up', mtu=None,
                mac_address=None, addresses=None, routes=None, mode='bridge', source_macs=None)
    base.update(overrides)
    return base


def current(**overrides):
    base = dict(name='eth0', kind='macvlan', netns='net1', index=3, parent='eth0', mac_address='02:00:00:00:00:01',
                mtu=1500, admin_state='up', addresses=['172.28.248.10/20'], routes=[], mode='bridge', source_macs=[])
    base.update(overrides)
    return base


def test_absent_link_is_created_with_everything_declared():
    desired = desired_link(params(addresses=['172.28.248.10/20'], routes=[{'dest': '172.28.248.0/21'}]), MACVLAN)
    plan = plan_link(None, desired, MACVLAN)
    assert plan.action == 'create'
    assert plan.addresses_add == ['172.28.248.10/20']
    assert plan.routes_add == [ROUTE]
    state = predict_state(None, desired, plan, MACVLAN)
    assert state['mode'] == 'bridge' and state['netns'] == 'net1' and state['routes'] == [ROUTE]


def test_identical_link_needs_nothing():
    desired = desired_link(params(addresses=['172.28.248.10/20']), MACVLAN)
    plan = plan_link(current(), desired, MACVLAN)
    assert not plan.changed
    assert predict_state(current(), desired, plan, MACVLAN) == {k: v for k, v in current().items() if k != 'index'}


def test_undeclared_fields_are_left_alone():
    desired = desired_link(params(), MACVLAN)
    assert not plan_link(current(mtu=9000, addresses=['10.0.0.1/8']), desired, MACVLAN).changed


def test_in_place_changes_are_listed():
    desired = desired_link(params(mode='private', mtu=1400, admin_state='down'), MACVLAN)
    plan = plan_link(current(), desired, MACVLAN)
    assert plan.action == 'update'
    assert plan.changes == {'mode': ('bridge', 'private'), 'mtu': (1500, 1400), 'admin_state': ('up', 'down')}


@pytest.mark.parametrize('mode, deleted', [('add', []), ('replace', ['10.0.0.1/8'])])
def test_addresses_add_or_replace(mode, deleted):
    desired = desired_link(params(addresses=['172.28.248.10/20', '2001:db8::1/64']), MACVLAN)
    plan = plan_link(current(addresses=['10.0.0.1/8', '172.28.248.10/20']), desired, MACVLAN, addresses_mode=mode)
    assert plan.addresses_add == ['2001:db8::1/64']
    assert plan.addresses_delete == deleted


LINK_LOCAL = 'fe80::10/64'
KERNELS_OWN = 'fe80::2:ff:fe00:1/64'


def test_a_declared_link_local_address_the_kernel_has_is_there():
    """Issue 13 item 10: link-local addresses are read apart (the kernel makes its own); a declared one counts."""
    desired = desired_link(params(addresses=['172.28.248.10/20', LINK_LOCAL]), MACVLAN)
    link = current(link_local=[KERNELS_OWN, LINK_LOCAL])
    for mode in ('add', 'replace'):
        plan = plan_link(link, desired, MACVLAN, addresses_mode=mode)
        assert not plan.changed, mode
        assert plan.addresses_add == plan.addresses_delete == []


def test_a_declared_link_local_address_is_added_and_reported_as_read_back():
    desired = desired_link(params(addresses=['172.28.248.10/20', LINK_LOCAL]), MACVLAN)
    link = current(link_local=[KERNELS_OWN])
    plan = plan_link(link, desired, MACVLAN)
    assert plan.addresses_add == [LINK_LOCAL]
    # Link-local addresses are left out of what the modules report, as the kernel is read back.
    assert predict_state(link, desired, plan, MACVLAN)['addresses'] == ['172.28.248.10/20']
    assert predict_state(None, desired, plan_link(None, desired, MACVLAN), MACVLAN)['addresses'] == ['172.28.248.10/20']


def test_replace_never_removes_an_undeclared_link_local_address():
    desired = desired_link(params(addresses=['172.28.248.10/20']), MACVLAN)
    plan = plan_link(current(link_local=[KERNELS_OWN, LINK_LOCAL]), desired, MACVLAN, addresses_mode='replace')
    assert not plan.changed


def test_putting_a_link_back_removes_the_link_local_address_added_since():
    """A whole state read before (``restore``) names its link-local addresses: one added since goes again."""
    before = current(link_local=[KERNELS_OWN])
    now = current(link_local=[KERNELS_OWN, LINK_LOCAL])
    plan = plan_link(now, before, MACVLAN, addresses_mode='replace')
    assert plan.addresses_delete == [LINK_LOCAL] and plan.addresses_add == []


def test_routes_replace_removes_undeclared_routes():
    other = {'dest': '10.0.0.0/8', 'gateway': None, 'metric': 0}
    desired = desired_link(params(routes=[{'dest': '172.28.248.0/21'}]), MACVLAN)
    plan = plan_link(current(routes=[other]), desired, MACVLAN, routes_mode='replace')
    assert plan.routes_add == [ROUTE] and plan.routes_delete == [other]


def test_another_parent_is_a_conflict():
    plan = plan_link(current(parent='eth1'), desired_link(params(), MACVLAN), MACVLAN)
    assert plan.action == 'recreate'
    assert plan.conflicts == ["parent is 'eth1', wanted 'eth0'"]


def test_parent_in_an_unknown_namespace_is_a_conflict():
    plan = plan_link(current(parent=None), desired_link(params(), MACVLAN), MACVLAN)
    assert "parent is 'in another namespace'" in plan.conflicts[0]


@pytest.mark.parametrize('before, after, conflict', [
    ('bridge', 'passthru', True), ('passthru', 'vepa', True), ('bridge', 'private', False)])
def test_passthru_cannot_be_entered_or_left_in_place(before, after, conflict):
    plan = plan_link(current(mode=before), desired_link(params(mode=after), MACVLAN), MACVLAN)
    assert bool(plan.conflicts) is conflict


def test_recreation_keeps_what_was_not_declared():
    old = current(addresses=['10.0.0.1/8'], routes=[ROUTE], mtu=1400)
    desired = desired_link(params(addresses=['172.28.248.11/20']), MACVLAN)
    kept = recreation_target(old, desired, 'add', 'add', MACVLAN)
    assert kept['addresses'] == ['10.0.0.1/8', '172.28.248.11/20']
    assert kept['routes'] == [ROUTE] and kept['mtu'] == 1400 and kept['mac_address'] == '02:00:00:00:00:01'
    replaced = recreation_target(old, desired, 'replace', 'add', MACVLAN)
    assert replaced['addresses'] == ['172.28.248.11/20']


def test_passthru_recreation_does_not_take_over_the_old_mac():
    desired = desired_link(params(mode='passthru'), MACVLAN)
    assert recreation_target(current(), desired, kind=MACVLAN)['mac_address'] is None


def test_source_macs_compared_as_sets():
    desired = desired_link(params(mode='source', source_macs=['02:00:00:00:00:0B', '02:00:00:00:00:0a']), MACVLAN)
    plan = plan_link(current(mode='source', source_macs=['02:00:00:00:00:0a', '02:00:00:00:00:0b']), desired, MACVLAN)
    assert not plan.changed


@pytest.mark.parametrize('overrides, fragment', [
    (dict(source_macs=['02:00:00:00:00:01']), 'source_macs is only used with mode=source'),
    (dict(mode='bridgee'), "mode 'bridgee' is not a macvlan mode"),
    (dict(name='enp129s0f1.4000.10'), 'name'),
    (dict(netns='a/b'), 'netns'),
    (dict(mac_address='nope'), 'mac_address'),
    (dict(routes=[{'dest': '10.0.0.0/8'}], admin_state='down'), 'routes need the link up'),
    (dict(netns=None, parent='eth0'), 'is the link itself'),
])
def test_desired_link_rejects_bad_input(overrides, fragment):
    with pytest.raises(ValidationError, match=fragment):
        desired_link(params(**overrides), MACVLAN)
