"""docker_vlan_network against a real dockerd in a lab namespace (host kernel: macvlan on a veth trunk).

The engine runs in the docker host namespace (fixture ``docker_host``), the
module runs there too, through the netns connection, and talks to the engine's
own socket. Every result is read back from the engine (Docker SDK) and from
the kernel; reachability is real pings between containers and namespaces.
VLAN parents and ipvlan need the full kernel: tests/kernel/test_docker_vlan_network.py.
"""

from __future__ import annotations

import docker
import pytest
from docker_tier import container_reaches, network_snapshot, run_container
from harness import reaches, read_link

pytestmark = pytest.mark.docker

SUBNET = '172.28.60.0/24'
POOL = {'subnet': SUBNET, 'gateway': '172.28.60.1', 'ip_range': '172.28.60.128/27',
        'aux_addresses': {'host': '172.28.60.2'}}
HOST_ADDRESS = '172.28.60.3'  # the docker host's own address on the trunk
SHIM = dict(name='dm-shim', parent='trunk', mode='bridge', addresses=['172.28.60.2/32'],
            routes=[{'dest': '172.28.60.128/27'}])


def network(name='dm', **overrides):
    return dict(dict(name=name, parent='trunk', ipam_config=[POOL]), **overrides)


def test_seed_scenario_containers_reach_each_other_and_the_host_only_through_a_shim(docker_host):
    docker_host.add_address('trunk', HOST_ADDRESS + '/24')
    first, again, second = docker_host.play(
        docker_host.network_task(network()),
        docker_host.network_task(network()),
        docker_host.network_task(network('dm2', ipam_config=[{'subnet': '172.28.61.0/24'}])),
    )
    assert first.changed and not first.failed, first
    assert first['actions'] == ['create network dm']
    assert not again.changed and again['actions'] == [], again
    # Docker's own message names only an id ("network dm-3f2a... is already using parent interface trunk").
    assert second.failed and "parent trunk is already used by the macvlan network 'dm'" in second['msg'], second
    assert [n.name for n in docker_host.client.networks.list(names=['dm2'])] == []

    engine_view = docker_host.client.api.inspect_network('dm')
    assert engine_view['Options']['parent'] == 'trunk'
    assert engine_view['IPAM']['Config'] == [{'Subnet': SUBNET, 'Gateway': '172.28.60.1',
                                              'IPRange': '172.28.60.128/27',
                                              'AuxiliaryAddresses': {'host': '172.28.60.2'}}]

    c1, c2 = run_container(docker_host, 'c1', 'dm'), run_container(docker_host, 'c2', 'dm')
    assert c1.address != c2.address and all(a.startswith('172.28.60.1') for a in (c1.address, c2.address))
    assert container_reaches(c1, c2.address) and container_reaches(c2, c1.address)
    # The kernel forbids a macvlan parent to talk to its own macvlan children.
    assert not reaches(docker_host.namespace, c1.address)

    shim, = docker_host.play({'underlay.network.macvlan_link': SHIM})
    assert shim.changed and not shim.failed, shim
    assert reaches(docker_host.namespace, c1.address) and reaches(docker_host.namespace, c2.address)
    assert container_reaches(c1, HOST_ADDRESS)


def test_aux_address_inside_the_range_is_never_handed_out(docker_host):
    # The engine reserves aux addresses wherever they lie in the subnet: the module accepts the seed's
    # aux address inside ip_range, and this is the proof. .128/30 is .128 to .131, .129 is the host's.
    pool = dict(POOL, ip_range='172.28.60.128/30', aux_addresses={'host': '172.28.60.129'})
    result, = docker_host.play(docker_host.network_task(network(ipam_config=[pool])))
    assert result.changed and not result.failed, result
    given = [run_container(docker_host, 'c%d' % i, 'dm').address for i in range(3)]
    assert sorted(given) == ['172.28.60.128', '172.28.60.130', '172.28.60.131']
    with pytest.raises(docker.errors.APIError, match='no available IPv4 addresses'):
        run_container(docker_host, 'c3', 'dm')
    with pytest.raises(docker.errors.APIError, match='Address already in use'):
        run_container(docker_host, 'static', 'dm', ipv4_address='172.28.60.129')


def test_drift_follows_the_recreate_policy_and_protects_attached_containers(docker_host):
    moved = [dict(POOL, ip_range='172.28.60.192/27')]
    created, = docker_host.play(docker_host.network_task(network()))
    assert created.changed, created
    c1 = run_container(docker_host, 'c1', 'dm')
    before = network_snapshot(docker_host)

    never, unused, checked = docker_host.play(
        docker_host.network_task(network(ipam_config=moved, recreate='never')),
        docker_host.network_task(network(ipam_config=moved)),  # default: when_unused
        dict(docker_host.network_task(network(ipam_config=moved, recreate='always')), check_mode=True),
    )
    assert never.failed and 'ip_range is 172.28.60.128/27, wanted 172.28.60.192/27' in never['msg'], never
    assert 'recreate is never' in never['msg']
    assert unused.failed and 'containers are attached: c1' in unused['msg'], unused
    assert checked.changed and not checked.failed, checked
    assert checked['containers'] == [{'name': 'c1', 'running': True, 'ipv4_address': c1.address,
                                      'ipv6_address': None}]
    assert network_snapshot(docker_host) == before  # refused and check mode: the engine untouched

    always, again = docker_host.play(docker_host.network_task(network(ipam_config=moved, recreate='always')),
                                     docker_host.network_task(network(ipam_config=moved, recreate='always')))
    assert always.changed and not always.failed, always
    assert always['actions'] == ['disconnect c1 from dm', 'remove network dm', 'create network dm',
                                 'connect c1 to dm']
    assert always['containers'] == checked['containers']
    assert always['network']['pools'][0]['ip_range'] == '172.28.60.192/27'
    assert not again.changed, again
    # c1 is back on the new network with its old address (outside the new range: static), and works.
    assert c1.reload_address() == c1.address
    assert docker_host.client.api.inspect_network('dm')['Id'] != before['dm']['Id']
    c2 = run_container(docker_host, 'c2', 'dm')
    assert c2.address.startswith('172.28.60.19') or c2.address.startswith('172.28.60.2')
    assert container_reaches(c2, c1.address)


