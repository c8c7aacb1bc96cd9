"""The fleet address plan (plugins/plugin_utils/_fleet/): addressing, indexes, capacity, validation, the
uplink guard, reserved addresses and the interfaces a host has already."""

import pytest
from fleet_examples import APPS, DB, LAN, apps, fleet, interface, plan_error, ranges

from ansible_collections.underlay.network.plugins.plugin_utils._fleet.plan import fleet_plan
from ansible_collections.underlay.network.plugins.plugin_utils._fleet.segments import parse_segment
from ansible_collections.underlay.network.plugins.plugin_utils._render.links import host_links

# --- addressing ------------------------------------------------------------------------------------------


def test_the_plan_of_index_0_in_full():
    assert fleet_plan(fleet(), ['h1']) == {'h1': {
        'index': 0,
        'trunk': 'eth0',
        'trunk_promisc': None,
        'segments': [{
            'name': 'apps',
            'vlan_id': 10,
            'interface': 'eth0.10',
            'subnet': '172.28.10.0/24',
            'gateway': '172.28.10.1',
            'driver': 'macvlan',
            'mode': 'bridge',
            'container_pool': '172.28.10.128/25',
            'ip_range': '172.28.10.128/28',
            'host_address': '172.28.10.2/24',
            # The highest infrastructure address: .128-.255 is the pool and .255 the broadcast.
            'shim': {'name': 'shim10', 'address': '172.28.10.127/32', 'routes': ['172.28.10.128/28']},
            'docker_network': {'name': 'apps', 'aux_addresses': {'shim': '172.28.10.127'}},
            'adopt': False,
        }],
    }}


def test_each_index_gets_its_slice_host_address_and_shim():
    plan = fleet_plan(fleet(), ['h%d' % i for i in range(8)])
    assert ranges(plan)['h0'] == (0, '172.28.10.128/28', '172.28.10.2/24', '172.28.10.127/32')
    assert ranges(plan)['h1'] == (1, '172.28.10.144/28', '172.28.10.3/24', '172.28.10.126/32')
    assert ranges(plan)['h7'] == (7, '172.28.10.240/28', '172.28.10.9/24', '172.28.10.120/32')


def test_infrastructure_addresses_skip_the_pool_and_the_gateway():
    # Pool in the middle of the subnet, gateway at the top: host addresses from .1, shims from .254 down.
    segment = apps(gateway='172.28.10.254', container_pool='172.28.10.64/26', host_range_size=32)
    plan = fleet_plan(fleet(segment), ['a', 'b'])
    assert ranges(plan) == {'a': (0, '172.28.10.64/27', '172.28.10.1/24', '172.28.10.253/32'),
                            'b': (1, '172.28.10.96/27', '172.28.10.2/24', '172.28.10.252/32')}


def test_a_pool_at_the_start_of_the_subnet_puts_host_addresses_above_it():
    described = fleet(apps(subnet='172.28.10.0/28', gateway=None, container_pool='172.28.10.0/29',
                           host_range_size=4))
    # .0-.7 is the pool (with the network address), .15 the broadcast: .8-.14 are left.
    plan = fleet_plan(described, ['a', 'b'])
    assert ranges(plan) == {'a': (0, '172.28.10.0/30', '172.28.10.8/28', '172.28.10.14/32'),
                            'b': (1, '172.28.10.4/30', '172.28.10.9/28', '172.28.10.13/32')}


def test_untagged_segment_sits_on_the_trunk_without_host_address():
    plan = fleet_plan(fleet(APPS, LAN), {'h1': {'index': 2}})
    lan = plan['h1']['segments'][1]
    assert lan == {
        'name': 'lan', 'vlan_id': None, 'interface': 'eth0', 'subnet': '192.168.50.0/24',
        'gateway': '192.168.50.1', 'driver': 'macvlan', 'mode': 'bridge', 'container_pool': '192.168.50.128/26',
        'ip_range': '192.168.50.160/28', 'host_address': None,
        # No other address of the host is on the LAN: the shim is its way onto it, for the whole subnet.
        'shim': {'name': 'shim-lan', 'address': '192.168.50.252/32', 'routes': ['192.168.50.0/24']},
        'docker_network': {'name': 'lan-net', 'aux_addresses': {'shim': '192.168.50.252'}},
        'adopt': False,
    }


def test_a_host_on_the_lan_already_routes_only_its_own_range_through_the_shim():
    # The seed's case: the host's eth0 is on the containers' network (here inside a /16 around it).
    for connected in (['192.168.50.7/24'], ['192.168.0.7/16']):
        plan = fleet_plan(fleet(APPS, LAN), {'h1': {'index': 2, 'connected': connected + ['10.1.0.5/8']}})
        assert plan['h1']['segments'][1]['shim']['routes'] == ['192.168.50.160/28']
    elsewhere = fleet_plan(fleet(LAN), {'h1': {'connected': ['192.168.51.7/24']}})
    assert elsewhere['h1']['segments'][0]['shim']['routes'] == ['192.168.50.0/24']


