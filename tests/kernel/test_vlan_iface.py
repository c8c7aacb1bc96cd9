"""vlan_iface through Ansible on the full kernel (kernel box), read back with raw pyroute2.

An Ansible run costs ~10 s in the box, so each play batches the steps whose
effects can be checked together; every play is still one claim with its own
assertions.
"""

from __future__ import annotations

from pyroute2 import IPRoute
from underlay_dev.testing.harness import netlink_dump, read_link

MODULE = 'underlay.network.vlan_iface'
ETH_P_8021Q, ETH_P_8021AD = 0x8100, 0x88A8


def vlan(args, **task):
    return dict(task, **{MODULE: args})


def flag_bits(link):
    return link['data']['IFLA_VLAN_FLAGS']['flags']


def qos(link, attr):
    data = link['data'].get(attr)
    return {m['from']: m['to'] for m in data.get_attrs('IFLA_VLAN_QOS_MAPPING') if m['to']} if data else {}


def snapshot(*namespaces):
    return {ns: netlink_dump(ns) for ns in namespaces}


ETH0_10 = dict(parent='eth0', vlan_id=10, addresses=['172.28.244.1/24'], flags={'gvrp': True},
               egress_qos_map={6: 5})


def test_create_rerun_check_mode_and_diff(play, host, lab):
    net1 = lab.add_namespace('net1')
    created = play(
        vlan(ETH0_10),
        vlan(dict(parent='eth0', vlan_id=20, netns=net1, addresses=['172.28.248.1/24'])),
        vlan(dict(name='eth0.100', parent='eth0', vlan_id=100, protocol='802.1ad')),
        vlan(dict(name='eth0.100.10', parent='eth0.100', vlan_id=10)),
    )
    assert all(r.changed and not r.failed for r in created), created
    link = read_link(host, 'eth0.10')
    assert link['kind'] == 'vlan' and link['data']['IFLA_VLAN_ID'] == 10
    assert link['data']['IFLA_VLAN_PROTOCOL'] == ETH_P_8021Q
    assert flag_bits(link) & 0x2  # gvrp
    assert qos(link, 'IFLA_VLAN_EGRESS_QOS') == {6: 5}
    assert link['up'] and link['addresses'] == ['172.28.244.1/24']
    # Created straight inside net1, on the lab host's eth0.
    moved = read_link(net1, 'eth0.20')
    assert moved['data']['IFLA_VLAN_ID'] == 20 and moved['link_netnsid'] is not None
    assert created[1]['link']['parent'] == 'eth0' and created[1]['link']['netns'] == net1
    # QinQ: 802.1Q on an 802.1ad outer tag.
    assert read_link(host, 'eth0.100')['data']['IFLA_VLAN_PROTOCOL'] == ETH_P_8021AD
    inner = read_link(host, 'eth0.100.10')
    with IPRoute(netns=host, flags=0) as ipr:
        assert inner['link'] == ipr.link_lookup(ifname='eth0.100')[0]

    before = snapshot(host, net1)
    again = play(
        vlan(ETH0_10),
        vlan(dict(parent='eth0', vlan_id=20, netns=net1, addresses=['172.28.248.1/24'])),
        vlan(dict(ETH0_10, mtu=1400, flags={'reorder_hdr': False}, addresses=['172.28.244.2/24'],
                  addresses_mode='replace'), check_mode=True, diff=True),
        vlan(dict(parent='eth0', vlan_id=20, netns=net1, state='absent'), check_mode=True),
    )
    assert not again[0].changed and not again[1].changed, again
    predicted = again[2]
    assert predicted.changed and not predicted.failed
    assert predicted['link']['mtu'] == 1400 and predicted['link']['flags']['reorder_hdr'] is False
    assert predicted['diff']['before']['addresses'] == ['172.28.244.1/24']
    assert predicted['diff']['after']['addresses'] == ['172.28.244.2/24']
    assert again[3].changed and again[3]['link'] == {}
    assert snapshot(host, net1) == before  # check mode touched nothing


