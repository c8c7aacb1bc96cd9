"""The seed's multi-VLAN Docker macvlan lab, built with vlan_iface and macvlan_link through Ansible (kernel box).

Two lab hosts, h1 (172.28.252.45/20, the seed's host) and h2, hang off the lab
switch (a Linux bridge, which passes tagged frames untouched). Each gets
eth0.10 and eth0.20, and on each VLAN sub-interface a macvlan bridge
"container", as the seed's ``docker network create -d macvlan -o
parent=eth0.10`` makes them: ubuntu1 and ubuntu3 on h1, ubuntu2 and ubuntu4 on
h2, with the seed's addresses (VLAN 10: 172.28.244.0/24, VLAN 20:
172.28.248.0/24). h1 then gets the seed's per-VLAN host shims.

Isolation is proven to be the tag, not routing: ubuntu4 (VLAN 20, on h2) also
gets an address in VLAN 10's subnet, 172.28.244.4/24, so its kernel sends to
172.28.244.2 straight out of its link, exactly as ubuntu2 does on the same h2
and the same trunk. The only difference between the two is the tag under
them; ubuntu2 gets an answer, ubuntu4's ARP never does.

Three Ansible runs in all (~10 s each in the box): setup, shims, setup again.
"""

from __future__ import annotations

import socket

import pytest
from pyroute2 import IPRoute
from underlay_dev.testing.harness import reaches

VLAN, MACVLAN = 'underlay.network.vlan_iface', 'underlay.network.macvlan_link'
H1_ADDRESS = '172.28.252.45'
NUD_VALID = 0x02 | 0x04 | 0x08 | 0x10 | 0x40 | 0x80  # reachable, stale, delay, probe, noarp, permanent
# Container: (lab host, VLAN, addresses); the first address is the container's own.
CONTAINERS = {
    'ubuntu1': ('h1', 10, ['172.28.244.2/24']),
    'ubuntu3': ('h1', 20, ['172.28.248.2/24']),
    'ubuntu2': ('h2', 10, ['172.28.244.3/24']),
    'ubuntu4': ('h2', 20, ['172.28.248.3/24', '172.28.244.4/24']),
}
# Docker names a container's link eth0, as the lab host's own uplink is named.
CONTAINER_IFNAME = 'eth0'
# Linux 6.1 refuses to create a link straight into another namespace when its name exists in the
# task's namespace too (here the lab host's own eth0); the modules then create, move and rename.
# The seed's per-VLAN host shims: name, /32 address, route to that VLAN's containers.
SHIMS = {
    10: ('macvlan1-shim', '172.28.244.254/32', '172.28.244.0/24'),
    20: ('macvlan2-shim', '172.28.248.254/32', '172.28.248.0/24'),
}


def ip_of(container):
    return CONTAINERS[container][2][0].split('/')[0]


def neighbour_resolved(ns, ifname, address):
    with IPRoute(netns=ns, flags=0) as ipr:
        index = ipr.link_lookup(ifname=ifname)[0]
        return any(entry['state'] & NUD_VALID for entry in ipr.get_neighbours(family=socket.AF_INET)
                   if entry['ifindex'] == index and entry.get_attr('NDA_DST') == address)


def route_to(ns, address):
    """(output link name, gateway) the kernel picks for ``address`` in ``ns``."""
    with IPRoute(netns=ns, flags=0) as ipr:
        route = ipr.route('get', dst=address)[0]
        return ipr.get_links(route.get_attr('RTA_OIF'))[0].get_attr('IFLA_IFNAME'), route.get_attr('RTA_GATEWAY')


def unexpected(results, expected):
    """The results (by task and host) that are not as ``expected``, with their messages."""
    return {key: result.get('msg', result) for key, result in results.items() if not expected(result)}


@pytest.fixture
def vlan_lab(lab):
    """The switch, h1 and h2, the container namespaces; returns (hosts, containers) as namespace names."""
    lab.up_switch()
    hosts = {'h1': lab.add_host('h1', address=H1_ADDRESS + '/20'),
             'h2': lab.add_host('h2', address='172.28.252.46/20')}
    containers = {name: lab.add_namespace(name) for name in CONTAINERS}
    return hosts, containers


@pytest.fixture
def play(ansible, vlan_lab):
    """Run tasks on both lab hosts; returns {(task name, host): result}."""
    hosts, containers = vlan_lab
    inventory = {}
    for host, ns in hosts.items():
        host_vars = {'ansible_connection': 'underlay.network.netns', 'lab_host': host}
        for name, (on, vlan_id, addresses) in CONTAINERS.items():
            if on == host:
                host_vars['vlan%d_container' % vlan_id] = containers[name]
                host_vars['vlan%d_addresses' % vlan_id] = addresses
                host_vars['vlan%d_gateway' % vlan_id] = SHIMS[vlan_id][1].split('/', maxsplit=1)[0]
        inventory[ns] = host_vars
    by_ns = {ns: host for host, ns in hosts.items()}

    def play(tasks):
        run = ansible.play([dict(task, ignore_errors=True) for task in tasks], hosts=inventory)
        assert len(run.results) == len(tasks) * len(hosts), run.stdout
        return {(result['_task'], by_ns[result['_host']]): result for result in run.results}
    return play