def test_defaults_and_switches():
    segment = dict(DB, shim=False, host_address=False, docker=False)
    plan = fleet_plan(fleet(segment), ['h1', 'h2'])
    db = plan['h2']['segments'][0]
    assert (db['driver'], db['mode'], db['ip_range'], db['host_address'], db['shim'], db['docker_network']) == (
        'ipvlan', 'l3', '172.28.20.8/29', None, None, None)
    default_mode = fleet_plan(fleet(dict(DB, mode=None)), ['h'])['h']['segments'][0]['mode']
    assert default_mode == 'l2'


def test_values_as_strings_are_accepted():
    segment = apps(vlan_id='10', host_range_size='32', shim='no')
    plan = fleet_plan(fleet(segment), {'h': {'index': '1'}})['h']
    assert (plan['index'], plan['segments'][0]['vlan_id'], plan['segments'][0]['ip_range'],
            plan['segments'][0]['shim']) == (1, 10, '172.28.10.160/27', None)


def test_host_trunk_and_segment_list():
    plan = fleet_plan(fleet(APPS, DB), {'h1': {'trunk': 'bond0', 'segments': ['db', 'apps']},
                                        'h2': {'segments': ['db']}})
    assert [s['interface'] for s in plan['h1']['segments']] == ['bond0.10', 'bond0.20']  # fleet order
    assert [s['name'] for s in plan['h2']['segments']] == ['db']
    assert plan['h1']['trunk'] == 'bond0' and plan['h2']['trunk'] == 'eth0'


def test_a_host_joining_no_segment_still_gets_an_index():
    plan = fleet_plan(fleet(), {'a': {'segments': []}, 'b': None})
    assert (plan['a'], plan['b']['index']) == ({'index': 0, 'trunk': 'eth0', 'trunk_promisc': None, 'segments': []}, 1)


def test_the_trunk_may_come_from_hosts_only():
    plan = fleet_plan({'segments': [APPS]}, {'h': {'trunk': 'ens3'}})
    assert plan['h']['segments'][0]['interface'] == 'ens3.10'


# --- determinism and index assignment ---------------------------------------------------------------------


def test_same_input_same_plan_whatever_the_order():
    first = fleet_plan(fleet(APPS, DB), {'c': None, 'a': None, 'b': {'segments': ['db', 'apps']}})
    second = fleet_plan(fleet(APPS, DB), {'b': {'segments': ['apps', 'db']}, 'a': None, 'c': None})
    assert first == second
    assert list(first) == ['a', 'b', 'c']
    assert [first[h]['index'] for h in first] == [0, 1, 2]


def observed_of(plan, host):
    addresses = []
    for segment in plan[host]['segments']:
        if segment['host_address']:
            addresses.append(segment['host_address'])
        if segment['shim']:
            addresses.append(segment['shim']['address'])
    return addresses


def test_adding_a_host_keeps_the_deployed_hosts_where_they_are():
    description = fleet(APPS, DB, LAN)
    deployed = fleet_plan(description, ['b', 'c', 'd'])
    assert [deployed[h]['index'] for h in 'bcd'] == [0, 1, 2]
    hosts = {host: {'observed': observed_of(deployed, host)} for host in 'bcd'}
    hosts['a'] = None  # sorts first: without the observed addresses it would take index 0
    grown = fleet_plan(description, hosts)
    for host in 'bcd':
        assert grown[host] == deployed[host]
    assert grown['a']['index'] == 3
    assert ranges(grown)['a'] == (3, '172.28.10.176/28', '172.28.10.5/24', '172.28.10.124/32')
    assert ranges(fleet_plan(description, ['a', 'b', 'c', 'd']))['b'][0] == 1  # the control: b would move


def test_adding_a_host_keeps_hosts_with_explicit_indexes():
    hosts = {'b': {'index': 0}, 'c': {'index': 1}, 'd': {'index': 2}}
    before = fleet_plan(fleet(), hosts)
    after = fleet_plan(fleet(), dict(hosts, a=None))
    assert {h: after[h] for h in 'bcd'} == before
    assert ranges(after)['a'] == (3, '172.28.10.176/28', '172.28.10.5/24', '172.28.10.124/32')


def test_lowest_free_indexes_fill_gaps_in_name_order():
    plan = fleet_plan(fleet(), {'x': {'index': 0}, 'y': {'observed': ['172.28.10.4/24']}, 'b': None, 'a': None})
    assert {h: plan[h]['index'] for h in plan} == {'a': 1, 'b': 3, 'x': 0, 'y': 2}


def test_observed_index_from_a_shim_alone_and_other_addresses_ignored():
    # .125/32 is shim 2; a container's address in the pool, another network and IPv6 say nothing.
    observed = ['172.28.10.125/32', '10.1.2.3/8', '2001:db8::5/64', '172.28.10.130/24']
    plan = fleet_plan(fleet(), {'h': {'observed': observed}, 'a': None})
    assert (plan['a']['index'], plan['h']['index']) == (0, 2)


def test_observed_prefix_tells_host_address_from_shim():
    assert fleet_plan(fleet(), {'h': {'observed': ['172.28.10.3/24']}})['h']['index'] == 1
    assert fleet_plan(fleet(), {'h': {'observed': ['172.28.10.126/32']}})['h']['index'] == 1
    # With the subnet's prefix, .126 is host address 124 (.2 is 0), an index the pool has no slice for.
    message = plan_error(fleet(), {'h': {'observed': ['172.28.10.126/24']}})
    assert message.startswith("segment 'apps': host 'h' (index 124) does not fit")


