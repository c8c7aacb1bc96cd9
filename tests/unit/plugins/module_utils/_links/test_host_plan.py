"""The aggregate links module's pure planning: input validation, stacking order, ipvlan ports, owners."""

import pytest

from ansible_collections.underlay.network.plugins.module_utils._common.describe import link_id
from ansible_collections.underlay.network.plugins.module_utils._common.errors import LinkError, ValidationError
from ansible_collections.underlay.network.plugins.module_utils._common.markers import owner_marker
from ansible_collections.underlay.network.plugins.module_utils._links.desired import (
    check_ipvlan_ports,
    check_parent_ports,
    desired_links,
    desired_namespaces,
)
from ansible_collections.underlay.network.plugins.module_utils._links.host_plan import (
    HostPlan,
    _plan_deletion,
    _plan_pruning,
    stacking_depths,
    stacking_order,
)
from ansible_collections.underlay.network.plugins.module_utils._links.spec import LINK_ENTRY_SPEC


def entry(**options):
    """A config.links entry as Ansible hands it over: every option present, None when not given."""
    base = dict.fromkeys(LINK_ENTRY_SPEC)
    base.update(options)
    return base


def names(ordered):
    return [(link['name'], depth) for link, depth in ordered]


def test_links_declared_on_declared_links_come_after_them_whatever_the_input_order():
    links = desired_links([
        entry(kind='macvlan', name='c1', parent='eth1.10', netns='web1'),
        entry(kind='macvlan', name='shim10', parent='eth1.10'),
        entry(kind='vlan', parent='eth1', vlan_id=10),
        entry(kind='ipvlan', name='i1', parent='eth1.20'),
        entry(kind='vlan', parent='eth1', vlan_id=20),
        entry(kind='macvlan', name='plain', parent='eth0'),
    ], 'merged')
    assert names(stacking_order(links)) == [('eth1.10', 0), ('eth1.20', 0), ('plain', 0), ('c1', 1),
                                            ('shim10', 1), ('i1', 1)]


def test_a_link_in_a_namespace_is_never_a_parent():
    # eth1.10 inside web1 has the same name as the VLAN in the task's namespace, but parents live there.
    links = desired_links([entry(kind='macvlan', name='x', parent='eth1.10'),
                           entry(kind='macvlan', name='eth1.10', parent='eth0', netns='web1')], 'merged')
    assert names(stacking_order(links)) == [('x', 0), ('eth1.10', 0)]


def test_links_stacked_in_a_loop_are_refused():
    links = desired_links([entry(kind='macvlan', name='a', parent='b'),
                           entry(kind='macvlan', name='b', parent='a')], 'merged')
    with pytest.raises(ValidationError, match='stacked on each other in a loop: a -> b -> a|loop'):
        stacking_order(links)


@pytest.mark.parametrize('entries, message', [
    ([entry(kind='macvlan', name='m', parent='eth0', vlan_id=10)],
     r'config.links\[0\] \(m\): vlan_id applies to kind vlan only, not to macvlan'),
    ([entry(kind='ipvlan', name='i', parent='eth0', mac_address='02:00:00:00:00:01')],
     'mac_address applies to kind macvlan, macvtap and vlan only'),
    ([entry(kind='macvlan', name='m', parent='eth0', source_macs=['02:00:00:00:00:01'])],
     'source_macs is only used with mode=source'),
    ([entry(kind='macvlan', name='m')], r'config.links\[0\] \(m\): parent is required'),
    ([entry(kind='vlan', parent='eth1')], 'name is required unless parent and vlan_id are given'),
    ([entry(kind='vlan', parent='eth1', vlan_id=4095)], 'vlan_id 4095 is out of range'),
    ([entry(kind='vlan', parent='eth1', vlan_id=10), entry(kind='vlan', name='eth1.10', parent='eth1', vlan_id=11)],
     r'config.links\[0\] and config.links\[1\] \(eth1.10\) both declare eth1.10'),
    ([entry(kind='macvlan', name='m', parent='eth0', addresses=['10.0.0.1'])], r'config.links\[0\] \(m\): addresses'),
    ([entry(kind='macvlan', name='m', parent='eth0', mode='l2')], "mode 'l2' is not a macvlan mode"),
])
def test_bad_entries_name_the_entry_and_the_fix(entries, message):
    with pytest.raises(ValidationError, match=message):
        desired_links(entries, 'merged')