def test_in_place_change_forbidden_change_and_recreate(play, host):
    play(vlan(ETH0_10))
    with IPRoute(netns=host, flags=0) as ipr:
        index = ipr.link_lookup(ifname='eth0.10')[0]

    changed = play(
        vlan(dict(parent='eth0', vlan_id=10, mtu=1400, flags={'reorder_hdr': False}, ingress_qos_map={5: 3})),
    )[0]
    assert changed.changed and not changed.failed, changed
    link = read_link(host, 'eth0.10')
    assert link['mtu'] == 1400 and not flag_bits(link) & 0x1 and flag_bits(link) & 0x2  # gvrp kept
    assert qos(link, 'IFLA_VLAN_INGRESS_QOS') == {5: 3} and qos(link, 'IFLA_VLAN_EGRESS_QOS') == {6: 5}

    before = snapshot(host)
    refused = play(vlan(dict(name='eth0.10', parent='eth0', vlan_id=11)),
                   vlan(dict(name='eth0.10', parent='eth0', vlan_id=10, protocol='802.1ad')))
    assert refused[0].failed and 'vlan_id is 10, wanted 11' in refused[0]['msg']
    assert 'recreate: true' in refused[0]['msg']
    assert refused[1].failed and "protocol is 802.1Q, wanted 802.1ad" in refused[1]['msg']
    assert snapshot(host) == before

    recreated = play(vlan(dict(name='eth0.10', parent='eth0', vlan_id=11, recreate=True), diff=True))[0]
    assert recreated.changed and not recreated.failed, recreated
    link = read_link(host, 'eth0.10')
    assert link['data']['IFLA_VLAN_ID'] == 11
    # What the old VLAN had and the task did not declare is carried over.
    assert link['addresses'] == ['172.28.244.1/24'] and link['mtu'] == 1400
    assert flag_bits(link) & 0x2 and not flag_bits(link) & 0x1
    assert qos(link, 'IFLA_VLAN_EGRESS_QOS') == {6: 5} and qos(link, 'IFLA_VLAN_INGRESS_QOS') == {5: 3}
    assert recreated['diff']['before']['vlan_id'] == 10 and recreated['diff']['after']['vlan_id'] == 11
    with IPRoute(netns=host, flags=0) as ipr:
        assert ipr.link_lookup(ifname='eth0.10')[0] != index

    deleted = play(vlan(dict(name='eth0.10', state='absent')), vlan(dict(name='eth0.10', state='absent')))
    assert deleted[0].changed and not deleted[1].changed
    assert read_link(host, 'eth0.10') is None


BAD_INPUT = [
    (dict(parent='eth0', vlan_id=0), 'vlan_id 0 is out of range'),
    (dict(parent='eth0', vlan_id=4095), 'vlan_id 4095 is out of range'),
    (dict(parent='eth0', vlan_id=10, protocol='802.1x'), 'protocol'),
    (dict(parent='enp129s0f1.4000', vlan_id=10), "default name 'enp129s0f1.4000.10'"),
    (dict(name='enp129s0f1.4000.10', parent='eth0', vlan_id=10), 'at most 15 bytes'),
    (dict(parent='eth0', vlan_id=10, mtu=9000), 'larger than the MTU 1500 of parent eth0'),
    (dict(parent='eth9', vlan_id=10), "parent 'eth9' does not exist"),
    (dict(parent='eth0', vlan_id=10, flags={'gvpr': True}), 'gvpr'),
    (dict(parent='eth0', vlan_id=10, egress_qos_map={6: 9}), 'egress_qos_map entry 6: 9 is out of range'),
    (dict(parent='eth0'), 'vlan_id'),
]


def test_bad_input_fails_clearly_and_touches_nothing(play, host):
    before = snapshot(host)
    results = play(*(vlan(args) for args, _fragment in BAD_INPUT))
    for (args, fragment), result in zip(BAD_INPUT, results, strict=True):
        assert result.failed, (args, result)
        assert fragment in result['msg'], (args, result['msg'])
    assert snapshot(host) == before


MGMT = dict(name='mgmt', parent='eth0', vlan_id=10, mtu=1400, flags={'gvrp': True}, egress_qos_map={6: 5},
            addresses=['172.28.244.1/24'], routes=[{'dest': '10.60.0.0/16', 'gateway': '172.28.244.254'}])


def test_recreate_onto_a_vlan_id_the_parent_already_has_changes_nothing(play, host):
    """eth0.20 exists: the kernel would refuse a second VLAN 20 on eth0 (EEXIST) after mgmt was deleted."""
    made = play(vlan(MGMT), vlan(dict(parent='eth0', vlan_id=20)))
    assert not any(r.failed for r in made), made
    before = snapshot(host)
    refused = play(vlan(dict(name='mgmt', parent='eth0', vlan_id=20, recreate=True)))[0]
    assert refused.failed, refused
    assert snapshot(host) == before, 'mgmt was deleted (or changed) before the re-creation was known to work'
    assert 'eth0.20' in refused['msg'] and 'VLAN 20' in refused['msg'], refused['msg']
    assert 'nothing was changed' in refused['msg'], refused['msg']


def test_a_re_creation_the_kernel_refuses_brings_the_old_link_back(play, host):
    """The new mgmt's route is one the kernel already has (a blackhole route): creating it fails after the old
    mgmt was deleted, and the old one comes back with its ifindex, MAC, flags, addresses and routes."""
    assert not play(vlan(MGMT))[0].failed
    with IPRoute(netns=host, flags=0) as ipr:
        ipr.route('add', dst='10.77.0.0/16', type='blackhole', table=254)
    before = snapshot(host)
    failed = play(vlan(dict(name='mgmt', parent='eth0', vlan_id=20, recreate=True,
                            routes=[{'dest': '10.77.0.0/16'}])))[0]
    assert failed.failed, failed
    assert snapshot(host) == before, 'the old mgmt was not brought back as it was'
    assert 'File exists' in failed['msg'], failed['msg']
    assert 'the old mgmt was re-created as it was' in failed['msg'], failed['msg']
