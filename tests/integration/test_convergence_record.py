"""convergence_record and links_info's convergence check, on a lab host: the record says the host is current
until anything it covers changes (a link, an address, a route, a recorded namespace, its sysctls), whoever
changes it. Everything is changed with raw pyroute2 in the lab's namespaces; the record is read back from /run.
"""

from __future__ import annotations

import subprocess

import pytest
from pyroute2 import IPRoute, netns
from underlay_dev.testing.harness import convergence_record, netlink_dump

CONNECTION = 'underlay.network.netns'
PLAN = 'a' * 64
ARP_IGNORE = 'net.ipv4.conf.all.arp_ignore'


@pytest.fixture
def host(lab):
    lab.up_switch()
    host = lab.add_host('h1', address='172.28.0.11/24')
    lab.add_namespace('w1')
    return host


def on(host):
    return {host: {'ansible_connection': CONNECTION}}


def convergence(ansible, host):
    result = ansible.module('underlay.network.links_info', hosts=on(host), convergence=True)
    assert not result.failed, result
    return result['convergence']


def record(ansible, host, check=False, **args):
    return ansible.module('underlay.network.convergence_record', hosts=on(host), check=check, **args)


def test_no_record_then_current_until_a_link_changes(ansible, host, lab):
    workload = {'name': lab.ns('w1'), 'sysctls': {ARP_IGNORE: 1}}
    assert convergence(ansible, host) == {'plan': None, 'current': False}
    # A check run reports the record and writes none.
    checked = record(ansible, host, check=True, plan=PLAN, namespaces=[workload])
    assert not checked.failed and not checked.changed, checked
    assert checked['record']['plan'] == PLAN and convergence_record(host) is None

    written = record(ansible, host, plan=PLAN, namespaces=[workload])
    assert not written.failed and not written.changed, written
    assert convergence_record(host)['state'] == written['record']['state'] == checked['record']['state']
    assert convergence(ansible, host) == {'plan': PLAN, 'current': True}

    with IPRoute(netns=host, flags=0) as ipr:
        ipr.addr('add', index=ipr.link_lookup(ifname='eth0')[0], address='172.28.0.99', prefixlen=24)
    assert convergence(ansible, host) == {'plan': PLAN, 'current': False}
    with IPRoute(netns=host, flags=0) as ipr:
        ipr.addr('del', index=ipr.link_lookup(ifname='eth0')[0], address='172.28.0.99', prefixlen=24)
    assert convergence(ansible, host) == {'plan': PLAN, 'current': True}, 'the same state again is current'


def set_sysctl_in(namespace, key, value):
    """Write a sysctl inside a lab namespace (never the machine's own)."""
    subprocess.run(['nsenter', '--net=/run/netns/' + namespace, 'sh', '-c',
                    'echo %s > /proc/sys/%s' % (value, key.replace('.', '/'))], check=True)


def set_lo(namespace, state):
    with IPRoute(netns=namespace, flags=0) as ipr:
        ipr.link('set', index=ipr.link_lookup(ifname='lo')[0], state=state)


def test_a_recorded_namespace_changed_or_gone_makes_the_record_stale(ansible, host, lab):
    workload = lab.ns('w1')
    assert not record(ansible, host, plan=PLAN, namespaces=[{'name': workload, 'sysctls': {ARP_IGNORE: 0}}]).failed
    assert convergence(ansible, host)['current'] is True
    # Its sysctl, its loopback: each makes the record stale, and set back makes it current again.
    set_sysctl_in(workload, ARP_IGNORE, 1)
    assert convergence(ansible, host)['current'] is False
    set_sysctl_in(workload, ARP_IGNORE, 0)
    set_lo(workload, 'down')
    assert convergence(ansible, host)['current'] is False
    set_lo(workload, 'up')
    assert convergence(ansible, host)['current'] is True
    netns.remove(workload)
    assert convergence(ansible, host)['current'] is False


def test_state_absent_removes_the_record(ansible, host):
    assert not record(ansible, host, plan=PLAN).failed
    assert not record(ansible, host, check=True, state='absent').failed
    assert convergence_record(host) is not None, 'a check run removed the record'
    removed = record(ansible, host, state='absent')
    assert not removed.failed and removed['record'] is None
    assert convergence_record(host) is None
    assert convergence(ansible, host) == {'plan': None, 'current': False}


@pytest.mark.parametrize(('args', 'message'), [
    ({}, 'state is present but all of the following are missing: plan'),
    ({'plan': PLAN, 'namespaces': [{'name': 'a/b'}]}, 'namespaces[].name'),
    ({'plan': PLAN, 'namespaces': [{'name': 'w', 'sysctls': {'kernel.hostname': 'x'}}]}, 'namespaces[w].sysctls'),
])
def test_bad_input_fails_naming_the_parameter_and_writes_nothing(ansible, host, args, message):
    before = netlink_dump(host)
    result = record(ansible, host, **args)
    assert result.failed and message in result['msg'], result
    assert convergence_record(host) is None and netlink_dump(host) == before