def test_explicit_index_equal_to_observed_is_fine():
    plan = fleet_plan(fleet(), {'h': {'index': 1, 'observed': ['172.28.10.3/24', '172.28.10.126/32']}})
    assert plan['h']['index'] == 1


def test_a_host_that_would_move_fails_with_both_indexes_and_ranges():
    message = plan_error(fleet(APPS, DB), {'h2': {'index': 3, 'observed': ['172.28.10.3/24']}})
    assert message == (
        "host 'h2' would move from index 1 to 3: it is deployed at index 1 (observed 172.28.10.3/24 on apps), and "
        'its range would change on segment apps from 172.28.10.144/28 to 172.28.10.176/28, on segment db from '
        '172.28.20.8/29 to 172.28.20.24/29; set underlay_host_index: 1 to keep it where it is, or, to move it on '
        'purpose, remove its underlay first (then nothing is observed)')


def test_move_beyond_the_pool_says_there_is_no_slice():
    message = plan_error(fleet(), {'h': {'index': 8, 'observed': ['172.28.10.126/32']}})
    assert 'from 172.28.10.144/28 to nothing (container_pool 172.28.10.128/25 has 8 slices)' in message


def test_observed_addresses_of_two_indexes_fail():
    message = plan_error(fleet(), {'h1': {'observed': ['172.28.10.3/24', '172.28.10.127/32']}})
    assert message == (
        "host 'h1': its observed addresses belong to different indexes (index 0: 172.28.10.127/32 on apps; "
        'index 1: 172.28.10.3/24 on apps); a host has one index: remove the stray links, or set '
        'underlay_host_index to the index to keep and remove the others')


def test_observed_index_claimed_by_another_host_explicitly_fails():
    message = plan_error(fleet(), {'h1': {'observed': ['172.28.10.3/24']}, 'h2': {'index': 1}})
    assert message == (
        "host 'h1' is deployed at index 1 (observed 172.28.10.3/24 on apps), but host 'h2' has underlay_host_index "
        "1; give 'h2' another underlay_host_index, or remove the underlay of 'h1' first so that it can take another "
        'index')


def test_two_hosts_deployed_at_one_index_fail():
    message = plan_error(fleet(), {'h1': {'observed': ['172.28.10.3/24']}, 'h2': {'observed': ['172.28.10.126/32']}})
    assert message.startswith("hosts 'h1' and 'h2' are both deployed at index 1 (observed 172.28.10.3/24 on apps; "
                              'and 172.28.10.126/32 on apps)')


def test_duplicate_explicit_indexes_fail():
    assert plan_error(fleet(), {'h1': {'index': 1}, 'h2': {'index': '1'}}) == (
        "hosts 'h1' and 'h2' both have underlay_host_index 1; give each host its own index")


# --- capacity ---------------------------------------------------------------------------------------------


def test_exhausted_pool_names_the_segment_the_host_and_the_fix():
    message = plan_error(fleet(), ['h%d' % i for i in range(9)])
    assert message == (
        "segment 'apps': host 'h8' (index 8) does not fit: container_pool 172.28.10.128/25 has 8 slices of "
        'host_range_size 16, so 8 hosts fit (indexes 0 to 7); make container_pool larger or host_range_size '
        'smaller, or leave the host off the segment (underlay_host_segments)')


def test_a_host_off_the_full_segment_fits():
    hosts = {'h%d' % i: None for i in range(8)}
    hosts['h8'] = {'segments': ['db']}
    plan = fleet_plan(fleet(APPS, dict(DB, host_range_size=4)), hosts)
    assert (plan['h8']['index'], plan['h8']['segments'][0]['ip_range']) == (8, '172.28.20.32/30')


def test_exhausted_infrastructure_says_host_and_shim_meet():
    segment = apps(subnet='172.28.10.0/28', gateway=None, container_pool='172.28.10.0/29', host_range_size=4)
    # Infrastructure .8-.14 (7 addresses): room for 3 hosts with host address and shim, the pool has 2 slices.
    assert fleet_plan(fleet(segment), ['a', 'b'])['b']['segments'][0]['shim']['address'] == '172.28.10.13/32'
    assert plan_error(fleet(segment), ['a', 'b', 'c']).startswith(
        "segment 'apps': host 'c' (index 2) does not fit: container_pool 172.28.10.0/29 has 2 slices")
    whole = apps(subnet='172.28.10.0/28', gateway=None, container_pool='172.28.10.0/28', host_range_size=4)
    message = plan_error(fleet(whole), ['a'])
    assert message == (
        "segment 'apps': host 'a' (index 0) does not fit, where host and shim addresses would meet: subnet "
        '172.28.10.0/28 has 0 infrastructure addresses (outside container_pool 172.28.10.0/28, the gateway and '
        'the network and broadcast addresses) and each host takes a host address and a shim address, so no host '
        'fits; make the subnet larger or container_pool smaller, set host_address or shim false on the segment, '
        'or leave the host off it (underlay_host_segments)')
    no_addresses = apps(subnet='172.28.10.0/28', gateway=None, container_pool='172.28.10.0/28', host_range_size=4,
                        shim=False, host_address=False)
    assert fleet_plan(fleet(no_addresses), ['a', 'b', 'c', 'd'])['d']['segments'][0]['ip_range'] == '172.28.10.12/30'


