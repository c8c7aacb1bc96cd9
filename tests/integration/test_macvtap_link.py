"""macvtap_link through Ansible on this machine's kernel (macvtap is built in), read back independently: the link
with raw pyroute2, its tap device's numbers from a sysfs mounted in the lab host's namespace, the node with stat.

The task runs inside a lab host through the netns connection. No udev runs here; /dev is a devtmpfs, which makes
a root-only node for every tap device by itself (udev's job elsewhere), and the module makes it where none is.
Every node a test leaves is removed afterwards.
"""

from __future__ import annotations

import glob
import grp
import os
import stat
import subprocess

import pytest
from pyroute2 import IPRoute
from underlay_dev.testing.harness import netlink_dump, read_link

MODULE = 'underlay.network.macvtap_link'
# A group every Debian system has, that is not root's.
GROUP = 'disk'


pytestmark = pytest.mark.usefixtures('no_leftover_tap_nodes')


@pytest.fixture
def host(lab):
    lab.up_switch()
    return lab.add_host('h1', address='172.28.252.45/20')


@pytest.fixture
def run(ansible, host):
    inventory = {host: {'ansible_connection': 'underlay.network.netns'}}

    def run(check=False, diff=False, **args):
        return ansible.module(MODULE, hosts=dict(inventory), check=check, diff=diff, **args)
    return run


def sysfs_numbers(namespace, index):
    """The tap device's major:minor as the namespace's own sysfs shows it (a sysfs mounted in a private mount
    namespace inside it)."""
    shown = subprocess.run(['nsenter', '--net=/run/netns/' + namespace, 'unshare', '-m', 'sh', '-c',
                            'mount -t sysfs sysfs /sys && cat /sys/class/macvtap/tap%d/dev' % index],
                           capture_output=True, text=True, timeout=10, check=True)
    major, minor = shown.stdout.strip().split(':')
    return int(major), int(minor)


def link_index(namespace, name):
    with IPRoute(netns=namespace, flags=0) as ipr:
        return ipr.link_lookup(ifname=name)[0]


def node(path):
    found = os.lstat(path)
    assert stat.S_ISCHR(found.st_mode), path
    return {'numbers': (os.major(found.st_rdev), os.minor(found.st_rdev)), 'uid': found.st_uid,
            'gid': found.st_gid, 'mode': stat.S_IMODE(found.st_mode)}


def test_create_makes_the_tap_node_and_a_rerun_is_unchanged(run, host):
    result = run(name='vm1', parent='eth0', mode='bridge', tap_group=GROUP, tap_mode='0660')
    assert not result.failed and result.changed, result

    link = read_link(host, 'vm1')
    assert link['kind'] == 'macvtap' and link['up'] and link['alias'] == 'underlay.network'
    assert link['data']['IFLA_MACVTAP_MODE'] == 'bridge'
    index = link_index(host, 'vm1')
    path = '/dev/tap%d' % index
    made = node(path)
    assert made['numbers'] == sysfs_numbers(host, index)
    assert (made['uid'], made['gid'], made['mode']) == (0, grp.getgrnam(GROUP).gr_gid, 0o660)
    assert result['link']['tap_device'] == {'path': path, 'owner': 'root', 'group': GROUP, 'mode': '0660'}
    assert result['link']['kind'] == 'macvtap' and result['link']['mode'] == 'bridge'
    # The node really is the link's: opening it succeeds (a VM's qemu does exactly this).
    os.close(os.open(path, os.O_RDWR))

    again = run(name='vm1', parent='eth0', mode='bridge', tap_group=GROUP, tap_mode='0660')
    assert not again.failed and not again.changed, again


def test_node_settings_change_in_place_with_check_and_diff(run, host):
    run(name='vm1', parent='eth0')
    path = '/dev/tap%d' % link_index(host, 'vm1')
    assert node(path)['mode'] == 0o600  # a node made before anything is declared: root's only
    before, links = node(path), netlink_dump(host)

    checked = run(check=True, diff=True, name='vm1', parent='eth0', tap_group=GROUP, tap_mode='0660')
    assert checked.changed and not checked.failed, checked
    assert node(path) == before and netlink_dump(host) == links
    assert checked['diff']['after']['tap_device']['mode'] == '0660'
    assert checked['diff']['before']['tap_device']['mode'] == '0600'

    changed = run(diff=True, name='vm1', parent='eth0', tap_group=GROUP, tap_mode='0660')
    assert changed.changed and not changed.failed, changed
    assert changed['actions'] == ['set %s to root:%s 0660' % (path, GROUP)]
    assert (node(path)['gid'], node(path)['mode']) == (grp.getgrnam(GROUP).gr_gid, 0o660)
    assert netlink_dump(host) == links  # the link itself untouched


def test_a_missing_or_stale_node_is_made_again(run, host):
    run(name='vm1', parent='eth0', tap_mode='0660')
    index = link_index(host, 'vm1')
    path = '/dev/tap%d' % index
    os.unlink(path)
    remade = run(name='vm1', parent='eth0', tap_mode='0660')
    assert remade.changed and node(path)['numbers'] == sysfs_numbers(host, index), remade

    os.unlink(path)  # a stale node: another device's numbers, as a macvtap gone since leaves behind
    os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(1, 3))
    replaced = run(name='vm1', parent='eth0', tap_mode='0660')
    assert replaced.changed and node(path)['numbers'] == sysfs_numbers(host, index), replaced
    assert not run(name='vm1', parent='eth0', tap_mode='0660').changed


