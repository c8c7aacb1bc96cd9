"""The seed blog's first lab, end to end, and what each macvlan mode really does.

A lab host (namespace, ``eth0`` = veth to a port of the lab switch, address
172.28.252.45/20 as in the blog) is an inventory host reached through the
collection's netns connection plugin; the collection's modules create the
"containers" (namespaces with a macvlan ``eth0`` on the host's uplink) and the
host shim. Reachability is checked with real, bounded pings
(``ping -c 1 -W 1``) between namespaces; nothing leaves the lab.

Every mode case builds a new lab and new links, so every ping starts from
fresh neighbour caches (after a mode change in place, cached neighbour entries
keep unicast flowing between ``private`` links and would hide the isolation).
"""

from __future__ import annotations

import json
import subprocess

import pytest
from pyroute2 import IPRoute
from underlay_dev.testing.harness import reaches, read_link

HOST_ADDRESS = '172.28.252.45'
NET1_ADDRESS = '172.28.248.10'
NET2_ADDRESS = '172.28.248.9'
SHIM = dict(name='mynet-shim', parent='eth0', mode='bridge',
            addresses=['172.28.248.254/32'], routes=[{'dest': '172.28.248.0/21'}])


def reachability(endpoints):
    """{(from, to): reached} for every ordered pair of ``endpoints`` ({label: (namespace, address)})."""
    return {(src, dst): reaches(endpoints[src][0], endpoints[dst][1])
            for src in endpoints for dst in endpoints if src != dst}


def switch_port(lab, host):
    """The lab switch's view of ``host``'s port: {'master': bridge or None, 'hairpin': bool}."""
    out = subprocess.run(['bridge', '-n', lab.switch, '-d', '-j', 'link', 'show', 'dev', host],
                         capture_output=True, text=True, check=True).stdout
    info = json.loads(out) if out.strip() else []
    if not info:
        return {'master': None, 'hairpin': False}
    return {'master': info[0].get('master'), 'hairpin': bool(info[0].get('hairpin'))}


def set_hairpin(lab, host, enabled):
    lab.set_hairpin(host, enabled)
    assert switch_port(lab, host)['hairpin'] is enabled, (
        'Lab.set_hairpin(%r, %r) did not change the switch port' % (host, enabled))


def detach_port(lab, host):
    """Take ``host``'s switch port out of the bridge (the veth stays up, with carrier): no switch at all."""
    with IPRoute(netns=lab.switch, flags=0) as sw:
        sw.link('set', index=sw.link_lookup(ifname=host)[0], master=0)
    assert switch_port(lab, host)['master'] is None


def uplink_index(host):
    with IPRoute(netns=host, flags=0) as ipr:
        return ipr.link_lookup(ifname='eth0')[0]


@pytest.fixture
def host(lab):
    lab.up_switch()
    return lab.add_host('host1', address=HOST_ADDRESS + '/20')


@pytest.fixture
def play(ansible, host):
    """Run tasks on the lab host, through the netns connection; fail on any failed task."""
    def play(tasks):
        run = ansible.play(tasks, hosts={host: {'ansible_connection': 'underlay.network.netns'}})
        assert run.results and run.status == 'successful', run.stdout
        assert not any(r.failed for r in run.results), run.stdout
        return run
    return play


def container_tasks(lab, mode):
    """The seed's net1/net2: namespaces, each with a macvlan eth0 on the lab host's eth0."""
    tasks = []
    for name in ('net1', 'net2'):
        tasks.append({'name': 'namespace ' + name, 'underlay.network.netns': {'name': lab.ns(name)}})
    for name, address in (('net1', NET1_ADDRESS), ('net2', NET2_ADDRESS)):
        tasks.append({'name': 'macvlan eth0 in ' + name, 'underlay.network.macvlan_link': {
            'name': 'eth0', 'parent': 'eth0', 'netns': lab.ns(name), 'mode': mode,
            'addresses': [address + '/20']}})
    return tasks