# --- validation -------------------------------------------------------------------------------------------

INVALID_FLEETS = [
    (fleet(trnk='eth0'),
     "underlay_fleet: unknown key 'trnk' (did you mean 'trunk'?); the known keys are segments, trunk"),
    (fleet(apps(vlan=10)),
     "underlay_fleet segment 'apps': unknown key 'vlan' (did you mean 'vlan_id'?); the known keys are "
     'container_pool, docker, docker_network, driver, gateway, host_address, host_range_size, mode, name, shim, '
     'subnet, vlan_id'),
    (fleet(apps(vlan_id='ten')), "underlay_fleet segment 'apps': vlan_id must be an integer, e.g. 10; got 'ten'"),
    (fleet(apps(vlan_id=4095)),
     "underlay_fleet segment 'apps': vlan_id 4095 is out of range: a VLAN id is 1 to 4094 (leave vlan_id out for an "
     'untagged segment on the trunk itself)'),
    (fleet(apps(vlan_id=0)), "underlay_fleet segment 'apps': vlan_id 0 is out of range"),
    (fleet(apps(vlan_id=True)), "underlay_fleet segment 'apps': vlan_id must be an integer, e.g. 10; got True"),
    (fleet(APPS, dict(DB, vlan_id=10)),
     "underlay_fleet segments 'apps' and 'db' have the same vlan_id 10; a VLAN id carries one segment: give each "
     'segment its own'),
    (fleet(APPS, dict(DB, name='apps')),
     "underlay_fleet.segments[0] and underlay_fleet.segments[1] are both named 'apps'; segment names must be unique"),
    (fleet(apps(name='Apps-1')),
     "underlay_fleet.segments[0]: name 'Apps-1' is not a valid segment name: a lower-case letter followed by up to "
     "11 lower-case letters, digits or '_' (it becomes part of interface and network names), e.g. apps"),
    (fleet(apps(name='a' * 13)), "underlay_fleet.segments[0]: name 'aaaaaaaaaaaaa' is not a valid segment name"),
    (fleet(apps(name=None)), 'underlay_fleet.segments[0] has no name: every segment needs one, e.g. name: apps'),
    (fleet(apps(subnet=None)), "underlay_fleet segment 'apps' has no subnet"),
    (fleet(apps(subnet='172.28.10.5/24')),
     "underlay_fleet segment 'apps': subnet '172.28.10.5/24' has host bits set; write the network address, "
     '172.28.10.0/24'),
    (fleet(apps(subnet='172.28.10.0')), "underlay_fleet segment 'apps': subnet '172.28.10.0' has no prefix length"),
    (fleet(apps(subnet='172.28.10/24')),
     "underlay_fleet segment 'apps': subnet '172.28.10/24' is not a network in CIDR notation; write it like "
     '172.28.10.0/24'),
    (fleet(apps(subnet=24)), "underlay_fleet segment 'apps': subnet must be a non-empty string"),
    (fleet(apps(subnet='2001:db8::/64')),
     "underlay_fleet segment 'apps': subnet '2001:db8::/64' is IPv6: the fleet plan plans IPv4 only (IPv6 is not "
     'planned); give the IPv4 network, e.g. 172.28.10.0/24'),
    (fleet(apps(subnet='172.28.10.0/31')), "underlay_fleet segment 'apps': subnet 172.28.10.0/31 is too small to plan"),
    (fleet(APPS, dict(DB, subnet='172.28.0.0/16', container_pool='172.28.200.0/24')),
     "underlay_fleet segments 'apps' and 'db' overlap: subnet 172.28.10.0/24 and subnet 172.28.0.0/16 share "
     'addresses; give each segment its own subnet'),
    (fleet(apps(gateway='172.28.11.1')),
     "underlay_fleet segment 'apps': gateway 172.28.11.1 is outside subnet 172.28.10.0/24; give the router of that "
     'subnet, e.g. 172.28.10.1, or leave gateway out'),
    (fleet(apps(gateway='172.28.10.130')),
     "underlay_fleet segment 'apps': gateway 172.28.10.130 is inside container_pool 172.28.10.128/25, whose "
     'addresses go to containers; move the pool off the gateway or correct the gateway'),
    (fleet(apps(gateway='172.28.10.0')),
     "underlay_fleet segment 'apps': gateway 172.28.10.0 is the network or broadcast address"),
    (fleet(apps(gateway='172.28.10.1/24')),
     "underlay_fleet segment 'apps': gateway '172.28.10.1/24' is not an IPv4 address"),
    (fleet(apps(gateway='2001:db8::1')),
     "underlay_fleet segment 'apps': gateway '2001:db8::1' is IPv6: the fleet plan plans IPv4 only (IPv6 is not "
     'planned)'),
    (fleet(apps(vlan_id='\u00b2')), "underlay_fleet segment 'apps': vlan_id must be an integer, e.g. 10; got '\u00b2'"),
    (fleet(apps(container_pool=None)),
     "underlay_fleet segment 'apps' has no container_pool: give the part of subnet 172.28.10.0/24 that containers "
     'of all hosts draw from, e.g. container_pool: 172.28.10.128/25'),
    (fleet(apps(container_pool='172.28.11.0/25')),
     "underlay_fleet segment 'apps': container_pool 172.28.11.0/25 is not inside subnet 172.28.10.0/24; take a "
     'part of the subnet, e.g. 172.28.10.128/25'),
    (fleet(apps(container_pool='172.28.10.130/25')),
     "underlay_fleet segment 'apps': container_pool '172.28.10.130/25' has host bits set"),
    (fleet(apps(host_range_size=12)),
     "underlay_fleet segment 'apps': host_range_size 12 is not a power of two of at least 4; each host gets an "
     'aligned slice of the pool, e.g. host_range_size: 16'),
    (fleet(apps(host_range_size=2)),
     "underlay_fleet segment 'apps': host_range_size 2 is not a power of two of at least 4"),
    (fleet(apps(host_range_size=256)),
     "underlay_fleet segment 'apps': host_range_size 256 is larger than container_pool 172.28.10.128/25 (128 "
     'addresses); make the pool larger or host_range_size at most 128'),
    (fleet(apps(mode='l2')),
     "underlay_fleet segment 'apps': mode 'l2' is not a mode of driver macvlan ('l2' is a mode of driver ipvlan); "
     'its modes are bridge, private, vepa (default bridge)'),
    (fleet(apps(driver='ipvlan', mode='vepa')),
     "underlay_fleet segment 'apps': mode 'vepa' is not a mode of driver ipvlan"),
    (fleet(apps(mode='brige')),
     "underlay_fleet segment 'apps': mode 'brige' is not a mode of driver macvlan (did you mean 'bridge'?)"),
    (fleet(apps(driver='ipvlam')),
     "underlay_fleet segment 'apps': driver 'ipvlam' is not supported (did you mean 'ipvlan'?); choose one of "
     'macvlan, ipvlan'),
    (fleet(apps(shim='maybe')), "underlay_fleet segment 'apps': shim must be true or false, got 'maybe'"),
    (fleet(apps(vlan_id=None, host_address=True)),
     "underlay_fleet segment 'apps': host_address is true but the segment is untagged (no vlan_id)"),
    (fleet(apps(vlan_id=None, name='applications')),
     "underlay_fleet segment 'applications': the shim name would be 'shim-applications', 17 bytes long; Linux "
     'interface names are at most 15 bytes: give the segment a name of at most 10 characters, or set shim false'),
    (fleet(apps(docker_network='my net')),
     "underlay_fleet segment 'apps': docker_network 'my net' is not a valid Docker network name"),
    (fleet(APPS, dict(DB, docker_network='apps')),
     "underlay_fleet segments 'apps' and 'db' have the same docker_network apps"),
    (fleet(trunk='eth/0'), "underlay_fleet.trunk 'eth/0' contains '/'"),
    (fleet(segments=[]), 'underlay_fleet.segments is missing or empty'),
    (fleet(segments=APPS), 'underlay_fleet.segments must be a list'),
    (fleet(segments=['apps']), 'underlay_fleet.segments[0] must be a dictionary'),
    (['apps'], 'underlay_fleet must be a dictionary'),
]


