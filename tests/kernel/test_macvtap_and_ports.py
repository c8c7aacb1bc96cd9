"""On the full kernel (kernel box): a macvtap on an 802.1Q VLAN parent, made by the links module together with the
VLAN (link level: the VM itself boots in tests/integration/test_vm_on_segment.py), and the one-port-kind-per-parent
refusals (macvlan/macvtap vs ipvlan), which need ipvlan. Read back with raw pyroute2 and the box's own sysfs.
"""

from __future__ import annotations

import os
import stat

import pytest
from pyroute2 import IPRoute
from underlay_dev.testing.harness import netlink_dump, read_link

pytestmark = pytest.mark.usefixtures('no_leftover_tap_nodes')


def tap_node(namespace, name):
    """The link's ifindex, the numbers its namespace's sysfs gives its tap device, and the node in /dev."""
    with IPRoute(netns=namespace, flags=0) as ipr:
        index = ipr.link_lookup(ifname=name)[0]
    return index, os.lstat('/dev/tap%d' % index)


def links_task(config, **options):
    return {'underlay.network.links': dict(options, config=config)}


def test_a_macvtap_on_a_vlan_made_in_the_same_call(play, host, lab):
    vm = lab.add_namespace('vm1')
    config = {'links': [
        {'kind': 'vlan', 'parent': 'eth0', 'vlan_id': 10},
        {'kind': 'macvtap', 'name': 'eth0', 'parent': 'eth0.10', 'netns': vm, 'tap_mode': '0660',
         'addresses': ['172.28.10.40/24']}]}
    created, again = play(links_task(config), links_task(config))
    assert created.changed and not created.failed, created
    assert not again.changed and not again.failed, again
    link = read_link(vm, 'eth0')
    assert link['kind'] == 'macvtap' and link['addresses'] == ['172.28.10.40/24']
    assert read_link(host, 'eth0.10')['data']['IFLA_VLAN_ID'] == 10
    index, found = tap_node(vm, 'eth0')
    assert stat.S_ISCHR(found.st_mode) and stat.S_IMODE(found.st_mode) == 0o660
    reported = next(link for link in created['links'] if link['kind'] == 'macvtap')
    assert reported['tap_device']['path'] == '/dev/tap%d' % index and reported['parent'] == 'eth0.10'

    deleted, = play(links_task(config, state='deleted'))
    assert deleted.changed and not deleted.failed, deleted
    assert read_link(host, 'eth0.10') is None and read_link(vm, 'eth0') is None


def test_one_port_kind_per_parent_is_checked_before_any_change(play, host, lab):
    net1, net2 = lab.add_namespace('net1'), lab.add_namespace('net2')
    ipvlan = {'underlay.network.ipvlan_link': dict(name='eth0', parent='eth0', netns=net1)}
    made, = play(ipvlan)
    assert made.changed and not made.failed, made
    before = {ns: netlink_dump(ns) for ns in (host, net1, net2)}
    on_ipvlan_port = play(
        {'underlay.network.macvlan_link': dict(name='eth0', parent='eth0', netns=net2)},
        {'underlay.network.macvtap_link': dict(name='vm1', parent='eth0')},
        links_task({'links': [{'kind': 'macvlan', 'name': 'shim', 'parent': 'eth0'}]}))
    for result in on_ipvlan_port:
        assert result.failed, result
        assert 'the parent has ipvlan links already (eth0 (in netns' in result['msg'], result['msg']
        assert 'nothing was changed' in result['msg']
    assert {ns: netlink_dump(ns) for ns in (host, net1, net2)} == before

    play({'underlay.network.ipvlan_link': dict(name='eth0', netns=net1, state='absent')},
         {'underlay.network.macvtap_link': dict(name='vm1', parent='eth0')})
    before = {ns: netlink_dump(ns) for ns in (host, net1, net2)}
    on_macvlan_port, declared_both = play(
        {'underlay.network.ipvlan_link': dict(name='eth0', parent='eth0', netns=net2)},
        links_task({'links': [{'kind': 'macvlan', 'name': 'shim', 'parent': 'eth1'},
                              {'kind': 'ipvlan', 'name': 'ivl', 'parent': 'eth1'}]}))
    assert on_macvlan_port.failed and 'the parent has macvlan links already (vm1' in on_macvlan_port['msg'], \
        on_macvlan_port
    assert declared_both.failed and 'share parent eth1' in declared_both['msg'], declared_both
    assert {ns: netlink_dump(ns) for ns in (host, net1, net2)} == before
