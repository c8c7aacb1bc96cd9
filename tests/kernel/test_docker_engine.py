"""The Docker tier's engine itself in the kernel box: no Ansible, no collection code.

dockerd in its lab namespace (dev/underlay_dev/lab/dockerd.py, dev/underlay_dev/testing/docker_tier.py) given a
parent that does not exist yet, ``trunk.30``: Docker makes the 802.1Q
sub-interface itself, for macvlan and ipvlan alike, and deletes it with the
network. When this fails, a docker_vlan_network failure in the box is about
the engine, the box or the lab, not the module.
"""

from __future__ import annotations

import docker
import pytest
from pyroute2 import IPRoute
from underlay_dev.testing.docker_tier import container_reaches, run_container
from underlay_dev.testing.harness import reaches, read_link

pytestmark = pytest.mark.docker


@pytest.mark.parametrize('driver, options', [('macvlan', {}), ('ipvlan', {'ipvlan_mode': 'l2'})])
def test_docker_makes_the_vlan_of_its_parent_and_containers_talk_over_it(docker_host, driver, options):
    ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet='172.28.30.0/24')])
    network = docker_host.client.networks.create('v30', driver=driver, options=dict(options, parent='trunk.30'),
                                                 ipam=ipam)
    link = read_link(docker_host.namespace, 'trunk.30')
    assert link and link['kind'] == 'vlan' and link['data']['IFLA_VLAN_ID'] == 30, link
    with IPRoute(netns=docker_host.namespace, flags=0) as ipr:
        assert link['link'] == ipr.link_lookup(ifname='trunk')[0]

    c1 = run_container(docker_host, 'c1', 'v30', ipv4_address='172.28.30.11')
    c2 = run_container(docker_host, 'c2', 'v30', ipv4_address='172.28.30.12')
    peer = docker_host.add_peer('peer', vlan=30, address='172.28.30.20/24')
    assert container_reaches(c1, c2.address)
    assert reaches(peer, c1.address)  # tagged 30 on the wire

    for container in (c1, c2):
        container.sdk.remove(force=True)
    network.remove()
    assert read_link(docker_host.namespace, 'trunk.30') is None  # Docker made it, Docker deletes it
