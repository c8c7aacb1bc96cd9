"""A host's plan as parameters of underlay.network.links (plugins/plugin_utils/_render/links.py)."""

import pytest
from fleet_examples import APPS, DB, apps, fleet

from ansible_collections.underlay.network.plugins.plugin_utils._filters import FilterError
from ansible_collections.underlay.network.plugins.plugin_utils._fleet.plan import fleet_plan
from ansible_collections.underlay.network.plugins.plugin_utils._render.docker import docker_networks
from ansible_collections.underlay.network.plugins.plugin_utils._render.links import host_links


def test_host_links_vlans(plan):
    assert host_links(plan, 'vlans') == {'links': [
        {'kind': 'vlan', 'name': 'bond0.10', 'parent': 'bond0', 'vlan_id': 10, 'addresses': ['172.28.10.3/24']},
        # db's pool starts at the network address: its infrastructure addresses begin above the pool.
        {'kind': 'vlan', 'name': 'bond0.20', 'parent': 'bond0', 'vlan_id': 20, 'addresses': ['172.28.20.65/24']},
        {'kind': 'vlan', 'name': 'bond0.30', 'parent': 'bond0', 'vlan_id': 30, 'addresses': []},
    ]}


def test_host_links_shims(plan):
    assert host_links(plan, 'shims') == {'links': [
        {'kind': 'macvlan', 'name': 'shim10', 'parent': 'bond0.10', 'mode': 'bridge',
         'addresses': ['172.28.10.126/32'], 'routes': [{'dest': '172.28.10.144/28'}]},
        {'kind': 'ipvlan', 'name': 'shim20', 'parent': 'bond0.20', 'mode': 'l3',
         'addresses': ['172.28.20.253/32'], 'routes': [{'dest': '172.28.20.8/29'}]},
        {'kind': 'macvlan', 'name': 'shim-lan', 'parent': 'bond0', 'mode': 'bridge',
         'addresses': ['192.168.50.253/32'], 'routes': [{'dest': '192.168.50.0/24'}]},
    ]}


def test_macvlan_shims_are_bridge_whatever_the_segment_mode():
    private = fleet_plan(fleet(apps(mode='private')), ['h'])['h']
    assert host_links(private, 'shims')['links'][0]['mode'] == 'bridge'
    assert docker_networks(private)[0]['macvlan_mode'] == 'private'


def test_host_links_rejects_other_sets_and_whole_fleet_plans(plan):
    with pytest.raises(FilterError, match="host_links: 'shim' is not a set of links \\(did you mean 'shims'\\?\\); "
                                          'choose one of vlans, shims'):
        host_links(plan, 'shim')
    with pytest.raises(FilterError, match="host_links takes one host's plan, e.g. plans\\[inventory_hostname\\]"):
        host_links({'h1': plan}, 'vlans')


# --- host_links: ipvlan port modes, workloads ------------------------------------------------------------


def test_an_ipvlan_shim_takes_the_mode_of_the_port_it_joins():
    plan = fleet_plan(fleet(DB), ['h1'])['h1']
    assert host_links(plan, 'shims')['links'][0]['mode'] == 'l3'  # no port yet: the segment's mode
    existing = [{'kind': 'ipvlan', 'name': 'eth0', 'netns': 'web1', 'parent': 'eth0.20', 'mode': 'l2',
                 'flag': 'private'},
                {'kind': 'ipvlan', 'name': 'x', 'netns': None, 'parent': 'eth0.99', 'mode': 'l3s', 'flag': 'bridge'},
                {'kind': 'macvlan', 'name': 'm', 'netns': None, 'parent': 'eth0.20', 'mode': 'bridge'}]
    shim, = host_links(plan, 'shims', existing=existing)['links']
    assert (shim['name'], shim['parent'], shim['mode'], shim['flag']) == ('shim20', 'eth0.20', 'l2', 'private')


def test_workloads_are_namespaces_with_addresses_from_the_top_of_the_host_range():
    plan = fleet_plan(fleet(APPS, DB), {'h1': {'index': 1}})['h1']
    workloads = host_links(plan, 'workloads', prefix='h1-', count=2)
    assert workloads['namespaces'] == [{'name': 'h1-apps-1'}, {'name': 'h1-apps-2'}, {'name': 'h1-db-1'},
                                       {'name': 'h1-db-2'}]
    assert workloads['links'][0] == {'kind': 'macvlan', 'name': 'eth0', 'parent': 'eth0.10', 'netns': 'h1-apps-1',
                                     'mode': 'bridge', 'addresses': ['172.28.10.159/24']}
    assert workloads['links'][1]['addresses'] == ['172.28.10.158/24']
    # DB: pool 172.28.20.0/26 in slices of 8, index 1 -> 172.28.20.8/29, ipvlan l3.
    assert workloads['links'][2] == {'kind': 'ipvlan', 'name': 'eth0', 'parent': 'eth0.20', 'netns': 'h1-db-1',
                                     'mode': 'l3', 'addresses': ['172.28.20.15/24']}


def test_workload_count_out_of_range_fails():
    plan = fleet_plan(fleet(DB), ['h1'])['h1']
    with pytest.raises(FilterError, match='count 0 is out of range'):
        host_links(plan, 'workloads', count=0)
    with pytest.raises(FilterError, match='count 9 is more than a host range holds'):
        host_links(plan, 'workloads', count=9)  # DB's ranges hold 8 addresses


def test_the_fleets_trunk_promisc_goes_to_the_vlans_parents():
    plans = fleet_plan(fleet(APPS, trunk_promisc=True), {'h0': None, 'h1': {'trunk': 'bond0'}})
    assert plans['h1']['trunk_promisc'] is True
    assert host_links(plans['h1'], 'vlans')['parents'] == [{'name': 'bond0', 'promisc': True}]
    assert host_links(plans['h0'], 'vlans')['parents'] == [{'name': 'eth0', 'promisc': True}]
    unset = fleet_plan(fleet(APPS), {'h0': None})['h0']
    assert unset['trunk_promisc'] is None and 'parents' not in host_links(unset, 'vlans')


def test_trunk_promisc_must_be_a_boolean():
    with pytest.raises(FilterError, match='underlay_fleet.trunk_promisc'):
        fleet_plan(fleet(APPS, trunk_promisc='sometimes'), {'h0': None})
