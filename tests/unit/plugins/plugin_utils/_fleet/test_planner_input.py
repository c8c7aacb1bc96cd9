"""What the planner is told of a host (plugins/plugin_utils/_fleet/planner_input.py)."""

from fleet_examples import APPS, DB, fleet, interface

from ansible_collections.underlay.network.plugins.plugin_utils._fleet.planner_input import planner_input


def test_planner_input_describes_a_host_from_its_links_and_its_variables():
    deployed = {'links': [{'name': 'shim-apps', 'managed_by': 'underlay.network/shim',
                           'addresses': ['172.28.10.127/32']},
                          {'name': 'eth0', 'managed_by': None, 'addresses': ['172.28.0.11/24', 'fe80::1/64']}],
                'default_routes': [{'family': 4, 'gateway': '172.28.0.1', 'interface': 'eth0'}]}
    host_vars = {'underlay_host_index': 3, 'ansible_env': {'SSH_CONNECTION': '10.9.0.4 5022 10.9.0.7 22'},
                 'underlay_fleet': fleet(APPS, DB), 'underlay_deploy_segments': ['db']}
    assert planner_input(deployed, host_vars) == {
        'index': 3, 'trunk': None, 'force': None, 'adopt': None, 'segments': ['db'],
        'observed': ['172.28.10.127/32'], 'connected': ['172.28.0.11/24', 'fe80::1/64'],
        'protected': [{'family': 4, 'gateway': '172.28.0.1', 'interface': 'eth0'},
                      {'address': '10.9.0.4', 'why': 'the Ansible controller'}],
        'interfaces': {'shim-apps': {'managed_by': 'underlay.network/shim', 'addresses': ['172.28.10.127/32'],
                                     'default_route': None, 'routes': []},
                       'eth0': {'managed_by': None, 'addresses': ['172.28.0.11/24', 'fe80::1/64'],
                                'default_route': '172.28.0.1', 'routes': []}}}
    unreachable = planner_input({'unreachable': True, 'msg': 'no such namespace'}, {})
    assert unreachable['unreadable'] == 'unreachable: no such namespace' and 'observed' not in unreachable
    assert planner_input({'failed': True, 'msg': 'boom'}, {})['unreadable'] == 'links_info failed: boom'


def test_planner_input_lists_the_hosts_interfaces_and_what_they_carry():
    deployed = {'links': [
        {'name': 'eth0', 'netns': None, 'managed_by': None, 'addresses': ['172.28.0.11/24']},
        {'name': 'eth0.10', 'netns': None, 'managed_by': None, 'addresses': ['10.0.0.5/24'],
         'routes': [{'dest': '10.8.0.0/16', 'gateway': '10.0.0.9', 'metric': None}]},
        {'name': 'shim-apps', 'netns': None, 'managed_by': 'underlay.network/shim', 'addresses': ['172.28.10.127/32']},
        {'name': 'eth0', 'netns': 'web1', 'managed_by': 'underlay.network', 'addresses': ['172.28.10.140/24']},
    ], 'default_routes': [{'family': 'ipv4', 'gateway': '10.0.0.1', 'interface': 'eth0.10'}]}
    entry = planner_input(deployed, {'underlay_adopt_segments': ['apps']})
    assert entry['adopt'] == ['apps']
    assert entry['interfaces'] == {
        'eth0': {'managed_by': None, 'addresses': ['172.28.0.11/24'], 'default_route': None, 'routes': []},
        'eth0.10': {'managed_by': None, 'addresses': ['10.0.0.5/24'], 'default_route': '10.0.0.1',
                    'routes': ['10.8.0.0/16 via 10.0.0.9']},
        'shim-apps': interface('underlay.network/shim', addresses=['172.28.10.127/32']),
    }