def container_leg(vlan_id, routes=None):
    args = dict(name=CONTAINER_IFNAME, parent='eth0.%d' % vlan_id, netns='{{ vlan%d_container }}' % vlan_id,
                mode='bridge', addresses='{{ vlan%d_addresses }}' % vlan_id)
    if routes:
        args['routes'] = routes
    return args


SETUP = [
    {'name': 'eth0.10', VLAN: dict(parent='eth0', vlan_id=10)},
    {'name': 'eth0.20', VLAN: dict(parent='eth0', vlan_id=20)},
    {'name': 'container on eth0.10', MACVLAN: container_leg(10)},
    {'name': 'container on eth0.20', MACVLAN: container_leg(20)},
]
# The seed's host shims (h1 only), and a default route in every container through its VLAN's shim
# (the address the seed reserves for the host with --aux-address 'host=...').
SHIM_TASKS = [
    {'name': SHIMS[vlan_id][0], 'when': "lab_host == 'h1'",
     MACVLAN: dict(name=SHIMS[vlan_id][0], parent='eth0.%d' % vlan_id, mode='bridge',
                   addresses=[SHIMS[vlan_id][1]], routes=[{'dest': SHIMS[vlan_id][2]}])}
    for vlan_id in (10, 20)
] + [
    {'name': 'default route on eth0.%d' % vlan_id,
     MACVLAN: container_leg(vlan_id, routes=[{'dest': 'default', 'gateway': '{{ vlan%d_gateway }}' % vlan_id}])}
    for vlan_id in (10, 20)
]


def test_vlans_separate_containers_and_shims_reach_them(play, vlan_lab):
    hosts, ns = vlan_lab

    created = play(SETUP)
    assert not unexpected(created, lambda r: r.changed and not r.failed)
    assert created['eth0.10', 'h1']['link']['vlan_id'] == 10
    assert created['container on eth0.20', 'h2']['link']['netns'] == ns['ubuntu4']
    assert created['container on eth0.20', 'h2']['link']['parent'] == 'eth0.20'
    assert created['container on eth0.20', 'h2']['link']['addresses'] == ['172.28.244.4/24', '172.28.248.3/24']

    # Same VLAN: the containers reach each other across the two hosts, through the switch.
    assert reaches(ns['ubuntu1'], ip_of('ubuntu2')) and reaches(ns['ubuntu2'], ip_of('ubuntu1'))
    assert reaches(ns['ubuntu3'], ip_of('ubuntu4')) and reaches(ns['ubuntu4'], ip_of('ubuntu3'))
    # Different VLANs: ubuntu4 is in VLAN 10's subnet too and its kernel sends straight out of eth0,
    # as ubuntu2's does, yet its ARP is never answered: only the tag differs.
    for sender in ('ubuntu2', 'ubuntu4'):
        assert route_to(ns[sender], ip_of('ubuntu1')) == (CONTAINER_IFNAME, None), sender
    assert not reaches(ns['ubuntu4'], ip_of('ubuntu1')) and not reaches(ns['ubuntu4'], ip_of('ubuntu2'))
    assert not neighbour_resolved(ns['ubuntu4'], CONTAINER_IFNAME, ip_of('ubuntu1'))
    assert neighbour_resolved(ns['ubuntu2'], CONTAINER_IFNAME, ip_of('ubuntu1'))
    assert not reaches(ns['ubuntu1'], '172.28.244.4')
    # h1 has a route to every container (its 172.28.240.0/20 on eth0), but untagged: it reaches none.
    assert route_to(hosts['h1'], ip_of('ubuntu1')) == ('eth0', None)
    for container in CONTAINERS:
        assert not reaches(hosts['h1'], ip_of(container)), container

    shimmed = play(SHIM_TASKS)
    for (task, host), result in shimmed.items():
        assert not result.failed, result
        if task.endswith('-shim') and host == 'h2':
            assert result['_event'] == 'runner_on_skipped', result
        else:
            assert result.changed, result
    # Each VLAN's shim gives h1 reach into that VLAN, on h1 and across the switch on h2.
    for container in CONTAINERS:
        assert reaches(hosts['h1'], ip_of(container)), container
        assert reaches(ns[container], H1_ADDRESS), container  # and back to h1, through the shim as gateway
    assert route_to(hosts['h1'], ip_of('ubuntu4')) == ('macvlan2-shim', None)
    # The shims do not join the VLANs: h1 does not forward (the namespace default).
    assert not reaches(ns['ubuntu3'], ip_of('ubuntu1'))

    again = play(SETUP + SHIM_TASKS)
    assert not unexpected(again, lambda r: not r.changed and not r.failed)