@pytest.mark.parametrize('description, expected', INVALID_FLEETS)
def test_invalid_fleets_fail_with_the_place_the_value_and_the_fix(description, expected):
    assert plan_error(description, ['h1']).startswith(expected)


INVALID_HOSTS = [
    ({'h1': {'indx': 1}},
     "host 'h1' (in the hosts argument of fleet_plan): unknown key 'indx' (did you mean 'index'?); the known keys "
     'are adopt, connected, force, index, interfaces, observed, protected, segments, trunk, unreadable'),
    ({'h1': {'segments': ['aps']}},
     "host 'h1': underlay_host_segments lists 'aps', which is not a segment of underlay_fleet (did you mean "
     "'apps'?); the segments are apps, lan"),
    ({'h1': {'segments': ['apps', 'apps']}}, "host 'h1': underlay_host_segments lists 'apps' twice"),
    ({'h1': {'segments': [{'name': 'apps'}]}},
     "host 'h1': underlay_host_segments lists '{'name': 'apps'}', which is not a segment of underlay_fleet"),
    ({'h1': {'segments': 'apps'}}, "host 'h1': underlay_host_segments must be a list"),
    ({'h1': None, 'h2': {'segments': ['apps']}},
     "host 'h1': segments 'apps' and 'lan' are both untagged (no vlan_id), so both would sit on trunk eth0; a trunk "
     'carries one untagged segment: give one of them a vlan_id or leave one off the host (underlay_host_segments)'),
    ({'h1': {'index': -1}}, "host 'h1': underlay_host_index -1 is negative; host indexes count from 0"),
    ({'h1': {'index': True}}, "host 'h1': underlay_host_index must be an integer, e.g. 0; got True"),
    ({'h1': {'index': 'one'}}, "host 'h1': underlay_host_index must be an integer, e.g. 0; got 'one'"),
    ({'h1': {'trunk': 'eth 0', 'segments': ['apps']}}, "host 'h1': underlay_trunk 'eth 0' contains whitespace"),
    ({'h1': {'observed': ['172.28.10.3']}},
     "host 'h1': observed address '172.28.10.3' has no prefix length; give the addresses as links_info reports "
     'them, e.g. 172.28.10.2/24'),
    ({'h1': {'observed': ['nonsense/24']}}, "host 'h1': observed address 'nonsense/24' is not an address"),
    ({'h1': {'observed': '172.28.10.3/24'}}, "host 'h1': observed must be a list"),
    ({'h1': 'eth0'}, "host 'h1' must be a dictionary"),
    ('h1', 'the hosts argument of fleet_plan must be a dictionary of host name -> {index, trunk, segments, '
           'observed} or a list of host names, got str'),
    (['h1', 'h1'], "the hosts argument of fleet_plan lists host 'h1' twice"),
    ([''], "the hosts argument of fleet_plan has a host name ''"),
]


