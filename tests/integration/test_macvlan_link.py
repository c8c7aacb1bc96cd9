"""macvlan_link through Ansible on this machine's kernel, read back with raw pyroute2.

The task runs inside a lab host (a namespace whose eth0 is a veth to the lab
switch) through the netns connection; the "containers" are namespaces the
test creates. Nothing here touches the root namespace.
"""

from __future__ import annotations

import pytest
from pyroute2 import IPRoute
from underlay_dev.testing.harness import netlink_dump, read_link

MODULE = 'underlay.network.macvlan_link'


@pytest.fixture
def host(lab):
    lab.up_switch()
    return lab.add_host('h1', address='172.28.252.45/20')


@pytest.fixture
def net1(lab):
    return lab.add_namespace('net1')


@pytest.fixture
def run(ansible, host):
    inventory = {host: {'ansible_connection': 'underlay.network.netns'}}

    def run(check=False, diff=False, **args):
        return ansible.module(MODULE, hosts=dict(inventory), check=check, diff=diff, **args)
    return run


def snapshot(*namespaces):
    return {ns: netlink_dump(ns) for ns in namespaces}


def parent_index(host, name='eth0'):
    with IPRoute(netns=host, flags=0) as ipr:
        return ipr.link_lookup(ifname=name)[0]


def add_second_uplink(host):
    """A second parent in the lab host (a veth pair, both ends inside the namespace)."""
    with IPRoute(netns=host, flags=0) as ipr:
        ipr.link('add', ifname='eth1', kind='veth', peer={'ifname': 'eth1p'})
        ipr.link('set', index=ipr.link_lookup(ifname='eth1')[0], state='up')


CONTAINER = dict(name='eth0', parent='eth0', addresses=['172.28.248.10/20', '2001:db8:248::10/64'],
                 routes=[{'dest': '10.99.0.0/16', 'gateway': '172.28.240.1'}])


def test_create_in_netns_then_rerun_is_unchanged(run, host, net1):
    result = run(netns=net1, **CONTAINER)
    assert not result.failed, result
    assert result.changed

    link = read_link(net1, 'eth0')
    assert link['kind'] == 'macvlan'
    assert link['data']['IFLA_MACVLAN_MODE'] == 'bridge'
    assert link['up']
    assert link['alias'] == 'underlay.network'  # the marker: created by this collection
    assert link['addresses'] == ['172.28.248.10/20', '2001:db8:248::10/64']
    assert link['routes'] == [('10.99.0.0', 16, '172.28.240.1')]
    # The parent stayed in the lab host: the link points across namespaces at its eth0.
    assert link['link_netnsid'] is not None
    assert link['link'] == parent_index(host)
    assert read_link(host, 'eth0')['kind'] == 'veth'

    reported = result['link']
    assert reported['managed_by'] == 'underlay.network'
    assert reported['parent'] == 'eth0' and reported['netns'] == net1 and reported['mac_address'] == link['mac']
    assert reported['routes'] == [{'dest': '10.99.0.0/16', 'gateway': '172.28.240.1', 'metric': 0}]

    again = run(netns=net1, **CONTAINER)
    assert not again.failed and not again.changed, again
    assert again['actions'] == []


def test_link_in_the_task_namespace(run, host):
    result = run(name='mynet-shim', parent='eth0', addresses=['172.28.248.254/32'],
                 routes=[{'dest': '172.28.248.0/21'}])
    assert result.changed and not result.failed, result
    link = read_link(host, 'mynet-shim')
    assert link['link'] == parent_index(host) and link['link_netnsid'] is None
    assert link['alias'] == 'underlay.network'
    assert link['routes'] == [('172.28.248.0', 21, None)]
    assert not run(name='mynet-shim', parent='eth0', addresses=['172.28.248.254/32'],
                   routes=[{'dest': '172.28.248.0/21'}]).changed