def test_something_else_at_the_node_path_is_never_replaced(run, host):
    run(name='vm1', parent='eth0')
    path = '/dev/tap%d' % link_index(host, 'vm1')
    os.unlink(path)
    with open(path, 'w') as other:
        other.write('not ours\n')
    links = netlink_dump(host)
    refused = run(name='vm1', parent='eth0', tap_mode='0660')
    assert refused.failed, refused
    assert path in refused['msg'] and 'not a character device' in refused['msg'], refused['msg']
    with open(path) as other:
        assert other.read() == 'not ours\n'
    assert netlink_dump(host) == links


def test_absent_removes_the_link_and_its_node(run, host):
    run(name='vm1', parent='eth0')
    path = '/dev/tap%d' % link_index(host, 'vm1')
    gone = run(name='vm1', state='absent')
    assert gone.changed and not gone.failed, gone
    assert read_link(host, 'vm1') is None and not os.path.exists(path)
    assert not run(name='vm1', state='absent').changed


def test_a_macvtap_inside_a_namespace_gets_its_node(run, host, lab):
    vm = lab.add_namespace('vmns')
    result = run(name='eth0', parent='eth0', netns=vm, tap_mode='0660', addresses=['172.28.248.40/20'])
    assert not result.failed and result.changed, result
    index = link_index(vm, 'eth0')
    assert result['link']['tap_device']['path'] == '/dev/tap%d' % index
    assert node('/dev/tap%d' % index)['numbers'] == sysfs_numbers(vm, index)
    assert not run(name='eth0', parent='eth0', netns=vm, tap_mode='0660', addresses=['172.28.248.40/20']).changed


BAD_INPUT = [
    (dict(name='vm1', parent='eth0', tap_owner='no-such-user-ul'), 'tap_owner', 'is not a user on this host'),
    (dict(name='vm1', parent='eth0', tap_group='no-such-group-ul'), 'tap_group', 'is not a group on this host'),
    (dict(name='vm1', parent='eth0', tap_mode='rw-rw----'), 'tap_mode', 'three octal digits'),
    (dict(name='vm1', parent='eth0', tap_mode='4755'), 'tap_mode', 'without set-id bits'),
    (dict(name='vm1', parent='eth0', mode='l2'), 'mode', 'bridge, vepa, private, passthru, source'),
    (dict(name='vm1', parent='eth0', mtu=9000), 'mtu', 'larger than the MTU 1500 of parent eth0'),
    (dict(name='vm2', parent='tapvm0'), 'tapvm0', 'is a macvtap link'),
]


def test_bad_input_fails_clearly_and_touches_nothing(ansible, host):
    with IPRoute(netns=host, flags=0) as ipr:  # a macvtap made by hand: no parent for another one
        ipr.link('add', ifname='tapvm0', kind='macvtap', link=ipr.link_lookup(ifname='eth0')[0])
    nodes, before = sorted(glob.glob('/dev/tap*')), netlink_dump(host)
    tasks = [{'name': 'bad %d' % i, MODULE: case[0], 'ignore_errors': True} for i, case in enumerate(BAD_INPUT)]
    run = ansible.play(tasks, hosts={host: {'ansible_connection': 'underlay.network.netns'}})
    assert len(run.results) == len(tasks), run.stdout
    for (args, param, fragment), result in zip(BAD_INPUT, run.results, strict=True):
        assert result.failed, (args, result)
        assert param in result['msg'] and fragment in result['msg'], (args, result['msg'])
    assert netlink_dump(host) == before and sorted(glob.glob('/dev/tap*')) == nodes


def test_the_links_module_converges_macvtaps_and_links_info_reports_their_nodes(ansible, host, lab):
    vm = lab.add_namespace('vmns')
    hosts = {host: {'ansible_connection': 'underlay.network.netns'}}
    config = {'links': [
        {'kind': 'macvtap', 'name': 'eth0', 'parent': 'eth0', 'netns': vm, 'tap_group': GROUP, 'tap_mode': '0660',
         'addresses': ['172.28.248.41/20']},
        {'kind': 'macvtap', 'name': 'vm2', 'parent': 'eth0', 'mode': 'private'},
        {'kind': 'macvlan', 'name': 'shim', 'parent': 'eth0', 'addresses': ['172.28.248.254/32']}]}
    result = ansible.module('underlay.network.links', hosts=hosts, config=config)
    assert not result.failed and result.changed, result
    by_name = {link['name']: link for link in result['links']}
    inside, vm2 = by_name['eth0'], by_name['vm2']
    assert inside['tap_device'] == {'path': '/dev/tap%d' % link_index(vm, 'eth0'), 'owner': 'root',
                                    'group': GROUP, 'mode': '0660'}
    assert node(inside['tap_device']['path'])['numbers'] == sysfs_numbers(vm, link_index(vm, 'eth0'))
    assert node(vm2['tap_device']['path'])['numbers'] == sysfs_numbers(host, link_index(host, 'vm2'))
    assert read_link(host, 'vm2')['data']['IFLA_MACVTAP_MODE'] == 'private'

    info = ansible.module('underlay.network.links_info', hosts=hosts, namespaces=[vm], kinds=['macvtap'])
    assert sorted((link['name'], link['tap_device']['path']) for link in info['links']) == sorted(
        (link['name'], link['tap_device']['path']) for link in (inside, vm2))

    assert not ansible.module('underlay.network.links', hosts=hosts, config=config).changed
    deleted = ansible.module('underlay.network.links', hosts=hosts, config=config, state='deleted')
    assert deleted.changed and not deleted.failed, deleted
    assert not os.path.exists(inside['tap_device']['path']) and not os.path.exists(vm2['tap_device']['path'])
