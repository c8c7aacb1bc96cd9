"""Namespace names the kernel or pyroute2 cannot use, and files below /run/netns that are no namespace
(issue 13 item 12), through Ansible on this machine's kernel.

The modules run inside a lab "controller" namespace through the netns connection, as in
test_netns_module.py. A stale namespace is a plain file below /run/netns with nothing mounted on it
(what a namespace deleted uncleanly, or a /run that survived without its mounts, leaves behind); each
test makes its own with the lab's prefix and removes it in a ``finally``.
"""

from __future__ import annotations

import os
import subprocess
import uuid

import pytest
from pyroute2 import netns
from underlay_dev.testing.harness import netlink_dump

CONNECTION = 'underlay.network.netns'


@pytest.fixture
def ctl(lab):
    return lab.add_namespace('ctl')


def in_ctl(ctl):
    return {ctl: {'ansible_connection': CONNECTION}}


def lab_namespaces(lab):
    return sorted(n for n in os.listdir('/run/netns') if n.startswith(lab.prefix))


def events(run, name):
    return [e['event_data'] for e in run.runner.events if e.get('event') == name]


@pytest.fixture
def stale(lab):
    """A plain file below /run/netns where a namespace would be: nothing is mounted on it."""
    name = lab.ns('stale-%s' % uuid.uuid4().hex[:6])
    path = '/run/netns/' + name
    with open(path, 'x'):
        pass
    try:
        yield name
    finally:
        if os.path.lexists(path):
            os.unlink(path)


def assert_names_the_stale_namespace(msg, name):
    assert name in msg, msg
    assert "/run/netns/%s is a plain file, not a network namespace" % name in msg, msg
    assert 'ip netns delete %s' % name in msg, msg


# -- a name that is not ASCII -----------------------------------------------------------------
@pytest.mark.parametrize('module, args', [
    ('underlay.network.netns', lambda name: {'name': name}),
    ('underlay.network.links', lambda name: {'state': 'merged', 'config': {'namespaces': [{'name': name}]}}),
])
def test_a_name_that_is_not_ascii_is_refused_by_name(ansible, lab, ctl, module, args):
    name = lab.ns('t\N{LATIN SMALL LETTER E WITH DIAERESIS}st')
    before = lab_namespaces(lab), netlink_dump(ctl)['links']
    result = ansible.module(module, hosts=in_ctl(ctl), **args(name))
    assert result.failed, result
    assert not result['msg'].startswith('Task failed: Module failed') and 'module_stderr' not in result, result
    assert "contains '\N{LATIN SMALL LETTER E WITH DIAERESIS}', which is not ASCII" in result['msg'], result['msg']
    assert result['msg'].startswith('name ' if module.endswith('netns') else 'config.namespaces[0]: name '), result
    assert (lab_namespaces(lab), netlink_dump(ctl)['links']) == before
    assert name not in netns.listnetns()


def test_a_connection_to_a_name_that_is_not_ascii_is_unreachable(ansible, lab):
    name = lab.ns('t\N{LATIN SMALL LETTER E WITH DIAERESIS}st')
    run = ansible.play([{'ansible.builtin.command': 'true'}],
                       hosts={'h': {'ansible_connection': CONNECTION, 'ansible_netns_name': name}})
    unreachable = events(run, 'runner_on_unreachable')
    assert len(unreachable) == 1, run.stdout
    msg = unreachable[0]['res']['msg']
    assert 'ansible_netns_name' in msg and 'not ASCII' in msg, msg


# -- a stale file below /run/netns --------------------------------------------------------------
def test_a_connection_to_a_stale_namespace_says_what_is_wrong(ansible, stale):
    run = ansible.play([{'ansible.builtin.command': 'true'}], hosts={stale: {'ansible_connection': CONNECTION}})
    unreachable = events(run, 'runner_on_unreachable')
    assert len(unreachable) == 1, run.stdout
    msg = unreachable[0]['res']['msg']
    assert 'deserialization' not in msg
    assert_names_the_stale_namespace(msg, stale)
    assert os.path.isfile('/run/netns/' + stale)  # reported, not touched


@pytest.mark.parametrize('module, args', [
    ('underlay.network.netns', lambda name: {'name': name}),
    ('underlay.network.netns', lambda name: {'name': name, 'sysctls': {'net.ipv4.ip_forward': 1}}),
    ('underlay.network.macvlan_link', lambda name: {'name': 'eth0', 'parent': 'eth0', 'netns': name}),
    ('underlay.network.links', lambda name: {
        'state': 'merged', 'config': {'links': [{'kind': 'macvlan', 'name': 'eth0', 'parent': 'eth0',
                                                 'netns': name}]}}),
])
def test_a_module_on_a_stale_namespace_says_what_is_wrong(ansible, lab, stale, module, args):
    lab.up_switch()
    host = lab.add_host('h1', address='172.28.252.45/20')
    before = netlink_dump(host)['links']
    result = ansible.module(module, hosts={host: {'ansible_connection': CONNECTION}}, **args(stale))
    assert result.failed, result
    assert not result['msg'].startswith('Task failed: Module failed') and 'module_stderr' not in result, result
    assert_names_the_stale_namespace(result['msg'], stale)
    assert netlink_dump(host)['links'] == before
    assert os.path.isfile('/run/netns/' + stale)
    out = subprocess.run(['ip', 'netns', 'list'], check=True, capture_output=True, text=True).stdout
    assert stale in out  # still there for the operator to see and remove