def test_in_place_changes_keep_the_link(run, net1):
    run(netns=net1, **CONTAINER)
    before = read_link(net1, 'eth0')
    with IPRoute(netns=net1, flags=0) as ipr:
        index = ipr.link_lookup(ifname='eth0')[0]

    result = run(netns=net1, name='eth0', parent='eth0', mode='private', mtu=1400, mac_address='02:42:ac:1c:f8:0a')
    assert result.changed and not result.failed, result
    assert result['actions'] == ['set mode private', 'set mtu 1400', 'set mac_address 02:42:ac:1c:f8:0a']
    after = read_link(net1, 'eth0')
    assert after['data']['IFLA_MACVLAN_MODE'] == 'private'
    assert (after['mtu'], after['mac']) == (1400, '02:42:ac:1c:f8:0a')
    assert after['addresses'] == before['addresses']  # not declared: left alone
    with IPRoute(netns=net1, flags=0) as ipr:
        assert ipr.link_lookup(ifname='eth0')[0] == index  # changed in place, not re-created

    down = run(netns=net1, name='eth0', parent='eth0', mode='private', admin_state='down')
    assert down.changed and not read_link(net1, 'eth0')['up']


def test_addresses_and_routes_add_or_replace(run, net1):
    run(netns=net1, **CONTAINER)
    added = run(netns=net1, name='eth0', parent='eth0', addresses=['172.28.248.11/20'])
    assert added.changed
    assert read_link(net1, 'eth0')['addresses'] == ['172.28.248.10/20', '172.28.248.11/20', '2001:db8:248::10/64']

    replaced = run(netns=net1, name='eth0', parent='eth0', addresses=['172.28.248.11/20'], addresses_mode='replace',
                   routes=[{'dest': 'default', 'gateway': '172.28.240.1'}], routes_mode='replace')
    assert replaced.changed, replaced
    link = read_link(net1, 'eth0')
    assert link['addresses'] == ['172.28.248.11/20']
    assert link['routes'] == [(None, 0, '172.28.240.1')]
    assert not run(netns=net1, name='eth0', parent='eth0', addresses=['172.28.248.11/20'], addresses_mode='replace',
                   routes=[{'dest': 'default', 'gateway': '172.28.240.1'}], routes_mode='replace').changed


def test_check_mode_reports_but_touches_nothing(run, host, net1):
    before = snapshot(host, net1)
    result = run(check=True, netns=net1, **CONTAINER)
    assert result.changed and not result.failed, result
    assert result['link']['addresses'] == ['172.28.248.10/20', '2001:db8:248::10/64']
    assert snapshot(host, net1) == before

    run(netns=net1, **CONTAINER)
    before = snapshot(host, net1)
    result = run(check=True, netns=net1, name='eth0', parent='eth0', mode='vepa', mtu=1300, addresses=['10.1.1.1/24'],
                 addresses_mode='replace')
    assert result.changed and result['link']['mode'] == 'vepa' and result['link']['addresses'] == ['10.1.1.1/24']
    assert snapshot(host, net1) == before

    result = run(check=True, netns=net1, name='eth0', state='absent')
    assert result.changed and result['link'] == {}
    assert snapshot(host, net1) == before


def test_diff_shows_before_and_after(run, net1):
    created = run(diff=True, netns=net1, **CONTAINER)
    assert created['diff']['before'] == {}
    assert created['diff']['after']['addresses'] == ['172.28.248.10/20', '2001:db8:248::10/64']
    changed = run(diff=True, netns=net1, name='eth0', parent='eth0', mode='vepa')
    assert changed['diff']['before']['mode'] == 'bridge'
    assert changed['diff']['after']['mode'] == 'vepa'


def test_delete_then_delete_again(run, net1):
    run(netns=net1, **CONTAINER)
    deleted = run(netns=net1, name='eth0', state='absent')
    assert deleted.changed and not deleted.failed
    assert read_link(net1, 'eth0') is None
    assert not run(netns=net1, name='eth0', state='absent').changed


def test_other_parent_fails_unless_recreate(run, host, net1):
    run(netns=net1, **CONTAINER)
    add_second_uplink(host)
    old_mac = read_link(net1, 'eth0')['mac']
    before = snapshot(host, net1)
    refused = run(netns=net1, name='eth0', parent='eth1')
    assert refused.failed
    assert "cannot be changed in place: parent is 'eth0', wanted 'eth1'" in refused['msg']
    assert 'recreate: true' in refused['msg']
    assert snapshot(host, net1) == before

    recreated = run(netns=net1, name='eth0', parent='eth1', recreate=True)
    assert recreated.changed and not recreated.failed, recreated
    link = read_link(net1, 'eth0')
    assert link['link'] == parent_index(host, 'eth1')
    # What the old link had and this task did not declare is carried over.
    assert link['addresses'] == ['172.28.248.10/20', '2001:db8:248::10/64']
    assert link['routes'] == [('10.99.0.0', 16, '172.28.240.1')]
    assert link['mac'] == old_mac
    assert recreated['link']['parent'] == 'eth1'