@pytest.mark.parametrize('hosts, expected', INVALID_HOSTS)
def test_invalid_hosts_fail_naming_the_host(hosts, expected):
    two_untagged = fleet(apps(vlan_id=None), LAN)
    assert plan_error(two_untagged, hosts).startswith(expected)


def test_untagged_segments_on_different_hosts_are_fine():
    plan = fleet_plan(fleet(apps(vlan_id=None), LAN), {'h1': {'segments': ['apps']}, 'h2': {'segments': ['lan']}})
    assert [plan[h]['segments'][0]['interface'] for h in ('h1', 'h2')] == ['eth0', 'eth0']


def test_vlan_interface_longer_than_15_bytes_fails():
    message = plan_error(fleet(apps(vlan_id=1000)), {'h1': {'trunk': 'enp129s0f1np0'}})
    assert message == (
        "host 'h1', segment 'apps': the VLAN interface would be 'enp129s0f1np0.1000', 18 bytes long; Linux interface "
        'names are at most 15 bytes: give the host a shorter trunk name (underlay_trunk, e.g. an altname) or the '
        'segment a shorter vlan_id')
    assert fleet_plan(fleet(apps(vlan_id=4000)), {'h1': {'trunk': 'enp129s0f1'}})['h1']['segments'][0][
        'interface'] == 'enp129s0f1.4000'


def test_an_interface_name_used_twice_on_a_host_fails():
    message = plan_error(fleet(), {'h1': {'trunk': 'shim10'}})
    assert message == ("host 'h1', segment 'apps': the shim would be 'shim10', the name of the trunk too; rename the "
                       "host's trunk (underlay_trunk) or the segment")


def test_a_host_without_trunk_fails():
    assert plan_error({'segments': [APPS]}, ['h1']) == (
        "host 'h1' has no trunk: set underlay_fleet.trunk for the whole fleet or underlay_trunk for this host, "
        'e.g. eth0')


@pytest.mark.parametrize('flags, expected', [
    ({}, 63),  # 126 infrastructure addresses (.2-.127), host address i and shim i from either end
    ({'shim': False}, 126),
    ({'host_address': False}, 126),
    ({'shim': False, 'host_address': False}, None),
])
def test_infrastructure_capacity_counts_host_addresses_and_shims(flags, expected):
    segment = parse_segment(apps(**flags), 0)
    assert (segment.infrastructure_size, segment.infrastructure_capacity(), segment.capacity()) == (
        126, expected, 8)


# --- the implicit Docker gateway, the uplink guard -------------------------------------------------------


def test_without_a_gateway_the_first_address_is_left_to_the_docker_engine():
    plan = fleet_plan(fleet(apps(gateway=None)), ['h1'])['h1']['segments'][0]
    assert plan['gateway'] is None
    assert plan['host_address'] == '172.28.10.2/24'  # not .1: an engine takes it as the network's gateway


def test_a_protected_address_in_a_segment_subnet_fails_naming_host_segment_and_address():
    # The uplink's default gateway 172.28.10.1 would be reached through eth0.10 once the host has an
    # address in 172.28.10.0/24 there.
    hosts = {'h1': {'protected': [{'address': '172.28.10.1', 'why': 'default gateway on eth0'}]}}
    message = plan_error(fleet(apps(gateway=None)), hosts)
    assert message.startswith("host 'h1', segment 'apps': its host address 172.28.10.2/24 puts subnet "
                              '172.28.10.0/24 on eth0.10, which holds 172.28.10.1 (default gateway on eth0)')
    assert 'underlay_force: true' in message
    # The same from a default route as links_info reports it.
    route = {'interface': 'eth0', 'gateway': '172.28.10.1', 'family': 'ipv4'}
    assert '(the default gateway via eth0)' in plan_error(fleet(apps(gateway=None)), {'h1': {'protected': [route]}})
    on_link = {'interface': 'eth0', 'gateway': None, 'family': 'ipv4'}
    assert fleet_plan(fleet(apps(gateway=None)), {'h1': {'protected': [on_link]}})['h1']['index'] == 0


def test_a_protected_address_in_the_shim_range_fails_even_on_an_untagged_segment():
    untagged = apps(vlan_id=None)
    on_lan = {'protected': ['172.28.10.130'], 'connected': ['172.28.10.9/24']}
    message = plan_error(fleet(untagged), {'h1': on_lan})
    assert message.startswith("host 'h1', segment 'apps': its shim shim-apps routes 172.28.10.128/28, which holds "
                              '172.28.10.130 (a protected address)')
    # Off the LAN the shim routes the whole subnet, and the controller anywhere in it is in the way.
    message = plan_error(fleet(untagged), {'h1': {'protected': [{'address': '172.28.10.5', 'why': 'the controller'}]}})
    assert message.startswith("host 'h1', segment 'apps': its shim shim-apps routes 172.28.10.0/24, which holds "
                              '172.28.10.5 (the controller)')


