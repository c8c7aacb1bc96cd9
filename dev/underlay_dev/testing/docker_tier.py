"""Fixtures and helpers of the Docker tier (tests/integration and tests/kernel test_docker_*.py).

* ``docker_engine`` (session): a lab switch, one lab host -- the docker host, uplink ``trunk`` --
  and a real dockerd inside it (underlay_dev/lab/dockerd.py, the embedded lab's engine too) with the
  busybox test image; started once per session (seconds on the host kernel, much longer in the
  kernel box), stopped and removed at the end whatever happened.
* ``docker_host`` (each test): a ``DockerHost`` on that engine; afterwards every container and
  network is removed, every link the test added to the docker host is deleted, the trunk's
  addresses are flushed and the extra lab hosts are removed, so that tests stay independent.

Containers are started with the Docker SDK from the busybox test image
(underlay_dev/lab/dockerd.py); reachability from a container is a real, bounded ping run
inside it. ``network_snapshot`` is the engine's full view of its networks, for
proving that a refused or check-mode task changed nothing.
"""

from __future__ import annotations

import errno
import ipaddress
import time
from types import SimpleNamespace

import pytest
from pyroute2 import IPRoute, NetlinkError

from underlay_dev.lab.dockerd import IMAGE, IMAGE_STORE, DockerEngine
from underlay_dev.lab.topology import Lab
from underlay_dev.testing.harness import PREFIX_ROOT, in_kernel_box, netlink_dump

KEEP_LINKS = ('lo', 'trunk')

PING = ['ping', '-c', '1', '-W', '2']


class Container:
    """A running busybox container on one network, with the IPv4 address the engine gave it there."""

    def __init__(self, sdk_container, network):
        self.sdk = sdk_container
        self.name = sdk_container.name
        self.network = network
        self.address = self.reload_address()

    def reload_address(self):
        self.sdk.reload()
        endpoint = (self.sdk.attrs['NetworkSettings']['Networks'] or {}).get(self.network) or {}
        return endpoint.get('IPAddress') or None

    def run(self, *argv):
        result = self.sdk.exec_run(list(argv))
        return result.exit_code, result.output.decode(errors='replace')


def run_container(host, name, network, ipv4_address=None):
    """Start ``name`` on ``network`` (with a static address if given) and wait until it runs."""
    static = {}
    if ipv4_address:
        static['networking_config'] = {network: host.client.api.create_endpoint_config(ipv4_address=ipv4_address)}
    sdk = host.client.containers.run(IMAGE, ['sleep', '3600'], name=name, network=network, detach=True, **static)
    deadline = time.monotonic() + 60
    while sdk.status != 'running':
        if time.monotonic() > deadline:
            raise AssertionError('container %s did not start: %s' % (name, sdk.logs().decode(errors='replace')))
        time.sleep(0.1)
        sdk.reload()
    return Container(sdk, network)


def container_reaches(container, address):
    """One bounded ping from inside the container."""
    code, _output = container.run(*PING, address)
    return code == 0


def network_snapshot(host):
    """Every network of the engine as ``docker network inspect`` shows it, by name."""
    return {n['Name']: host.client.api.inspect_network(n['Id']) for n in host.client.api.networks()}


class DockerHost:
    """The docker host of a test: its namespace, its engine, and Ansible pointed at both.

    ``play(*tasks)`` runs tasks as one play in the namespace (errors ignored, so every task
    reports) and returns their results; ``network_task`` is a docker_vlan_network task aimed at
    this engine's socket.
    """

    def __init__(self, namespace, engine, lab, ansible):
        self.namespace = namespace
        self.engine = engine
        self.client = engine.client
        self.lab = lab
        self.ansible = ansible
        self.inventory = {namespace: {'ansible_connection': 'underlay.network.netns'}}

    def network_task(self, params, **overrides):
        args = dict({'docker_host': self.engine.url}, **params)
        args.update(overrides)
        return {'underlay.network.docker_vlan_network': {k: v for k, v in args.items() if v is not None}}

    def play(self, *tasks):
        run = self.ansible.play([dict(task, ignore_errors=True) for task in tasks], hosts=self.inventory)
        assert len(run.results) == len(tasks), run.stdout
        return run.results

    def links(self):
        return netlink_dump(self.namespace)

    def add_address(self, ifname, cidr):
        with IPRoute(netns=self.namespace, flags=0) as ipr:
            iface = ipaddress.ip_interface(cidr)
            ipr.addr('add', index=ipr.link_lookup(ifname=ifname)[0], address=str(iface.ip),
                     prefixlen=iface.network.prefixlen)

    def add_vlan(self, trunk, vlan_id, namespace=None):
        """A VLAN sub-interface made outside the collection (raw netlink), up; returns its name."""
        name = '%s.%d' % (trunk, vlan_id)
        with IPRoute(netns=namespace or self.namespace, flags=0) as ipr:
            ipr.link('add', ifname=name, kind='vlan', vlan_id=vlan_id, link=ipr.link_lookup(ifname=trunk)[0])
            ipr.link('set', index=ipr.link_lookup(ifname=name)[0], state='up')
        return name

    def add_peer(self, name, address, vlan=None):
        """Another lab host on the docker host's switch, addressed on its uplink or on one VLAN of it."""
        peer = self.lab.add_host(name)
        ifname = self.add_vlan('eth0', vlan, namespace=peer) if vlan else 'eth0'
        with IPRoute(netns=peer, flags=0) as ipr:
            iface = ipaddress.ip_interface(address)
            ipr.addr('add', index=ipr.link_lookup(ifname=ifname)[0], address=str(iface.ip),
                     prefixlen=iface.network.prefixlen)
        return peer


@pytest.fixture(scope='session')
def docker_engine(tmp_path_factory):
    with Lab(PREFIX_ROOT + 'dk-') as lab:
        lab.up_switch()
        namespace = lab.add_host('docker', uplink='trunk')
        # TMPDIR is the box's own tmpfs inside the kernel box: the engine's data stays off hostfs.
        box = in_kernel_box()
        engine = DockerEngine(namespace, tmp_path_factory.mktemp('dockerd'), kernel_box=box,
                              image_store=IMAGE_STORE if box else None)
        try:
            engine.start()
            if not box:  # the box's engine starts from the image store, which holds the image
                engine.build_image()
            yield SimpleNamespace(engine=engine, lab=lab, namespace=namespace)
        finally:
            engine.stop()


@pytest.fixture
def docker_host(docker_engine, ansible):
    lab, namespace = docker_engine.lab, docker_engine.namespace
    peers_before = set(lab.hosts)
    try:
        yield DockerHost(namespace, docker_engine.engine, lab, ansible)
    finally:
        docker_engine.engine.reset()
        for peer in set(lab.hosts) - peers_before:
            lab.remove_host(peer)
        with IPRoute(netns=namespace, flags=0) as ipr:
            for link in ipr.get_links():
                if link.get_attr('IFLA_IFNAME') in KEEP_LINKS:
                    continue
                try:
                    ipr.link('del', index=link['index'])
                except NetlinkError as exc:
                    if exc.code != errno.ENODEV:  # gone already, with the VLAN it was stacked on
                        raise
            trunk = ipr.link_lookup(ifname='trunk')[0]
            ipr.flush_addr(index=trunk)
            ipr.link('set', index=trunk, state='up')