def test_passthru_needs_recreate(run, host):
    add_second_uplink(host)
    run(name='pt0', parent='eth1', mode='bridge')
    refused = run(name='pt0', parent='eth1', mode='passthru')
    assert refused.failed and 'passthru cannot be entered or left in place' in refused['msg']
    assert read_link(host, 'pt0')['data']['IFLA_MACVLAN_MODE'] == 'bridge'
    assert run(name='pt0', parent='eth1', mode='passthru', recreate=True).changed
    assert read_link(host, 'pt0')['data']['IFLA_MACVLAN_MODE'] == 'passthru'


def test_source_mode_mac_list(run, host):
    macs = ['02:00:00:00:00:0b', '02:00:00:00:00:0a']
    created = run(name='src0', parent='eth0', mode='source', source_macs=macs)
    assert created.changed and not created.failed, created
    data = read_link(host, 'src0')['data']
    assert data['IFLA_MACVLAN_MODE'] == 'source'
    assert sorted(data['IFLA_MACVLAN_MACADDR_DATA'].get_attrs('IFLA_MACVLAN_MACADDR')) == sorted(macs)
    assert not run(name='src0', parent='eth0', mode='source', source_macs=list(reversed(macs))).changed

    changed = run(name='src0', parent='eth0', mode='source', source_macs=['02:00:00:00:00:0c'])
    assert changed.changed
    data = read_link(host, 'src0')['data']
    assert data['IFLA_MACVLAN_MACADDR_DATA'].get_attrs('IFLA_MACVLAN_MACADDR') == ['02:00:00:00:00:0c']


BAD_INPUT = [
    (dict(name='enp129s0f1.4000.10', parent='eth0'), 'name', 'at most 15 bytes'),
    (dict(name='mv/0', parent='eth0'), 'name', "'/'"),
    (dict(name='mv 0', parent='eth0'), 'name', 'whitespace'),
    (dict(name='mv0:1', parent='eth0'), 'name', "':'"),
    (dict(name='mv0', parent='eth9'), 'parent', 'does not exist'),
    (dict(name='mv0'), 'parent', 'parent'),
    (dict(name='mv0', parent='eth0', mode='bridgee'), 'mode', 'bridge, vepa, private, passthru, source'),
    (dict(name='mv0', parent='eth0', mac_address='02:42:ac:1c:f8'), 'mac_address', 'six hex pairs'),
    (dict(name='mv0', parent='eth0', addresses=['172.28.248.10']), 'addresses', 'CIDR'),
    (dict(name='mv0', parent='eth0', addresses=['172.28.248.300/20']), 'addresses', 'not a valid'),
    (dict(name='mv0', parent='eth0', routes=[{'dest': '172.28.248.1/21'}]), 'routes', 'network prefix'),
    (dict(name='mv0', parent='eth0', source_macs=['02:00:00:00:00:01']), 'source_macs', 'mode=source'),
    (dict(name='mv0', parent='eth0', netns='no-such-ns-ul'), 'netns', 'never creates namespaces'),
    (dict(name='eth0', parent='eth0', netns='a/b'), 'netns', "'/'"),
    (dict(name='eth0', parent='eth0', mode='vepa', netns=None, mtu=None), 'eth0', 'is the link itself'),
    (dict(name='mv0', parent='eth0', mtu=9000), 'mtu', 'larger than the MTU 1500 of parent eth0'),
]