def test_the_same_name_in_two_namespaces_is_two_links():
    links = desired_links([entry(kind='macvlan', name='eth0', parent='eth0', netns='a'),
                           entry(kind='macvlan', name='eth0', parent='eth0', netns='b')], 'merged')
    assert [link_id(link['netns'], link['name']) for link in links] == ['a/eth0', 'b/eth0']


def test_replaced_and_overridden_want_exactly_what_is_declared_merged_only_adds():
    declared = [entry(kind='macvlan', name='m', parent='eth0')]
    merged = desired_links(declared, 'merged')[0]
    assert merged['addresses'] is None and merged['routes'] is None  # not managed
    for state in ('replaced', 'overridden'):
        exact = desired_links(declared, state)[0]
        assert exact['addresses'] == [] and exact['routes'] == []


def test_deleted_needs_only_the_identity():
    links = desired_links([entry(kind='macvlan', name='m'), entry(kind='vlan', parent='eth1', vlan_id=10)], 'deleted')
    assert [link['name'] for link in links] == ['m', 'eth1.10']


def test_ipvlans_on_one_parent_must_agree_on_the_port_mode():
    links = desired_links([entry(kind='ipvlan', name='a', parent='eth1', mode='l2'),
                           entry(kind='ipvlan', name='b', parent='eth1', mode='l3', netns='x'),
                           entry(kind='ipvlan', name='c', parent='eth2', mode='l3')], 'merged')
    with pytest.raises(ValidationError, match=r'a \(l2, bridge\) and x/b \(l3, bridge\) share parent eth1'):
        check_ipvlan_ports(links)
    check_ipvlan_ports([links[0], links[2]])


def test_namespaces_are_validated_and_declared_once():
    assert [ns['name'] for ns in desired_namespaces([{'name': 'a', 'sysctls': {}}])] == ['a']
    with pytest.raises(ValidationError, match=r'config.namespaces\[0\] and \[1\] both declare a'):
        desired_namespaces([{'name': 'a'}, {'name': 'a'}])
    with pytest.raises(ValidationError, match=r'config.namespaces\[0\]'):
        desired_namespaces([{'name': 'a/b'}])


def test_deletion_depths_put_links_on_a_doomed_parent_first():
    states = [{'name': 'eth1.10', 'netns': None, 'parent': 'eth1'},
              {'name': 'shim', 'netns': None, 'parent': 'eth1.10'},
              {'name': 'eth0', 'netns': 'web', 'parent': 'eth1.10'},
              {'name': 'other', 'netns': None, 'parent': 'eth0'}]
    assert [(s['name'], depth) for s, depth in stacking_depths(states)] == [
        ('eth1.10', 0), ('shim', 1), ('eth0', 1), ('other', 0)]


# -- owners -------------------------------------------------------------------------
@pytest.mark.parametrize('owner, marker', [(None, 'underlay.network'), ('vlan_host', 'underlay.network/vlan_host'),
                                           ('a', 'underlay.network/a'), ('x' * 32, 'underlay.network/' + 'x' * 32)])
def test_an_owner_gets_a_marker_of_its_own(owner, marker):
    assert owner_marker(owner) == marker


@pytest.mark.parametrize('owner, message', [
    ('', "owner '' is not valid: use 1 to 32 lowercase letters"),
    ('VLAN', "owner 'VLAN' is not valid"),
    ('vlan-host', "owner 'vlan-host' is not valid"),
    ('x' * 33, 'is not valid'),
    ('a/b', "owner 'a/b' is not valid"),
    ('docker_vlan_network', 'owner docker_vlan_network is taken by the module docker_vlan_network'),
])
def test_a_bad_owner_is_refused_naming_the_rule(owner, message):
    with pytest.raises(ValidationError, match=message):
        owner_marker(owner)