def test_seed_lab_containers_reach_each_other_and_the_host_only_through_the_shim(lab, host, play):
    endpoints = {'host': (host, HOST_ADDRESS), 'net1': (lab.ns('net1'), NET1_ADDRESS),
                 'net2': (lab.ns('net2'), NET2_ADDRESS)}
    containers = container_tasks(lab, 'bridge')

    first = play(containers)
    assert all(r.changed for r in first.results), first.stdout
    for name in ('net1', 'net2'):
        link = read_link(lab.ns(name), 'eth0')
        assert link['kind'] == 'macvlan' and link['data']['IFLA_MACVLAN_MODE'] == 'bridge' and link['up']
    assert read_link(host, 'eth0')['kind'] == 'veth'

    # As in the blog: the containers talk, the host and the containers do not.
    assert reachability(endpoints) == {
        ('net1', 'net2'): True, ('net2', 'net1'): True,
        ('host', 'net1'): False, ('host', 'net2'): False,
        ('net1', 'host'): False, ('net2', 'host'): False,
    }

    shimmed = play(containers + [{'name': 'host shim', 'underlay.network.macvlan_link': SHIM}])
    assert [r.changed for r in shimmed.results] == [False] * len(containers) + [True], shimmed.stdout
    shim = read_link(host, 'mynet-shim')
    assert shim['kind'] == 'macvlan' and shim['data']['IFLA_MACVLAN_MODE'] == 'bridge'
    assert shim['link'] == uplink_index(host) and shim['link_netnsid'] is None
    assert shim['addresses'] == ['172.28.248.254/32']
    assert shim['routes'] == [('172.28.248.0', 21, None)]

    # With the shim, every endpoint reaches every other one, both ways.
    assert set(reachability(endpoints).values()) == {True}

    again = play(containers + [{'name': 'host shim', 'underlay.network.macvlan_link': SHIM}])
    assert not any(r.changed for r in again.results), again.stdout


# (mode, state of the lab host's switch port, do net1 and net2 reach each other)
# "detached": the switch-side veth is taken out of br0 (still up, carrier on), so
# nothing that leaves the host can come back. bridge mode still talks - its
# traffic turns inside the host's macvlan port - while vepa, whose traffic must
# go out and be reflected by the switch, does not.
MODE_CASES = [
    pytest.param('private', 'hairpin off', False, id='private-isolates'),
    pytest.param('private', 'hairpin on', False, id='private-isolates-even-with-hairpin'),
    pytest.param('vepa', 'hairpin off', False, id='vepa-needs-hairpin'),
    pytest.param('vepa', 'hairpin on', True, id='vepa-through-hairpin'),
    pytest.param('vepa', 'detached', False, id='vepa-needs-the-switch'),
    pytest.param('bridge', 'hairpin off', True, id='bridge-talks'),
    pytest.param('bridge', 'detached', True, id='bridge-stays-in-the-host'),
]


@pytest.mark.parametrize('mode, port, reached', MODE_CASES)
def test_macvlan_mode_between_two_containers(lab, host, play, mode, port, reached):
    if port == 'detached':
        detach_port(lab, 'host1')
    else:
        set_hairpin(lab, 'host1', port == 'hairpin on')

    play(container_tasks(lab, mode))
    for name in ('net1', 'net2'):
        assert read_link(lab.ns(name), 'eth0')['data']['IFLA_MACVLAN_MODE'] == mode

    assert reaches(lab.ns('net1'), NET2_ADDRESS) is reached
    assert reaches(lab.ns('net2'), NET1_ADDRESS) is reached


def test_vepa_traffic_turns_at_the_switch(lab, host, play):
    """One vepa pair: isolated without hairpin, talking once the port hairpins, cut off without the switch."""
    set_hairpin(lab, 'host1', False)
    play(container_tasks(lab, 'vepa'))

    def both_ways():
        return reaches(lab.ns('net1'), NET2_ADDRESS), reaches(lab.ns('net2'), NET1_ADDRESS)

    assert both_ways() == (False, False)
    set_hairpin(lab, 'host1', True)
    # The failed pings left FAILED neighbour entries, which one bounded ping may not outlive: start afresh.
    for name in ('net1', 'net2'):
        subprocess.run(['nsenter', '--net=/run/netns/' + lab.ns(name), 'ip', 'neigh', 'flush', 'all'], check=True)
    assert both_ways() == (True, True)
    detach_port(lab, 'host1')
    assert both_ways() == (False, False)
