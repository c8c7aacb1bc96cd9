"""The pure model of a Docker macvlan/ipvlan network: validation, normalization from inspect, comparison."""

import pytest

from ansible_collections.underlay.network.plugins.module_utils._common.errors import ValidationError
from ansible_collections.underlay.network.plugins.module_utils._common.markers import managed_by
from ansible_collections.underlay.network.plugins.module_utils._docker.network import (
    address_fits,
    completed_network,
    desired_network,
    engine_conflicts,
    network_differences,
    network_state,
)

SEED_POOL = {'subnet': '172.28.240.0/20', 'gateway': '172.28.240.1', 'ip_range': '172.28.244.0/22',
             'aux_addresses': {'host': '172.28.244.254'}}


def params(**overrides):
    base = dict(name='macvlan', driver='macvlan', macvlan_mode=None, ipvlan_mode=None, ipvlan_flag=None,
                ipam_config=[dict(SEED_POOL)], internal=False, labels=None)
    base.update(overrides)
    return base


def want(parent='eth0', **overrides):
    return desired_network(params(**overrides), parent)


def inspect(name='macvlan', driver='macvlan', options=None, config=None, **extra):
    """What ``docker network inspect`` says (the fields the model reads)."""
    return dict({'Name': name, 'Id': 'f00d' + name, 'Driver': driver, 'Options': options or {'parent': 'eth0'},
                 'IPAM': {'Driver': 'default', 'Options': None, 'Config': config if config is not None else [
                     {'Subnet': '172.28.240.0/20', 'Gateway': '172.28.240.1', 'IPRange': '172.28.244.0/22',
                      'AuxiliaryAddresses': {'host': '172.28.244.254'}}]},
                 'EnableIPv6': False, 'Internal': False, 'Labels': {}}, **extra)


def test_seed_network_is_normalized_with_engine_defaults():
    desired = want()
    assert desired['options'] == {'parent': 'eth0', 'macvlan_mode': 'bridge'}
    assert desired['pools'] == [SEED_POOL]
    assert desired['enable_ipv6'] is False


def test_network_made_by_hand_compares_equal():
    # No macvlan_mode option on the engine: the driver's default, bridge, is what it has.
    assert network_differences(network_state(inspect()), want()) == []


def test_pools_match_regardless_of_order_and_spelling():
    v6 = {'subnet': '2001:DB8:240::/64', 'gateway': '2001:db8:240:0::1'}
    desired = want(ipam_config=[v6, dict(SEED_POOL)])
    assert desired['enable_ipv6'] is True
    assert [p['subnet'] for p in desired['pools']] == ['172.28.240.0/20', '2001:db8:240::/64']
    current = network_state(inspect(config=[{'Subnet': '2001:db8:240::/64', 'Gateway': '2001:db8:240::1'},
                                            {'Subnet': '172.28.240.0/20', 'Gateway': '172.28.240.1',
                                             'IPRange': '172.28.244.0/22',
                                             'AuxiliaryAddresses': {'host': '172.28.244.254'}}], EnableIPv6=True))
    assert network_differences(current, desired) == []


def test_options_the_engine_adds_are_ignored():
    current = network_state(inspect(options={'parent': 'eth0', 'com.docker.network.something': 'x'}))
    assert network_differences(current, want()) == []


@pytest.mark.parametrize('change, difference', [
    (dict(ipam_config=[dict(SEED_POOL, ip_range='172.28.248.0/22')]),
     'pool 172.28.240.0/20: ip_range is 172.28.244.0/22, wanted 172.28.248.0/22'),
    (dict(macvlan_mode='private'), 'macvlan_mode is bridge, wanted private'),
    (dict(internal=True), 'internal is False, wanted True'),
    (dict(labels={'team': 'net'}), "labels are {}, wanted {'team': 'net'}"),
    (dict(ipam_config=[dict(SEED_POOL, aux_addresses={})]),
     "pool 172.28.240.0/20: aux_addresses is {'host': '172.28.244.254'}, wanted {}"),
    (dict(ipam_config=[{'subnet': '172.28.0.0/20'}]), 'pool 172.28.0.0/20 is missing'),
])
def test_drift_is_named(change, difference):
    assert difference in network_differences(network_state(inspect()), want(**change))


def test_another_parent_and_driver_are_drift():
    differences = network_differences(network_state(inspect()), want(parent='eth0.10', driver='ipvlan'))
    assert 'driver is macvlan, wanted ipvlan' in differences
    assert 'parent is eth0, wanted eth0.10' in differences


def test_gateway_not_given_is_the_engines_choice_and_kept_on_recreation():
    current = network_state(inspect())
    desired = want(ipam_config=[dict(SEED_POOL, gateway=None, ip_range='172.28.248.0/22')], labels=None)
    assert [d for d in network_differences(current, desired) if 'gateway' in d] == []
    current['labels'] = {'owner': 'ops'}
    target = completed_network(current, desired)
    assert target['pools'][0]['gateway'] == '172.28.240.1' and target['labels'] == {'owner': 'ops'}
    assert completed_network(None, desired)['labels'] == {}