def test_bad_input_fails_clearly_and_touches_nothing(ansible, host):
    """Every bad input in one play (one task each, errors ignored), then one look at the kernel."""
    with IPRoute(netns=host, flags=0) as ipr:
        ipr.link('add', ifname='veth9', kind='veth', peer={'ifname': 'veth9p'})
    before = snapshot(host)
    tasks = [{'name': 'bad %d' % i, MODULE: {k: v for k, v in args.items() if v is not None}, 'ignore_errors': True}
             for i, (args, _param, _fragment) in enumerate(BAD_INPUT)]
    tasks.append({'name': 'existing link of another kind', MODULE: {'name': 'veth9', 'parent': 'eth0'},
                  'ignore_errors': True})
    run = ansible.play(tasks, hosts={host: {'ansible_connection': 'underlay.network.netns'}})
    assert len(run.results) == len(tasks), run.stdout
    for (args, param, fragment), result in zip(BAD_INPUT, run.results, strict=False):
        assert result.failed, (args, result)
        assert param in result['msg'] and fragment in result['msg'], (args, result['msg'])
    kind_clash = run.results[-1]
    assert kind_clash.failed
    assert "veth9 exists in the task's network namespace and is a veth, not a macvlan" in kind_clash['msg']
    assert snapshot(host) == before


def add_blackhole(namespace, dest):
    """A route to ``dest`` through no link: the kernel refuses another route to it with the same metric (EEXIST),
    a refusal no check before the change can see coming, so it stops a call half-way."""
    with IPRoute(netns=namespace, flags=0) as ipr:
        ipr.route('add', dst=dest, type='blackhole', table=254)


def test_a_gateway_that_is_not_on_link_is_refused_before_any_change(run, host, net1):
    run(netns=net1, **CONTAINER)
    before = snapshot(host, net1)
    refused = run(netns=net1, name='eth0', parent='eth0', addresses=['172.28.250.10/24'],
                  routes=[{'dest': '10.98.0.0/16', 'gateway': '192.0.2.1'}])
    assert refused.failed, refused
    assert snapshot(host, net1) == before, 'the refused task changed the link'
    assert 'gateway 192.0.2.1 is not on-link through eth0' in refused['msg'], refused['msg']
    assert 'nothing was changed' in refused['msg'] and refused['actions'] == []

    # On-link through the prefix of an address the same task adds, or IPv6 link-local: the kernel accepts both.
    accepted = run(netns=net1, name='eth0', parent='eth0', addresses=['172.28.250.10/24'],
                   routes=[{'dest': '10.98.0.0/16', 'gateway': '172.28.250.1'},
                           {'dest': '2001:db8:77::/48', 'gateway': 'fe80::1'}])
    assert accepted.changed and not accepted.failed, accepted
    assert ('10.98.0.0', 16, '172.28.250.1') in read_link(net1, 'eth0')['routes']


def test_a_refusal_half_way_puts_the_existing_link_back(run, host, net1):
    """Mode and MTU set, an address added, then the kernel refuses the route: all of it is undone, in reverse."""
    run(netns=net1, **CONTAINER)
    add_blackhole(net1, '10.77.0.0/16')
    before = snapshot(host, net1)
    failed = run(netns=net1, name='eth0', parent='eth0', mode='vepa', mtu=1400, addresses=['172.28.250.10/24'],
                 routes=[{'dest': '10.77.0.0/16'}])
    assert failed.failed, failed
    assert snapshot(host, net1) == before, 'the failing link was not put back as it was'
    assert 'add route 10.77.0.0/16 metric 0' in failed['msg'] and 'File exists' in failed['msg'], failed['msg']
    assert 'eth0 was put back as it was' in failed['msg'], failed['msg']
    assert failed['actions'] == [] and 'add address 172.28.250.10/24' in failed['undone'], failed


def test_recreate_onto_a_parent_where_its_mac_is_in_use_changes_nothing(run, host):
    """The old MAC goes with a re-created link; on eth1 another macvlan has it up, so the kernel would refuse the
    new link (EADDRINUSE) after the old one was deleted."""
    add_second_uplink(host)
    assert not run(name='mv', parent='eth0', addresses=['172.28.250.20/24']).failed
    mac = read_link(host, 'mv')['mac']
    with IPRoute(netns=host, flags=0) as ipr:
        ipr.link('add', ifname='other', kind='macvlan', link=ipr.link_lookup(ifname='eth1')[0], macvlan_mode='bridge',
                 address=mac, state='up')
    before = snapshot(host)
    refused = run(name='mv', parent='eth1', recreate=True)
    assert refused.failed, refused
    assert snapshot(host) == before, 'mv was deleted before its re-creation was known to work'
    assert 'MAC address %s is in use on eth1 by other' % mac in refused['msg'], refused['msg']
    assert 'nothing was changed' in refused['msg'], refused['msg']
