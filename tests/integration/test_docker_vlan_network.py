"""docker_vlan_network against a real dockerd in a lab namespace (host kernel: macvlan on a veth trunk).

The engine runs in the docker host namespace (fixture ``docker_host``), the
module runs there too, through the netns connection, and talks to the engine's
own socket. Every result is read back from the engine (Docker SDK) and from
the kernel; reachability is real pings between containers and namespaces.
VLAN parents and ipvlan need the full kernel: tests/kernel/test_docker_vlan_network.py.
"""

from __future__ import annotations

import re
import socket
import threading

import docker
import pytest
from underlay_dev.testing.docker_tier import container_reaches, network_snapshot, run_container
from underlay_dev.testing.harness import reaches, read_link

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


# -- failures halfway through a re-creation (issue 13, item 8) -------------------------------------------
MOVED = [dict(POOL, ip_range='172.28.60.192/27')]


@pytest.mark.parametrize('field', ['aux_addresses', 'gateway'])
def test_a_static_address_taken_by_the_new_pools_is_refused_before_any_change(docker_host, field):
    # c1's address becomes the new pool's aux address (or gateway): it could not be reconnected with it.
    created, = docker_host.play(docker_host.network_task(network()))
    assert created.changed, created
    c1 = run_container(docker_host, 'c1', 'dm', ipv4_address='172.28.60.140')
    pool = dict(MOVED[0], **({'aux_addresses': {'host': c1.address}} if field == 'aux_addresses'
                             else {'gateway': c1.address}))
    before = network_snapshot(docker_host)
    result, = docker_host.play(docker_host.network_task(network(ipam_config=[pool], recreate='always')))
    assert c1.reload_address() == '172.28.60.140', 'c1 was left detached'
    assert result.failed and not result.changed, result
    named = 'c1 (172.28.60.140, the new %s)' % ('aux address host' if field == 'aux_addresses' else 'gateway')
    assert named in result['msg'] and 'Nothing was changed' in result['msg'], result['msg']
    assert network_snapshot(docker_host) == before


class StallingProxy:
    """A Unix socket in front of the engine's that relays every request but one: the first request whose
    request line matches ``pattern`` is held, so that the module's client times out exactly there, as with
    an engine that hangs. ``drop``: never sent to the engine; ``mute``: done by the engine, its answer
    never relayed (the engine did it, the module cannot know)."""

    def __init__(self, engine_socket, path, pattern, mode):
        self.engine_socket, self.path, self.pattern, self.mode = str(engine_socket), str(path), pattern, mode
        self.held = None  # the request line held
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(self.path)
        self.server.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self):
        return 'unix://' + self.path

    def _accept(self):
        while True:
            try:
                client = self.server.accept()[0]
            except OSError:
                return  # closed
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client):
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        upstream.connect(self.engine_socket)
        muted = threading.Event()
        threading.Thread(target=self._answers, args=(upstream, client, muted), daemon=True).start()
        with client, upstream:
            for request, line in self._requests(client):
                if self.held is None and re.search(self.pattern, line):
                    self.held = line
                    if self.mode == 'drop':
                        break  # nothing more on this connection: the client waits, times out, goes
                    muted.set()
                upstream.sendall(request)
            while client.recv(65536):  # hold the connection until the client gives up
                pass

    @staticmethod
    def _requests(client):
        """Each whole HTTP request the client sends (the SDK sends bodies with a Content-Length)."""
        buffer = b''
        while True:
            data = client.recv(65536)
            if not data:
                return
            buffer += data
            while b'\r\n\r\n' in buffer:
                head = buffer[:buffer.index(b'\r\n\r\n')].decode('latin-1')
                length = re.search(r'(?im)^content-length:\s*(\d+)', head)
                end = len(head) + 4 + (int(length.group(1)) if length else 0)
                if len(buffer) < end:
                    break
                yield buffer[:end], head.split('\r\n', 1)[0]
                buffer = buffer[end:]

    @staticmethod
    def _answers(upstream, client, muted):
        try:
            while True:
                data = upstream.recv(65536)
                if not data:
                    return
                if not muted.is_set():
                    client.sendall(data)
        except OSError:
            return  # the other side went

    def close(self):
        self.server.close()


@pytest.mark.parametrize('step, pattern, mode', [
    ('disconnect', r'^POST \S*/networks/\S+/disconnect', 'drop'),
    ('remove', r'^DELETE \S*/networks/', 'drop'),
    ('create', r'^POST \S*/networks/create', 'mute'),  # the engine makes it; the module never hears
    ('connect', r'^POST \S*/networks/\S+/connect', 'drop'),
])
def test_an_engine_that_stops_answering_midway_gets_the_network_and_its_containers_back(
        docker_host, tmp_path, step, pattern, mode):
    created, = docker_host.play(docker_host.network_task(network()))
    assert created.changed, created
    c1 = run_container(docker_host, 'c1', 'dm')
    pools = docker_host.client.api.inspect_network('dm')['IPAM']['Config']
    proxy = StallingProxy(docker_host.engine.socket, tmp_path / 'stalling.sock', pattern, mode)
    try:
        result, = docker_host.play(docker_host.network_task(network(ipam_config=MOVED, recreate='always'),
                                                            docker_host=proxy.url, timeout=4))
    finally:
        proxy.close()
    assert proxy.held, 'no %s request was made' % step
    assert result.failed, result
    assert 'Read timed out' in result['msg'], result['msg']
    assert 'put back as they were' in result['msg'], result['msg']
    assert docker_host.client.api.inspect_network('dm')['IPAM']['Config'] == pools
    assert c1.reload_address() == c1.address, 'c1 was left detached'
    assert [n.name for n in docker_host.client.networks.list(names=['dm'])] == ['dm']


def test_a_forced_removal_that_fails_reconnects_the_containers(docker_host, tmp_path):
    docker_host.play(docker_host.network_task(network()))
    c1 = run_container(docker_host, 'c1', 'dm')
    proxy = StallingProxy(docker_host.engine.socket, tmp_path / 'stalling.sock', r'^DELETE \S*/networks/', 'drop')
    try:
        result, = docker_host.play(docker_host.network_task(dict(name='dm', state='absent', force=True),
                                                            docker_host=proxy.url, timeout=4))
    finally:
        proxy.close()
    assert c1.reload_address() == c1.address, 'c1 was left detached from a network that is still there'
    assert result.failed and 'remove network dm failed' in result['msg'], result
    assert 'the network and its containers were put back as they were' in result['msg'], result['msg']