class FakeSession:
    """A namespace as _plan_pruning reads it: link states stand in for the dumped messages."""

    def __init__(self, states):
        self.states = states

    def links(self):
        return self.states

    def link_state(self, msg, _task, _kinds, addressing=True):
        return dict(msg)


class FakeSessions:
    """The task's namespace only, with the links stacked on each other as listed."""

    def __init__(self, *states):
        self.task = FakeSession([dict(s, netns=None, index=i) for i, s in enumerate(states, 1)])

    def get(self, name=None):
        assert name is None
        return self.task

    def link_state(self, session, msg, addressing=True):
        return session.link_state(msg, self.task, None, addressing)

    def children(self, parents):
        return [s for s in self.task.states if s['parent'] in parents]


def fleet_host():
    """vlan_host's VLANs on the trunk, the shim role's shim on one of them, a handmade and an ownerless link."""
    return FakeSessions(
        {'name': 'eth1.10', 'kind': 'vlan', 'parent': 'eth1', 'managed_by': 'underlay.network/vlan_host'},
        {'name': 'eth1.20', 'kind': 'vlan', 'parent': 'eth1', 'managed_by': 'underlay.network/vlan_host'},
        {'name': 'shim10', 'kind': 'macvlan', 'parent': 'eth1.10', 'managed_by': 'underlay.network/shim'},
        {'name': 'hand', 'kind': 'macvlan', 'parent': 'eth1', 'managed_by': None},
        {'name': 'old', 'kind': 'macvlan', 'parent': 'eth1', 'managed_by': 'underlay.network'},
        {'name': 'dock.30', 'kind': 'vlan', 'parent': 'eth1', 'managed_by': 'underlay.network/docker_vlan_network'},
    )


def pruned(owner, declared=(), state='overridden'):
    plan = HostPlan(state, owner_marker(owner))
    links = desired_links([entry(**link) for link in declared], state)
    if state == 'overridden':
        _plan_pruning(fleet_host(), plan, links, set())
    else:
        _plan_deletion(fleet_host(), plan, [], links)
    return [(s['name'], depth) for s, depth in plan.deletions]


@pytest.mark.parametrize('owner, deletions', [
    (None, [('old', 0)]),  # exactly underlay.network: no owner's links, no docker_vlan_network VLAN
    ('shim', [('shim10', 0)]),
    ('nobody', []),
])
def test_overridden_prunes_exactly_the_owners_marker(owner, deletions):
    assert pruned(owner) == deletions
    assert pruned(owner, state='deleted') == deletions


def test_a_prune_that_takes_another_owners_links_along_is_refused():
    # vlan_host no longer declares eth1.10, but the shim role's shim10 sits on it: deleting the VLAN would delete it.
    for state in ('overridden', 'deleted'):
        with pytest.raises(LinkError, match=r'removing eth1.10, eth1.20 would also remove the links stacked on them, '
                                            r'which this call does not remove: shim10 \(on eth1.10\)') as refused:
            pruned('vlan_host', state=state)
        assert refused.value.details == {'stacked': ['shim10 (on eth1.10)']}
    # Declared again, eth1.10 stays and only eth1.20 goes.
    assert pruned('vlan_host', [dict(kind='vlan', parent='eth1', vlan_id=10)]) == [('eth1.20', 0)]


def test_a_declared_link_on_a_pruned_link_of_the_same_owner_is_refused():
    with pytest.raises(LinkError, match='eth1.10 is not declared, so overridden would remove it, but link shim10 '
                                        'is declared on it'):
        pruned('vlan_host', [dict(kind='macvlan', name='shim10', parent='eth1.10')])


def test_links_of_two_port_kinds_on_one_parent_are_refused():
    links = desired_links([entry(kind='macvtap', name='vm1', parent='eth1'),
                           entry(kind='macvlan', name='c1', parent='eth1'),
                           entry(kind='ipvlan', name='i1', parent='eth1')], 'merged')
    with pytest.raises(ValidationError, match='vm1 .macvtap. and i1 .ipvlan. share parent eth1'):
        check_parent_ports(links)
    check_parent_ports(links[:2])  # macvlan and macvtap share the macvlan port
