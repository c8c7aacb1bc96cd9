"""The docker_underlay role against a real dockerd in a lab namespace (the Docker tier's engine).

One host plan from the fleet plan, applied by the role; the engine's networks
are read back with the Docker SDK. This kernel has no VLANs, so the segments
are untagged, on the docker host's trunk: one at a time (Docker allows one
macvlan network per parent), which is what moving from one plan to another
exercises.
"""

from __future__ import annotations

import pytest
import yaml
from underlay_dev.testing.docker_tier import network_snapshot, run_container

pytestmark = pytest.mark.docker

LAN = {'name': 'lan', 'subnet': '172.28.60.0/24', 'gateway': '172.28.60.1', 'container_pool': '172.28.60.128/25'}
LAN2 = {'name': 'lan2', 'subnet': '172.28.61.0/24', 'gateway': '172.28.61.1', 'container_pool': '172.28.61.128/25'}


def role_play(docker_host, segment):
    fleet = {'trunk': 'trunk', 'segments': [segment]}
    return [{'name': 'docker_underlay', 'hosts': 'all', 'gather_facts': False,
             'vars': {'underlay_host_plan': "{{ (fleet | underlay.network.fleet_plan([inventory_hostname])).values()"
                                            ' | first }}',
                      'fleet': fleet, 'underlay_docker_host': docker_host.engine.url},
             'roles': ['underlay.network.docker_underlay']}]


def apply(docker_host, segment):
    return docker_host.ansible.playbook(yaml.safe_dump(role_play(docker_host, segment), sort_keys=False),
                                        {'all': {'hosts': docker_host.inventory}})


def test_the_role_makes_the_planned_network_and_replaces_it_when_the_segment_changes(docker_host):
    first = apply(docker_host, LAN)
    assert first.status == 'successful', first.stdout
    lan = docker_host.client.api.inspect_network('lan')
    assert lan['Labels'] == {'underlay.network.segment': 'lan'} and lan['Options']['parent'] == 'trunk'
    assert lan['IPAM']['Config'] == [{'Subnet': '172.28.60.0/24', 'Gateway': '172.28.60.1',
                                      'IPRange': '172.28.60.128/28', 'AuxiliaryAddresses': {'shim': '172.28.60.127'}}]
    again = apply(docker_host, LAN)
    assert again.status == 'successful' and again.runner.stats['changed'] == {}, again.stdout

    # A network the role did not make (no label) is never removed.
    docker_host.client.networks.create('hand-made', driver='bridge', ipam={
        'Driver': 'default', 'Config': [{'Subnet': '10.99.0.0/24'}]}, options={
        'com.docker.network.bridge.name': 'br-hand'})
    # The plan now has lan2 on the same parent: lan goes first, or Docker would refuse lan2.
    moved = apply(docker_host, LAN2)
    assert moved.status == 'successful', moved.stdout
    assert sorted(n['Name'] for n in docker_host.client.api.networks(filters={'label': 'underlay.network.segment'})) \
        == ['lan2']
    assert docker_host.client.networks.list(names=['hand-made'])

    run_container(docker_host, 'c1', 'lan2')
    before = network_snapshot(docker_host)
    refused = apply(docker_host, LAN)
    assert refused.status == 'failed', refused.stdout
    assert "network 'lan2' has containers attached: c1" in refused.stdout
    assert network_snapshot(docker_host) == before
