"""docker_vlan_network on VLAN parents and with the ipvlan driver: a real dockerd inside the kernel box.

The seed's multi-VLAN Docker scenario: one macvlan network per VLAN of the
trunk (Docker allows one per parent), containers on a VLAN reach each other
and a lab host on that VLAN, not the other VLAN, and a macvlan shim per VLAN
gives the docker host reach into each. The VLAN sub-interfaces are the
module's own (vlan_iface's code, marked), so they survive ``docker network rm``.
Each play costs seconds in the box: tasks are batched.
"""

from __future__ import annotations

import pytest
from pyroute2 import IPRoute
from underlay_dev.testing.docker_tier import container_reaches, network_snapshot, run_container
from underlay_dev.testing.harness import reaches, read_link

pytestmark = pytest.mark.docker

VLANS = {10: '172.28.244', 20: '172.28.248'}
VLAN_MARKER = 'underlay.network/docker_vlan_network'


def vlan_network(vlan, **overrides):
    prefix = VLANS[vlan]
    return dict(dict(name='vlan%d' % vlan, trunk='trunk', vlan_id=vlan,
                     ipam_config=[{'subnet': prefix + '.0/24', 'gateway': prefix + '.1',
                                   'ip_range': prefix + '.128/26', 'aux_addresses': {'host': prefix + '.254'}}]),
                **overrides)


def shim(vlan):
    prefix = VLANS[vlan]
    return {'underlay.network.macvlan_link': dict(name='shim%d' % vlan, parent='trunk.%d' % vlan, mode='bridge',
                                                  addresses=[prefix + '.254/32'],
                                                  routes=[{'dest': prefix + '.128/26'}])}


def test_one_network_per_vlan_isolated_by_the_tag_with_a_shim_per_vlan(docker_host):
    # A lab host on the same switch with a VLAN 10 interface of its own: the containers' peer on the wire.
    peer = docker_host.add_peer('peer', vlan=10, address=VLANS[10] + '.20/24')
    ten, twenty, again10, again20 = docker_host.play(
        docker_host.network_task(vlan_network(10)), docker_host.network_task(vlan_network(20)),
        docker_host.network_task(vlan_network(10)), docker_host.network_task(vlan_network(20)))
    for result in (ten, twenty):
        assert result.changed and not result.failed, result
        assert result['vlan']['managed_by'] == VLAN_MARKER, result
    assert ten['actions'][0] == "create vlan trunk.10 in the task's network namespace"
    assert ten['actions'][-1] == 'create network vlan10'
    assert not again10.changed and not again20.changed, (again10, again20)
    for vlan in VLANS:
        link = read_link(docker_host.namespace, 'trunk.%d' % vlan)
        assert link['kind'] == 'vlan' and link['data']['IFLA_VLAN_ID'] == vlan and link['alias'] == VLAN_MARKER

    a10, b10 = run_container(docker_host, 'a10', 'vlan10'), run_container(docker_host, 'b10', 'vlan10')
    a20 = run_container(docker_host, 'a20', 'vlan20')
    assert container_reaches(a10, b10.address) and container_reaches(a10, VLANS[10] + '.20')
    assert not container_reaches(a20, VLANS[10] + '.20') and not container_reaches(a20, a10.address)
    assert reaches(peer, a10.address) and not reaches(peer, a20.address)
    assert not reaches(docker_host.namespace, a10.address)  # no shim yet

    shims = docker_host.play(shim(10), shim(20))
    assert all(r.changed and not r.failed for r in shims), shims
    assert reaches(docker_host.namespace, a10.address) and reaches(docker_host.namespace, a20.address)
    assert container_reaches(a10, VLANS[10] + '.254') and container_reaches(a20, VLANS[20] + '.254')


def test_vlan_survives_docker_network_rm_and_goes_only_when_asked(docker_host):
    # trunk.30 exists before (made by someone else): never removed. trunk.10 and 20 are the module's.
    docker_host.add_vlan('trunk', 30)
    made = docker_host.play(docker_host.network_task(vlan_network(10)), docker_host.network_task(vlan_network(20)),
                            docker_host.network_task(dict(name='vlan30', trunk='trunk', vlan_id=30,
                                                          ipam_config=[{'subnet': '172.28.230.0/24'}])))
    assert all(r.changed and not r.failed for r in made), made
    assert made[2]['vlan']['managed_by'] is None and made[2]['actions'] == ['create network vlan30']

    docker_host.client.networks.get('vlan10').remove()  # docker network rm: Docker did not make trunk.10
    assert read_link(docker_host.namespace, 'trunk.10')['alias'] == VLAN_MARKER

    kept, removed, foreign = docker_host.play(
        docker_host.network_task(dict(name='vlan20', trunk='trunk', vlan_id=20, state='absent')),
        docker_host.network_task(dict(name='vlan10', trunk='trunk', vlan_id=10, state='absent', remove_vlan=True)),
        docker_host.network_task(dict(name='vlan30', trunk='trunk', vlan_id=30, state='absent', remove_vlan=True)))
    assert kept.changed and kept['actions'] == ['remove network vlan20'], kept
    assert read_link(docker_host.namespace, 'trunk.20') is not None
    assert removed.changed and removed['actions'] == ["delete vlan trunk.10 in the task's network namespace"]
    assert read_link(docker_host.namespace, 'trunk.10') is None
    assert foreign.changed and foreign['actions'] == ['remove network vlan30'], foreign
    assert 'trunk.30 was not created by docker_vlan_network' in ' '.join(foreign.get('warnings', []))
    assert read_link(docker_host.namespace, 'trunk.30') is not None


