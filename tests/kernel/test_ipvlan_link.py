"""ipvlan_link through Ansible on the full kernel (kernel box), read back with raw pyroute2.

The port-mode guard is the point: the kernel keeps one mode and flag per parent,
and an ipvlan made in another mode silently switches every ipvlan there.
"""

from __future__ import annotations

import pytest
from pyroute2 import IPRoute
from underlay_dev.testing.harness import netlink_dump, read_link

MODULE = 'underlay.network.ipvlan_link'
MODES = {0: 'l2', 1: 'l3', 2: 'l3s'}


@pytest.fixture
def containers(lab):
    return lab.add_namespace('net1'), lab.add_namespace('net2')


def ipvlan(args, **task):
    return dict(task, **{MODULE: args})


def mode_of(ns, name):
    data = read_link(ns, name)['data']
    return MODES[data['IFLA_IPVLAN_MODE']]


def leg(netns, address, **extra):
    return dict(name='eth0', parent='eth0', netns=netns, mode='l2', addresses=[address], **extra)


def test_create_in_namespaces_rerun_check_mode(play, host, containers):
    net1, net2 = containers
    created = play(ipvlan(leg(net1, '172.28.248.10/24')), ipvlan(leg(net2, '172.28.248.11/24')))
    assert all(r.changed and not r.failed for r in created), created
    for ns, address in ((net1, '172.28.248.10/24'), (net2, '172.28.248.11/24')):
        link = read_link(ns, 'eth0')
        assert link['kind'] == 'ipvlan' and mode_of(ns, 'eth0') == 'l2'
        assert link['addresses'] == [address] and link['up'] and link['link_netnsid'] is not None
    port = created[1]['port']
    assert port['mode'] == 'l2' and sorted(link['netns'] for link in port['links']) == sorted([net1, net2])
    assert created[1]['link']['parent'] == 'eth0'

    before = {ns: netlink_dump(ns) for ns in (host, net1, net2)}
    again = play(ipvlan(leg(net1, '172.28.248.10/24')),
                 ipvlan(leg(net1, '172.28.248.12/24', addresses_mode='replace'), check_mode=True, diff=True),
                 ipvlan(dict(name='eth0', netns=net2, state='absent'), check_mode=True))
    assert not again[0].changed, again[0]
    assert again[1].changed and again[1]['diff']['after']['addresses'] == ['172.28.248.12/24']
    assert again[2].changed
    assert {ns: netlink_dump(ns) for ns in (host, net1, net2)} == before


def test_port_mode_guard(play, host, containers):
    net1, net2 = containers
    play(ipvlan(leg(net1, '172.28.248.10/24')), ipvlan(leg(net2, '172.28.248.11/24')))
    shim = dict(name='ipvl-shim', parent='eth0', mode='l3', addresses=['172.28.248.254/32'])

    before = {ns: netlink_dump(ns) for ns in (host, net1, net2)}
    refused = play(ipvlan(shim), ipvlan(dict(leg(net1, '172.28.248.10/24'), flag='private')))
    for result in refused:
        assert result.failed, result
        assert 'would switch every ipvlan on parent eth0' in result['msg']
        assert 'allow_port_mode_change: true' in result['msg']
    assert "eth0 in netns '%s' (l2, bridge)" % net1 in refused[0]['msg']
    assert "eth0 in netns '%s' (l2, bridge)" % net2 in refused[0]['msg']
    assert {ns: netlink_dump(ns) for ns in (host, net1, net2)} == before

    allowed = play(ipvlan(dict(shim, allow_port_mode_change=True)))[0]
    assert allowed.changed and not allowed.failed, allowed
    assert allowed['port']['mode'] == 'l3'
    assert {(link['name'], link['netns'], link['mode']) for link in allowed['port']['links']} == {
        ('ipvl-shim', None, 'l3'), ('eth0', net1, 'l3'), ('eth0', net2, 'l3')}
    assert mode_of(net1, 'eth0') == mode_of(net2, 'eth0') == mode_of(host, 'ipvl-shim') == 'l3'


BAD_INPUT = [
    (dict(name='iv0', parent='eth0', mode='l4'), 'mode'),
    (dict(name='iv0', parent='eth0', flag='privat'), 'flag'),
    (dict(name='iv0', parent='eth0', mac_address='02:00:00:00:00:01'), 'mac_address'),
    (dict(name='iv0', parent='eth9'), "parent 'eth9' does not exist"),
    (dict(name='iv0'), 'parent'),
    (dict(name='ipvlan-too-long-0', parent='eth0'), 'at most 15 bytes'),
    (dict(name='iv0', parent='eth0', mtu=9000), 'larger than the MTU 1500 of parent eth0'),
    (dict(name='iv0', parent='eth0', netns='no-such-ns-ul'), 'never creates namespaces'),
]


def test_bad_input_fails_clearly_and_touches_nothing(play, host):
    before = netlink_dump(host)
    results = play(*(ipvlan(args) for args, _fragment in BAD_INPUT))
    for (args, fragment), result in zip(BAD_INPUT, results, strict=True):
        assert result.failed, (args, result)
        assert fragment in result['msg'], (args, result['msg'])
    assert netlink_dump(host) == before


def test_the_port_guard_sees_ipvlans_in_namespaces_without_a_name(play, host, unnamed_namespace):
    # A container runtime's namespace has no name (Docker's ipvlan networks): its ipvlan is still on the port.
    with IPRoute(netns=host, flags=0) as ipr:
        ipr.link('add', ifname='ctr0', kind='ipvlan', ipvlan_mode=0, link=ipr.link_lookup(ifname='eth0')[0])
    pid = unnamed_namespace(host, 'ctr0')
    before = netlink_dump(host)
    refused, = play(ipvlan(dict(name='shim', parent='eth0', mode='l3', addresses=['172.28.248.254/32'])))
    assert refused.failed, refused
    assert 'ctr0 in the network namespace of process %d (sleep) (l2, bridge)' % pid in refused['msg'], refused
    assert netlink_dump(host) == before
