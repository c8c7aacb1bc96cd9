"""The netns module through Ansible on this machine's kernel, read back independently.

The tasks run inside a lab "controller" namespace through the netns connection:
named namespaces are shared by the whole machine, so this changes nothing for
the module, but even a bug in entering the target namespace could then only
write a lab namespace's sysctls, never the root namespace's. Results are read
back with ``ip netns list``, ``ip netns exec ... cat /proc/sys/...`` and raw
pyroute2.
"""

from __future__ import annotations

import os
import subprocess

import pytest
from pyroute2 import IPRoute, netns
from underlay_dev.testing.harness import netlink_dump

MODULE = 'underlay.network.netns'
IP_FORWARD = 'net.ipv4.ip_forward'


@pytest.fixture
def ctl(lab):
    return lab.add_namespace('ctl')


def in_ctl(ctl):
    return {ctl: {'ansible_connection': 'underlay.network.netns'}}


@pytest.fixture
def run(ansible, ctl):
    def run(check=False, diff=False, **args):
        return ansible.module(MODULE, hosts=in_ctl(ctl), check=check, diff=diff, **args)
    return run


def ip_netns_list():
    """Names as ``ip netns list`` prints them (``NAME`` or ``NAME (id: N)``)."""
    out = subprocess.run(['ip', 'netns', 'list'], check=True, capture_output=True, text=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def sysctl_in(ns, key):
    path = '/proc/sys/' + key.replace('.', '/')
    return subprocess.run(['ip', 'netns', 'exec', ns, 'cat', path], check=True, capture_output=True,
                          text=True).stdout.strip()


def lo_is_up(ns):
    with IPRoute(netns=ns, flags=0) as ipr:
        return bool(ipr.get_links(ipr.link_lookup(ifname='lo')[0])[0]['flags'] & 1)


def lab_namespaces(lab):
    return sorted(n for n in netns.listnetns() if n.startswith(lab.prefix))


def snapshot(lab, ctl):
    """Our lab's namespaces plus everything netlink shows in the controller namespace."""
    dump = netlink_dump(ctl)
    del dump['namespaces']  # machine-wide: other test runs may add theirs meanwhile
    return lab_namespaces(lab), dump


def raw_namespace(lab, name):
    """A namespace made without the lab helper: lo still down, and the lab's teardown removes it only
    if it still exists (by prefix), so a test may delete it."""
    full = lab.ns(name)
    netns.create(full)
    return full


def test_create_then_rerun_is_unchanged(run, lab):
    name = lab.ns('n1')
    result = run(name=name)
    assert not result.failed, result
    assert result.changed
    assert name in ip_netns_list()
    assert os.path.isfile('/run/netns/' + name)
    assert lo_is_up(name)
    assert sysctl_in(name, IP_FORWARD) == '0'  # ip netns exec can enter it
    ns = result['namespace']
    assert ns['name'] == name and ns['path'] == '/run/netns/' + name
    assert ns['exists'] and ns['loopback'] == 'up'
    assert [(link['name'], link['kind'], link['admin_state']) for link in ns['links']] == [('lo', 'device', 'up')]
    assert result['actions'] == ["create netns '%s'" % name, 'set lo up']

    again = run(name=name)
    assert not again.failed and not again.changed, again
    assert again['actions'] == []


def test_created_from_the_root_namespace_too(ansible, lab):
    """The plain local connection: the module itself creates and deletes (no sysctls touched)."""
    name = lab.ns('local')
    result = ansible.module(MODULE, name=name)
    assert result.changed and result['namespace']['exists'], result
    assert name in ip_netns_list() and lo_is_up(name)
    result = ansible.module(MODULE, name=name, state='absent')
    assert result.changed and result['actions'] == ["delete netns '%s'" % name], result
    assert name not in ip_netns_list()


def test_loopback_down_is_brought_up(run, lab):
    name = raw_namespace(lab, 'rawlo')
    assert not lo_is_up(name)
    result = run(diff=True, name=name)
    assert not result.failed and result.changed, result
    assert result['actions'] == ['set lo up']
    assert result['diff']['before']['loopback'] == 'down' and result['diff']['after']['loopback'] == 'up'
    assert lo_is_up(name)


def test_sysctls_set_inside_only_and_rerun_is_unchanged(run, lab, ctl):
    name = lab.add_namespace('router')
    sysctls = {IP_FORWARD: 1, 'net.ipv4.ip_local_port_range': '20000   30000'}
    result = run(name=name, sysctls=sysctls)
    assert not result.failed and result.changed, result
    assert sysctl_in(name, IP_FORWARD) == '1'
    assert sysctl_in(name, 'net.ipv4.ip_local_port_range').split() == ['20000', '30000']
    assert sysctl_in(ctl, IP_FORWARD) == '0'  # the namespace the task ran in kept its value
    assert result['namespace']['sysctls'] == {IP_FORWARD: '1', 'net.ipv4.ip_local_port_range': '20000 30000'}
    assert result['actions'] == ['set net.ipv4.ip_forward 0 -> 1',
                                 'set net.ipv4.ip_local_port_range 32768 60999 -> 20000 30000']

    # Whitespace differences are no differences.
    again = run(name=name, sysctls={IP_FORWARD: '1', 'net.ipv4.ip_local_port_range': '20000\t30000'})
    assert not again.failed and not again.changed, again


def test_sysctls_on_a_new_namespace(run, lab):
    name = lab.ns('newrouter')
    result = run(name=name, sysctls={IP_FORWARD: 1, 'net.ipv6.conf.all.forwarding': 1})
    assert not result.failed and result.changed, result
    assert sysctl_in(name, IP_FORWARD) == '1'
    assert sysctl_in(name, 'net.ipv6.conf.all.forwarding') == '1'


def test_check_mode_on_create_touches_nothing(run, lab, ctl):
    name = lab.ns('ghost')
    before = snapshot(lab, ctl)
    result = run(check=True, diff=True, name=name, sysctls={IP_FORWARD: 1})
    assert not result.failed and result.changed, result
    assert snapshot(lab, ctl) == before
    assert name not in ip_netns_list()
    assert not os.path.exists('/run/netns/' + name)
    assert result['actions'] == []
    assert result['diff'] == {
        'before': {'exists': False, 'loopback': None, 'sysctls': {}},
        'after': {'exists': True, 'loopback': 'up', 'sysctls': {IP_FORWARD: '1'}},
    }


def test_check_mode_on_sysctl_change_touches_nothing(run, lab):
    name = lab.add_namespace('chk')
    result = run(check=True, diff=True, name=name, sysctls={IP_FORWARD: 1})
    assert not result.failed and result.changed, result
    assert sysctl_in(name, IP_FORWARD) == '0'
    assert result['diff']['before']['sysctls'] == {IP_FORWARD: '0'}
    assert result['diff']['after']['sysctls'] == {IP_FORWARD: '1'}
    assert result['namespace']['sysctls'] == {IP_FORWARD: '1'}  # as it would be


def test_diff_shows_before_and_after(run, lab):
    name = lab.ns('dif')
    result = run(diff=True, name=name, sysctls={IP_FORWARD: 1})
    assert not result.failed and result.changed, result
    assert result['diff'] == {
        'before': {'exists': False, 'loopback': None, 'sysctls': {}},
        'after': {'exists': True, 'loopback': 'up', 'sysctls': {IP_FORWARD: '1'}},
    }
    result = run(diff=True, name=name, state='absent')
    assert result['diff'] == {
        'before': {'exists': True, 'loopback': 'up', 'sysctls': {}},
        'after': {'exists': False, 'loopback': None, 'sysctls': {}},
    }


def test_links_inside_are_reported(run, lab):
    lab.up_switch()
    host = lab.add_host('h1', address='172.28.252.45/20')
    result = run(name=host)
    assert not result.failed and not result.changed, result
    links = {link['name']: link for link in result['namespace']['links']}
    assert sorted(links) == ['eth0', 'lo']
    assert links['eth0']['kind'] == 'veth' and links['eth0']['admin_state'] == 'up'
    assert links['eth0']['addresses'] == ['172.28.252.45/20']
    assert links['lo']['admin_state'] == 'up'


def test_delete_then_delete_again(run, lab):
    name = raw_namespace(lab, 'gone')  # not the lab's own: its teardown would miss it
    result = run(check=True, name=name, state='absent')
    assert not result.failed and result.changed, result
    assert name in ip_netns_list()

    result = run(name=name, state='absent')
    assert not result.failed and result.changed, result
    assert result['actions'] == ["delete netns '%s'" % name]
    assert name not in ip_netns_list()
    assert not os.path.exists('/run/netns/' + name)
    assert result['namespace']['exists'] is False

    again = run(name=name, state='absent')
    assert not again.failed and not again.changed, again


def test_bad_names_fail_before_anything_is_touched(ansible, lab, ctl):
    names = ['a/b', '.', '..', 'x' * 300, 'has space']
    tasks = [{'name': 'bad %d' % i, MODULE: {'name': name}, 'ignore_errors': True} for i, name in enumerate(names)]
    before = snapshot(lab, ctl)
    run = ansible.play(tasks, hosts=in_ctl(ctl))
    assert len(run.results) == len(names), run.stdout
    for name, result in zip(names, run.results, strict=True):
        assert result.failed, (name, result)
        assert result['msg'].startswith('name '), (name, result['msg'])
        assert 'namespace name' in result['msg']
    assert snapshot(lab, ctl) == before
    assert not set(names) & ip_netns_list()
    assert not os.path.exists('/run/netns/a') and not os.path.exists('/run/netns/has space')


def test_host_wide_sysctl_is_rejected(run, lab):
    name = lab.ns('kern')
    result = run(name=name, sysctls={'kernel.hostname': 'x', IP_FORWARD: 1})
    assert result.failed
    assert 'sysctls' in result['msg'] and 'kernel.hostname' in result['msg'] and 'net.' in result['msg']
    assert name not in ip_netns_list()


def test_unknown_sysctl_key_applies_nothing(run, lab):
    name = lab.add_namespace('unk')
    result = run(name=name, sysctls={IP_FORWARD: 1, 'net.ipv4.nonexistent': 1})
    assert result.failed
    assert 'sysctls' in result['msg'] and 'net.ipv4.nonexistent' in result['msg']
    assert 'nothing was changed' in result['msg']
    assert IP_FORWARD not in result['msg']
    assert sysctl_in(name, IP_FORWARD) == '0'

    new = lab.ns('unknew')  # also checked before a new namespace is created
    for check in (True, False):
        result = run(check=check, name=new, sysctls={IP_FORWARD: 1, 'net.ipv4.nonexistent': 1})
        assert result.failed and 'net.ipv4.nonexistent' in result['msg'], result
        assert new not in ip_netns_list()


def test_refused_value_restores_what_was_written(run, lab):
    name = lab.add_namespace('bad')
    # Dict order is kept: ip_forward is written first, then the kernel refuses the second value.
    result = run(name=name, sysctls={IP_FORWARD: 1, 'net.ipv4.conf.all.rp_filter': 'bogus'})
    assert result.failed
    assert 'net.ipv4.conf.all.rp_filter' in result['msg'] and 'restored net.ipv4.ip_forward' in result['msg']
    assert sysctl_in(name, IP_FORWARD) == '0'

    new = lab.ns('badnew')
    result = run(name=new, sysctls={IP_FORWARD: 1, 'net.ipv4.conf.all.rp_filter': 'bogus'})
    assert result.failed and 'removed again' in result['msg'], result
    assert new not in ip_netns_list()