def test_force_skips_the_uplink_guard_and_unrelated_protected_addresses_pass():
    forced = fleet_plan(fleet(), {'h1': {'protected': ['172.28.10.1'], 'force': True}})
    assert forced['h1']['segments'][0]['host_address'] == '172.28.10.2/24'
    # Elsewhere (the lab's uplink network) and IPv6 addresses are no risk.
    fine = fleet_plan(fleet(), {'h1': {'protected': ['172.28.0.1', 'fe80::1', {'address': '10.0.0.9'}]}})
    assert fine['h1']['index'] == 0


def test_a_bad_protected_entry_fails():
    assert plan_error(fleet(), {'h1': {'protected': ['gateway']}}).startswith(
        "host 'h1': protected 'gateway' is not an IPv4 address")
    assert "unknown key 'adress'" in plan_error(fleet(), {'h1': {'protected': [{'adress': '172.28.0.1'}]}})


# ---------------------------------------------------------------------------------------------
# Infrastructure addresses are never handed out: protected addresses and the hosts' own (issue 13, item 3)


def untagged_lan(**changes):
    """The lab's uplink LAN as an untagged segment, no gateway declared: the router sits at .254."""
    segment = {'name': 'lan', 'subnet': '172.28.0.0/24', 'container_pool': '172.28.0.128/26'}
    segment.update(changes)
    return segment


def shims(plan):
    return {host: [segment['shim']['address'] for segment in entry['segments']] for host, entry in plan.items()}


def test_a_shim_never_takes_a_protected_address_such_as_the_router():
    router = {'family': 4, 'gateway': '172.28.0.254', 'interface': 'eth0'}
    hosts = {'h1': {'protected': [router], 'connected': ['172.28.0.11/24']},
             'h2': {'protected': [router], 'connected': ['172.28.0.12/24']}}
    assert shims(fleet_plan(fleet(untagged_lan()), hosts)) == {'h1': ['172.28.0.253/32'], 'h2': ['172.28.0.252/32']}


def test_no_host_or_shim_address_is_an_address_another_host_already_has():
    # h2's own address on the LAN is .253 and h1's is .2: neither is handed out, whoever holds it.
    hosts = {'h1': {'protected': ['172.28.0.254'], 'connected': ['172.28.0.2/24']},
             'h2': {'protected': ['172.28.0.254'], 'connected': ['172.28.0.253/24']}}
    assert shims(fleet_plan(fleet(untagged_lan()), hosts)) == {'h1': ['172.28.0.252/32'], 'h2': ['172.28.0.251/32']}
    # The same on a tagged segment, for host addresses from the low end: .2 is taken by a host of the VLAN
    # (an address it carries on an interface the collection did not make), .3 is protected (forced through
    # the uplink guard: reserved all the same).
    tagged = apps(gateway=None)
    plan = fleet_plan(fleet(tagged), {'h1': {'connected': ['172.28.10.2/24']},
                                      'h2': {'protected': [{'address': '172.28.10.3', 'why': 'the controller'}],
                                             'force': True}})
    assert [plan[host]['segments'][0]['host_address'] for host in ('h1', 'h2')] == ['172.28.10.4/24',
                                                                                    '172.28.10.5/24']


def test_a_host_deployed_next_to_reserved_addresses_keeps_its_index():
    hosts = {'h1': {'protected': ['172.28.0.254'], 'connected': ['172.28.0.11/24']}}
    first = fleet_plan(fleet(untagged_lan()), hosts)
    deployed = dict(hosts['h1'], observed=first['h1']['segments'][0]['shim']['address'].split())
    new_host = {'protected': ['172.28.0.254'], 'connected': ['172.28.0.10/24']}
    again = fleet_plan(fleet(untagged_lan()), {'h1': deployed, 'h0': new_host})
    assert again['h1']['index'] == 0 and again['h0']['index'] == 1
    assert shims(again) == {'h1': ['172.28.0.253/32'], 'h0': ['172.28.0.252/32']}


def test_a_deployed_address_that_another_host_now_holds_fails_naming_both():
    message = plan_error(fleet(untagged_lan()), {'h1': {'observed': ['172.28.0.253/32']},
                                                 'h2': {'connected': ['172.28.0.253/24']}})
    assert message == ("host 'h1', segment 'lan': its deployed address 172.28.0.253/32 is also an address of "
                       "host 'h2' (on an interface this collection did not make); two hosts must not share an "
                       "address: take it off one of them, then plan again")


def test_reserved_addresses_that_leave_too_few_fail_clearly():
    # A /28 subnet with a /29 pool leaves 6 infrastructure addresses (.2 to .7); five of them are in use here.
    small = untagged_lan(subnet='172.28.0.0/28', container_pool='172.28.0.8/29', host_range_size=4)
    reserved = {'protected': ['172.28.0.7', '172.28.0.6'], 'connected': ['172.28.0.5/28', '172.28.0.4/28',
                                                                         '172.28.0.3/28']}
    message = plan_error(fleet(small), {'h1': reserved, 'h2': {}})
    assert "segment 'lan': host 'h2' (index 1) does not fit" in message
    assert ('subnet 172.28.0.0/28 has 1 infrastructure addresses (outside container_pool 172.28.0.8/29, the '
            'gateway, the network and broadcast addresses and 5 addresses in use by hosts or protected: '
            '172.28.0.3, 172.28.0.4, 172.28.0.5, 172.28.0.6, 172.28.0.7)') in message