def test_unused_network_is_recreated_on_drift(docker_host):
    created, changed = docker_host.play(docker_host.network_task(network(labels={'team': 'net'})),
                                        docker_host.network_task(network(macvlan_mode='private')))
    assert created.changed and changed.changed and not changed.failed, changed
    engine_view = docker_host.client.api.inspect_network('dm')
    assert engine_view['Options'] == {'parent': 'trunk', 'macvlan_mode': 'private'}
    assert engine_view['Labels'] == {'team': 'net'}  # labels not given: kept


def test_check_mode_and_diff_leave_the_engine_untouched(docker_host):
    before = network_snapshot(docker_host)
    run = docker_host.ansible.play([docker_host.network_task(network())], hosts=docker_host.inventory,
                                   check=True, diff=True)
    result = run.last
    assert result.changed and not result.failed, result
    assert result['diff']['before'] == {}
    assert result['diff']['after']['pools'] == [POOL]
    assert network_snapshot(docker_host) == before
    assert '+            "ip_range": "172.28.60.128/27"' in run.stdout  # the diff is shown


@pytest.mark.parametrize('overrides, message', [
    (dict(ipam_config=[dict(POOL, gateway='172.28.61.1')]), 'gateway 172.28.61.1 is outside the subnet'),
    (dict(ipam_config=[dict(POOL, ip_range='172.28.61.0/27')]), 'ip_range 172.28.61.0/27 is not inside'),
    (dict(ipam_config=[dict(POOL, aux_addresses={'host': '172.28.61.2'})]),
     'aux_addresses.host 172.28.61.2 is outside the subnet'),
    (dict(ipam_config=[POOL, {'subnet': '172.28.60.128/25'}]), 'overlap'),
    (dict(parent='nosuch0'), "parent 'nosuch0' does not exist"),
    (dict(parent=None, trunk='nosuch0', vlan_id=10), "trunk 'nosuch0' does not exist"),
    (dict(parent=None, trunk='trunk', vlan_id=4095), 'vlan_id 4095 is out of range'),
    (dict(ipvlan_mode='l3'), 'ipvlan_mode is an option of the ipvlan driver'),
])
def test_bad_input_is_refused_before_any_change(docker_host, overrides, message):
    before = network_snapshot(docker_host)
    links = docker_host.links()
    result, = docker_host.play(docker_host.network_task(network(**overrides)))
    assert result.failed and message in result['msg'], result
    assert network_snapshot(docker_host) == before and docker_host.links() == links


def test_subnet_of_another_network_on_the_engine_is_named(docker_host):
    docker_host.client.networks.create('apps', driver='bridge', options={'com.docker.network.bridge.name': 'br-apps'},
                                       ipam={'Driver': 'default', 'Config': [{'Subnet': '172.28.0.0/16'}]})
    result, = docker_host.play(docker_host.network_task(network()))
    assert result.failed, result
    assert "subnet 172.28.60.0/24 overlaps subnet 172.28.0.0/16 of the Docker network 'apps'" in result['msg']
    assert [n.name for n in docker_host.client.networks.list(names=['dm'])] == []


def test_engine_down_is_a_clear_error_and_changes_nothing(docker_host):
    links = docker_host.links()
    result, = docker_host.play(docker_host.network_task(network(), docker_host='unix:///nonexistent/docker.sock'))
    assert result.failed, result
    assert 'cannot reach the Docker engine at unix:///nonexistent/docker.sock' in result['msg']
    assert 'Nothing was changed' in result['msg'] and docker_host.links() == links


def test_removal_protects_attached_containers_unless_forced(docker_host):
    docker_host.play(docker_host.network_task(network()))
    c1 = run_container(docker_host, 'c1', 'dm')
    refused, forced, again = docker_host.play(
        docker_host.network_task(dict(name='dm', state='absent')),
        docker_host.network_task(dict(name='dm', state='absent', force=True)),
        docker_host.network_task(dict(name='dm', state='absent')),
    )
    assert refused.failed and "network 'dm' has containers attached: c1" in refused['msg'], refused
    assert forced.changed and not forced.failed, forced
    assert forced['actions'] == ['disconnect c1 from dm', 'remove network dm']
    assert forced['containers'][0]['ipv4_address'] == c1.address
    assert not again.changed and not again.failed, again
    assert docker_host.client.networks.list(names=['dm']) == []
    assert read_link(docker_host.namespace, 'trunk') is not None  # a parent given as parent is never touched
