"""The netns connection plugin: lab namespaces as inventory hosts, through Ansible itself.

What a task sees is compared with what raw pyroute2 reads in the namespace
(and in the root namespace, read only): the lab host's veth ``eth0`` and its
MAC address, never the machine's own ``ifb0`` or ``eth0``.
"""

from __future__ import annotations

import os
import subprocess

import pytest
from pyroute2 import IPRoute

CONNECTION = 'underlay.network.netns'
HOST_ADDRESS = '172.28.252.45/20'


@pytest.fixture
def host(lab):
    lab.up_switch()
    return lab.add_host('h1', address=HOST_ADDRESS)


def mac_of(ns, ifname):
    ipr = IPRoute(netns=ns, flags=0) if ns else IPRoute()
    with ipr:
        found = ipr.link_lookup(ifname=ifname)
        return ipr.get_links(found[0])[0].get_attr('IFLA_ADDRESS') if found else None


def sysctl_in(ns, key):
    path = '/proc/sys/' + key.replace('.', '/')
    return subprocess.run(['ip', 'netns', 'exec', ns, 'cat', path], check=True, capture_output=True,
                          text=True).stdout.strip()


def events(run, name):
    return [e['event_data'] for e in run.runner.events if e.get('event') == name]


def test_command_sees_the_namespace_links_only(ansible, host):
    tasks = [{'ansible.builtin.command': 'ip -o link'}, {'ansible.builtin.command': 'cat /proc/net/dev'},
             {'ansible.builtin.command': 'ls /sys/class/net'}]
    run = ansible.play(tasks, hosts={host: {'ansible_connection': CONNECTION}})
    assert run.status == 'successful', run.stdout
    links, dev, sys_class_net = run[0]['stdout'], run[1]['stdout'], run[2]['stdout']
    assert mac_of(host, 'eth0') in links
    assert 'eth0@' in links and 'lo:' in links
    assert 'ifb0' not in links and 'ifb0' not in dev
    assert sys_class_net.split() == ['eth0', 'lo']
    assert 'br0' not in links  # the lab switch's bridge lives next door
    root_eth0 = mac_of(None, 'eth0')
    assert root_eth0 is None or root_eth0 not in links


@pytest.mark.parametrize('pipelining', [True, False])
def test_setup_facts_with_and_without_pipelining(ansible, host, tmp_path, pipelining):
    # Without pipelining the module is copied into remote_tmp first; with it nothing is written there.
    remote_tmp = tmp_path / 'remote_tmp'
    hosts = {host: {'ansible_connection': CONNECTION, 'ansible_pipelining': pipelining,
                    'ansible_remote_tmp': str(remote_tmp)}}
    run = ansible.play([{'ansible.builtin.setup': {'gather_subset': ['!all', '!min', 'network']}}], hosts=hosts)
    assert run.status == 'successful', run.stdout
    facts = run[0]['ansible_facts']
    assert sorted(facts['ansible_interfaces']) == ['eth0', 'lo']
    assert facts['ansible_eth0']['macaddress'] == mac_of(host, 'eth0')
    assert facts['ansible_eth0']['ipv4']['address'] == HOST_ADDRESS.split('/', maxsplit=1)[0]
    assert remote_tmp.exists() is not pipelining


def test_remount_sys_off_keeps_the_machine_sys(ansible, host):
    """nsenter --net alone: netlink is the namespace's, /sys still the root namespace's (cgroups stay)."""
    hosts = {host: {'ansible_connection': CONNECTION, 'ansible_netns_remount_sys': False}}
    run = ansible.play([{'ansible.builtin.command': 'ls /sys/class/net'}, {'ansible.builtin.command': 'ip -o link'}],
                       hosts=hosts)
    assert run.status == 'successful', run.stdout
    assert run[0]['stdout'].split() == sorted(os.listdir('/sys/class/net'))
    assert 'ifb0' not in run[1]['stdout']


def test_netns_name_overrides_the_host_name(ansible, host):
    hosts = {'router': {'ansible_connection': CONNECTION, 'ansible_netns_name': host}}
    run = ansible.play([{'ansible.builtin.command': 'ip -o addr show dev eth0'}], hosts=hosts)
    assert run.status == 'successful', run.stdout
    assert HOST_ADDRESS in run[0]['stdout']


@pytest.mark.parametrize('host_vars, fragments', [
    ({}, ['does not exist', '/run/netns/', 'underlay.network.netns']),
    ({'ansible_netns_name': 'a/b'}, ['ansible_netns_name', "'/'"]),
    ({'ansible_netns_name': 'has space'}, ['ansible_netns_name', 'whitespace']),
])
def test_missing_or_invalid_namespace_is_unreachable(ansible, lab, host_vars, fragments):
    name = lab.ns('missing')
    run = ansible.play([{'ansible.builtin.command': 'true'}],
                       hosts={name: dict(host_vars, ansible_connection=CONNECTION)})
    unreachable = events(run, 'runner_on_unreachable')
    assert len(unreachable) == 1, run.stdout
    msg = unreachable[0]['res']['msg']
    for fragment in fragments:
        assert fragment in msg, msg
    if not host_vars:
        assert name in msg


def test_files_are_copied_and_fetched_locally(ansible, host, tmp_path):
    dest, fetched = tmp_path / 'copied.txt', tmp_path / 'fetched.txt'
    tasks = [
        {'ansible.builtin.copy': {'content': 'hello from the lab\n', 'dest': str(dest)}},
        {'ansible.builtin.fetch': {'src': str(dest), 'dest': str(fetched), 'flat': True}},
    ]
    hosts = {host: {'ansible_connection': CONNECTION, 'ansible_pipelining': False}}
    run = ansible.play(tasks, hosts=hosts)
    assert run.status == 'successful', run.stdout
    assert dest.read_text() == fetched.read_text() == 'hello from the lab\n'


def test_netns_module_through_the_connection(ansible, host):
    """The module run inside the lab host, on the lab host's own namespace."""
    root_forwarding = open('/proc/sys/net/ipv4/ip_forward').read()
    task = {'underlay.network.netns': {'name': '{{ inventory_hostname }}', 'sysctls': {'net.ipv4.ip_forward': 1}}}
    run = ansible.play([task, task], hosts={host: {'ansible_connection': CONNECTION}})
    assert run.status == 'successful', run.stdout
    first, second = run.results
    assert first['changed'] and not second['changed']
    assert first['actions'] == ['set net.ipv4.ip_forward 0 -> 1']
    assert {link['name'] for link in first['namespace']['links']} == {'lo', 'eth0'}
    assert sysctl_in(host, 'net.ipv4.ip_forward') == '1'
    assert open('/proc/sys/net/ipv4/ip_forward').read() == root_forwarding