def test_ipvlan_l2_network_with_an_ipvlan_shim(docker_host):
    pool = {'subnet': '172.28.240.0/20', 'gateway': '172.28.240.1', 'ip_range': '172.28.244.0/22',
            'aux_addresses': {'host': '172.28.244.254'}}
    created, = docker_host.play(docker_host.network_task(dict(name='ipvlan_l2', driver='ipvlan', ipvlan_mode='l2',
                                                              parent='trunk', ipam_config=[pool])))
    assert created.changed and not created.failed, created
    assert created['network']['options'] == {'parent': 'trunk', 'ipvlan_mode': 'l2', 'ipvlan_flag': 'bridge'}
    c1, c2 = run_container(docker_host, 'c1', 'ipvlan_l2'), run_container(docker_host, 'c2', 'ipvlan_l2')
    assert container_reaches(c1, c2.address)
    assert not reaches(docker_host.namespace, c1.address)
    shim_result, = docker_host.play({'underlay.network.ipvlan_link': dict(
        name='ipvl-shim', parent='trunk', mode='l2', addresses=['172.28.244.254/32'],
        routes=[{'dest': '172.28.244.0/22'}])})
    assert shim_result.changed and not shim_result.failed, shim_result
    assert reaches(docker_host.namespace, c1.address) and container_reaches(c2, '172.28.244.254')


def test_engine_down_creates_no_vlan(docker_host):
    before = network_snapshot(docker_host)
    result, = docker_host.play(docker_host.network_task(vlan_network(10),
                                                        docker_host='unix:///nonexistent/docker.sock'))
    assert result.failed and 'cannot reach the Docker engine' in result['msg'], result
    assert read_link(docker_host.namespace, 'trunk.10') is None and network_snapshot(docker_host) == before


def test_a_network_the_engine_refuses_leaves_no_vlan_behind(docker_host):
    # A /32 pool passes every check, and the engine finds no address in it for the gateway: refused after
    # the VLAN was made for it. The failed call must leave the kernel as it found it.
    before = network_snapshot(docker_host)
    result, = docker_host.play(docker_host.network_task(vlan_network(10, ipam_config=[{'subnet': '172.28.244.5/32'}])))
    assert read_link(docker_host.namespace, 'trunk.10') is None, 'the VLAN made for the refused network stayed'
    assert result.failed and 'create network vlan10 failed' in result['msg'], result
    assert 'the VLAN trunk.10 made for it was deleted again' in result['msg'], result['msg']
    assert network_snapshot(docker_host) == before


def test_remove_vlan_refuses_while_the_vlan_carries_a_shim_or_a_namespace_macvlan(docker_host):
    made = docker_host.play(docker_host.network_task(vlan_network(10)), shim(10))
    assert all(r.changed and not r.failed for r in made), made
    a10 = run_container(docker_host, 'a10', 'vlan10')  # its macvlan is on trunk.10 too, and goes with the network
    side = docker_host.lab.add_namespace('side')
    with IPRoute(netns=docker_host.namespace, flags=0) as ipr:
        ipr.link('add', ifname='side0', kind='macvlan', macvlan_mode='bridge',
                 link=ipr.link_lookup(ifname='trunk.10')[0])
        ipr.link('set', index=ipr.link_lookup(ifname='side0')[0], net_ns_fd=side)
    before = network_snapshot(docker_host)
    absent = dict(name='vlan10', trunk='trunk', vlan_id=10, state='absent', force=True, remove_vlan=True)
    refused, = docker_host.play(docker_host.network_task(absent))
    assert read_link(docker_host.namespace, 'trunk.10') is not None, 'the VLAN was deleted with what it carries'
    assert refused.failed, refused
    assert refused['carried'] == ["shim10 (macvlan in the task's network namespace)",
                                  "side0 (macvlan in netns '%s')" % side], refused
    assert network_snapshot(docker_host) == before and a10.reload_address() == a10.address

    with IPRoute(netns=side, flags=0) as ipr:
        ipr.link('del', index=ipr.link_lookup(ifname='side0')[0])
    gone, removed = docker_host.play({'underlay.network.macvlan_link': dict(name='shim10', state='absent')},
                                     docker_host.network_task(absent))
    assert gone.changed and removed.changed and not removed.failed, removed
    assert removed['actions'] == ['disconnect a10 from vlan10', 'remove network vlan10',
                                  "delete vlan trunk.10 in the task's network namespace"]
    assert read_link(docker_host.namespace, 'trunk.10') is None