# ---------------------------------------------------------------------------------------------
# Hosts outside a limited run (issue 13, item 1)


def test_a_host_that_could_not_be_read_keeps_new_hosts_from_taking_an_index():
    hosts = {'h1': {'observed': ['172.28.10.2/24']}, 'h2': {'unreadable': 'unreachable: no route'}, 'h3': {}}
    message = plan_error(fleet(), hosts)
    assert message.startswith("host 'h3' takes a new index, but host 'h2' (unreachable: no route) could not be read")
    assert 'or give each new host an index no other host has with underlay_host_index' in message
    # Pinned, the new host needs nobody's index; deployed hosts keep theirs; the unread host gets no plan.
    plan = fleet_plan(fleet(), dict(hosts, h3={'index': 4}))
    assert sorted(plan) == ['h1', 'h3'] and plan['h1']['index'] == 0 and plan['h3']['index'] == 4
    # An unread host with a pinned index holds it, so a new host can be placed around it.
    placed = fleet_plan(fleet(), {'h2': {'unreadable': 'x', 'index': 0}, 'h3': {}})
    assert placed['h3']['index'] == 1 and sorted(placed) == ['h3']


# --- interfaces the host has already -------------------------------------------------------------------


ADMINS_VLAN = {'eth0.10': {'managed_by': None, 'addresses': ['10.0.0.5/24'], 'default_route': '10.0.0.1', 'routes': []}}


def test_a_planned_vlan_interface_the_host_has_unmarked_is_refused():
    # The admin's eth0.10 carries the management address and default route: taking it over would cut the host off.
    message = plan_error(fleet(), {'h1': {'interfaces': ADMINS_VLAN}})
    assert message == (
        "host 'h1', segment 'apps': the VLAN interface eth0.10 exists already and this collection did not make it "
        "(it carries 10.0.0.5/24 and the default route via 10.0.0.1); the plan would take it over and strip what "
        "it carries: give the segment another vlan_id, leave the host off it (underlay_host_segments), or let the "
        "plan take it over with underlay_adopt_segments: [apps] for this host")


def test_a_planned_interface_that_carries_the_default_route_is_refused_even_when_ours():
    interfaces = {'shim10': interface('underlay.network/shim'),
                  'eth0.10': interface('underlay.network', default_route='172.28.10.1')}
    message = plan_error(fleet(), {'h1': {'interfaces': interfaces}})
    assert ("the VLAN interface eth0.10 carries the host's default route via 172.28.10.1; the plan would take it "
            'over and strip what it carries') in message


def test_a_planned_shim_name_the_host_has_unmarked_is_refused():
    interfaces = {'shim10': {'managed_by': None, 'addresses': [], 'default_route': None, 'routes': []}}
    message = plan_error(fleet(), {'h1': {'interfaces': interfaces}})
    assert "host 'h1', segment 'apps': the shim shim10 exists already and this collection did not make it (it " \
        'carries nothing)' in message


def test_adopting_a_segment_lets_the_plan_take_its_interfaces_over_and_marks_them_for_adoption():
    plan = fleet_plan(fleet(APPS, DB), {'h1': {'interfaces': ADMINS_VLAN, 'adopt': ['apps']}, 'h2': {}})
    assert [segment['adopt'] for segment in plan['h1']['segments']] == [True, False]
    assert [segment['adopt'] for segment in plan['h2']['segments']] == [False, False]
    vlans = host_links(plan['h1'], 'vlans')['links']
    assert [(link['name'], link.get('adopt', False)) for link in vlans] == [('eth0.10', True), ('eth0.20', False)]
    shims = host_links(plan['h1'], 'shims')['links']
    assert [(link['name'], link.get('adopt', False)) for link in shims] == [('shim10', True), ('shim20', False)]


def test_interfaces_the_plan_does_not_name_and_our_own_links_pass():
    interfaces = {'eth0.99': interface(addresses=['10.9.9.9/24'], default_route='10.9.9.1'),
                  'eth0.10': {'managed_by': 'underlay.network', 'addresses': ['172.28.10.2/24'],
                              'default_route': None, 'routes': []}}
    assert fleet_plan(fleet(), {'h1': {'interfaces': interfaces}})['h1']['index'] == 0


@pytest.mark.parametrize('entry, message', [
    ({'adopt': ['nope']}, "host 'h1': underlay_adopt_segments lists 'nope', which is not a segment of underlay_fleet"),
    ({'adopt': 'apps'}, "host 'h1': underlay_adopt_segments must be a list"),
    ({'interfaces': ['eth0.10']}, "host 'h1': interfaces must be a dictionary"),
    ({'interfaces': {'eth0.10': {'addresses': []}}}, "host 'h1': interfaces, eth0.10 has no key 'default_route'"),
])
def test_bad_interfaces_or_adopt_entries_fail_by_name(entry, message):
    assert message in plan_error(fleet(), {'h1': entry})