@pytest.mark.parametrize('pool, message', [
    (dict(SEED_POOL, subnet='172.28.240.5/20'), 'has host bits set; did you mean 172.28.240.0/20'),
    (dict(SEED_POOL, subnet='bogus'), "ipam_config[0].subnet 'bogus' is not a subnet"),
    (dict(SEED_POOL, gateway='172.28.0.1'), 'gateway 172.28.0.1 is outside the subnet 172.28.240.0/20'),
    (dict(SEED_POOL, gateway='172.28.240.0'), 'is the network or broadcast address'),
    (dict(SEED_POOL, gateway='2001:db8::1'), 'gateway 2001:db8::1 is outside the subnet'),
    (dict(SEED_POOL, ip_range='172.28.0.0/22'), 'ip_range 172.28.0.0/22 is not inside the subnet'),
    (dict(SEED_POOL, ip_range='172.28.224.0/19'), 'ip_range 172.28.224.0/19 is not inside the subnet'),
    (dict(SEED_POOL, aux_addresses={'host': '10.0.0.1'}), 'aux_addresses.host 10.0.0.1 is outside the subnet'),
    (dict(SEED_POOL, aux_addresses={'router': '172.28.240.1'}), 'is the gateway'),
])
def test_bad_pools_are_refused_naming_the_value(pool, message):
    with pytest.raises(ValidationError, match='ipam_config') as err:
        want(ipam_config=[pool])
    assert message in str(err.value)


def test_overlapping_pools_are_refused():
    with pytest.raises(ValidationError, match='pools 172.28.240.0/20 and 172.28.244.0/24 overlap'):
        want(ipam_config=[dict(SEED_POOL), {'subnet': '172.28.244.0/24'}])


def test_a_network_needs_a_pool():
    with pytest.raises(ValidationError, match='at least one pool'):
        want(ipam_config=[])


@pytest.mark.parametrize('change, message', [
    (dict(name='-bad'), "name '-bad' is not a valid Docker network name"),
    (dict(ipvlan_mode='l3'), 'ipvlan_mode is an option of the ipvlan driver, but driver is macvlan'),
    (dict(driver='ipvlan', macvlan_mode='vepa'), 'macvlan_mode is an option of the macvlan driver'),
])
def test_bad_parameters_are_refused(change, message):
    with pytest.raises(ValidationError, match=message):
        want(**change)


def test_labels_compare_as_the_strings_the_engine_keeps():
    current = network_state(inspect(Labels={'port': '8080'}))
    assert network_differences(current, want(labels={'port': 8080})) == []


def test_ipvlan_defaults():
    assert want(driver='ipvlan')['options'] == {'parent': 'eth0', 'ipvlan_mode': 'l2', 'ipvlan_flag': 'bridge'}


def test_parent_used_by_another_network_names_it():
    others = [network_state(inspect(name='old-macvlan', config=[{'Subnet': '10.1.0.0/24'}]))]
    conflicts = engine_conflicts(others, want())
    assert len(conflicts) == 1
    assert "parent eth0 is already used by the macvlan network 'old-macvlan'" in conflicts[0]
    # On another parent (a VLAN) there is no conflict; the network itself never conflicts.
    assert engine_conflicts(others, want(parent='eth0.10')) == []
    assert engine_conflicts([network_state(inspect(name='macvlan'))], want()) == []


def test_overlapping_subnet_on_the_engine_names_the_network():
    bridge = network_state(inspect(name='br-apps', driver='bridge', options={},
                                   config=[{'Subnet': '172.28.0.0/16', 'Gateway': '172.28.0.1'}]))
    assert engine_conflicts([bridge], want(parent='eth0.10')) == [
        "subnet 172.28.240.0/20 overlaps subnet 172.28.0.0/16 of the Docker network 'br-apps' (bridge); "
        'choose a subnet no other network on this engine uses']


def test_networks_without_pools_never_conflict():
    none = network_state(inspect(name='none', driver='null', options={}, config=[]))
    assert engine_conflicts([none], want()) == []


def test_address_fits_the_new_subnets():
    pools = want()['pools']
    assert address_fits('172.28.244.3/20', pools) and address_fits('172.28.244.3', pools)
    assert not address_fits('172.28.0.3', pools) and not address_fits('2001:db8::3', pools)


def test_managed_marker():
    assert managed_by('underlay.network') == 'underlay.network'
    assert managed_by('underlay.network/docker_vlan_network') == 'underlay.network/docker_vlan_network'
    assert managed_by('underlay.networks') is None and managed_by('uplink to core') is None and managed_by(None) is None
