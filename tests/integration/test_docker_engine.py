"""The Docker tier's engine itself on the host kernel: no Ansible, no collection code.

dockerd in its lab namespace (dev/underlay_dev/lab/dockerd.py, dev/underlay_dev/testing/docker_tier.py) with a
macvlan network on the docker host's ``trunk``: when this fails, a
docker_vlan_network failure is about the engine or the lab, not the module.
"""

from __future__ import annotations

import docker
import pytest
from underlay_dev.testing.docker_tier import container_reaches, run_container
from underlay_dev.testing.harness import reaches

pytestmark = pytest.mark.docker


def test_macvlan_containers_reach_each_other_and_the_wire_but_not_their_host(docker_host):
    ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet='172.28.60.0/24')])
    docker_host.client.networks.create('mv60', driver='macvlan', options={'parent': 'trunk'}, ipam=ipam)
    c1 = run_container(docker_host, 'c1', 'mv60', ipv4_address='172.28.60.11')
    c2 = run_container(docker_host, 'c2', 'mv60', ipv4_address='172.28.60.12')
    assert (c1.address, c2.address) == ('172.28.60.11', '172.28.60.12')
    peer = docker_host.add_peer('peer', address='172.28.60.20/24')
    docker_host.add_address('trunk', '172.28.60.1/24')

    assert container_reaches(c1, c2.address)
    assert reaches(peer, c1.address)  # the containers are on the wire
    assert reaches(docker_host.namespace, '172.28.60.20')  # and so is the docker host's trunk,
    assert not reaches(docker_host.namespace, c1.address)  # but macvlan keeps a parent from its own children
