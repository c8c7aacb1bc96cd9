"""The aggregate links module on the full kernel: VLANs, QinQ and ipvlan, stacking order both ways.

Read back with raw pyroute2 (harness.read_link). One Ansible run costs several
seconds in the box, so each play batches steps whose effects are checked together.
"""

from __future__ import annotations

from pyroute2 import IPRoute
from underlay_dev.testing.harness import read_link

LINKS = 'underlay.network.links'
ETH_P_8021AD = 0x88A8


def links(state='merged', **args):
    return {LINKS: dict(args, state=state)}


def declared(c1):
    """Listed deepest first on purpose: the module must order them itself."""
    return [
        {'kind': 'vlan', 'name': 'eth0.100.10', 'parent': 'eth0.100', 'vlan_id': 10},
        {'kind': 'macvlan', 'name': 'shim10', 'parent': 'eth0.10', 'addresses': ['172.28.244.254/32'],
         'routes': [{'dest': '172.28.244.0/28'}]},
        {'kind': 'ipvlan', 'name': 'eth0', 'parent': 'eth0.20', 'netns': c1, 'mode': 'l2',
         'addresses': ['172.28.245.10/24']},
        {'kind': 'vlan', 'parent': 'eth0', 'vlan_id': 10, 'addresses': ['172.28.244.1/24']},
        {'kind': 'vlan', 'parent': 'eth0', 'vlan_id': 20},
        {'kind': 'vlan', 'name': 'eth0.100', 'parent': 'eth0', 'vlan_id': 100, 'protocol': '802.1ad'},
    ]


def index(ns, name):
    with IPRoute(netns=ns, flags=0) as ipr:
        return ipr.link_lookup(ifname=name)[0]


def position(actions, prefix):
    return next(i for i, action in enumerate(actions) if action.startswith(prefix))


def test_stacked_links_are_created_parents_first_and_rerun_is_unchanged(play, host, lab):
    c1 = lab.ns('c1')
    config = {'namespaces': [{'name': c1}], 'links': declared(c1)}
    created, again, info = play(links(config=config), links(config=config),
                                {'underlay.network.links_info': {'namespaces': [c1], 'kinds': ['vlan', 'ipvlan']}})
    assert not created.failed and created['summary']['created'] == 6, created
    actions = created['actions']
    assert position(actions, 'eth0.100: create') < position(actions, 'eth0.100.10: create')
    assert position(actions, 'eth0.10: create') < position(actions, 'shim10: create')
    assert position(actions, 'eth0.20: create') < position(actions, c1 + '/eth0: create')

    qinq = read_link(host, 'eth0.100.10')
    assert qinq['data']['IFLA_VLAN_ID'] == 10 and qinq['link'] == index(host, 'eth0.100')
    assert read_link(host, 'eth0.100')['data']['IFLA_VLAN_PROTOCOL'] == ETH_P_8021AD
    assert read_link(host, 'shim10')['link'] == index(host, 'eth0.10')
    assert read_link(host, 'eth0.10')['addresses'] == ['172.28.244.1/24']
    container = read_link(c1, 'eth0')
    assert container['kind'] == 'ipvlan' and container['addresses'] == ['172.28.245.10/24']
    assert container['link'] == index(host, 'eth0.20') and container['link_netnsid'] is not None

    assert not again.failed and not again.changed and again['summary']['unchanged'] == 6, again
    found = {(link['netns'], link['name']): link for link in info['links']}
    assert set(found) == {(None, 'eth0.10'), (None, 'eth0.20'), (None, 'eth0.100'), (None, 'eth0.100.10'),
                          (c1, 'eth0')}
    assert (found[(None, 'eth0.100')]['vlan_id'], found[(None, 'eth0.100')]['protocol']) == (100, '802.1ad')
    assert (found[(c1, 'eth0')]['mode'], found[(c1, 'eth0')]['flag'], found[(c1, 'eth0')]['parent']) == \
        ('l2', 'bridge', 'eth0.20')


def test_pruning_goes_deepest_first_and_never_takes_unmarked_links_along(play, host, lab):
    c1 = lab.ns('c1')
    config = {'namespaces': [{'name': c1}], 'links': declared(c1)}
    busy = {'kind': 'macvlan', 'name': 'busy', 'parent': 'eth0.20'}  # eth0.20 has an ipvlan port: EBUSY
    created, refused_single, refused_whole = play(
        links(config=config),
        {'underlay.network.macvlan_link': {'name': 'busy', 'parent': 'eth0.20'}},
        links(config={'links': [busy]}),
    )
    assert not created.failed, created
    for refused in (refused_single, refused_whole):  # refused before any change, naming the ipvlan there
        assert refused.failed and 'the parent has ipvlan links already (eth0 (in netns' in refused['msg'], refused
        assert 'nothing was changed' in refused['msg'] and refused['actions'] == []
    assert read_link(host, 'busy') is None
    with IPRoute(netns=host, flags=0) as ipr:  # someone's own link on our VLAN: it carries no marker
        # (a VLAN: eth0.20 has an ipvlan port, and the kernel refuses a macvlan next to it)
        ipr.link('add', ifname='hand', kind='vlan', vlan_id=5, link=ipr.link_lookup(ifname='eth0.20')[0])

    keep = [link for link in declared(c1) if link.get('name') == 'shim10' or link.get('vlan_id') == 10
            and link['parent'] == 'eth0']
    refused, pruned, everything = play(
        # eth0.20 is no longer declared, but 'hand' sits on it: refused, nothing changed.
        links('overridden', config={'namespaces': [{'name': c1}], 'links': keep}),
        # eth0.20 declared again: the ipvlan in c1 and the QinQ pair go, the inner VLAN first; 'hand' stays.
        links('overridden', config={'namespaces': [{'name': c1}],
                                    'links': keep + [{'kind': 'vlan', 'parent': 'eth0', 'vlan_id': 20}]}),
        # Everything marked, but 'hand' is on eth0.20 again: refused.
        links('deleted'),
    )
    assert refused.failed and 'would also remove the links stacked on them' in refused['msg'], refused
    assert 'hand (on eth0.20)' in refused['msg'] and refused['stacked'] == ['hand (on eth0.20)']
    assert not pruned.failed, pruned
    assert pruned['deleted'] == ['eth0.100', 'eth0.100.10', c1 + '/eth0']
    assert position(pruned['actions'], 'eth0.100.10: delete') < position(pruned['actions'], 'eth0.100: delete')
    assert read_link(host, 'eth0.100') is None and read_link(host, 'eth0.100.10') is None
    assert read_link(c1, 'eth0') is None and read_link(host, 'hand') is not None
    assert everything.failed and 'hand (on eth0.20)' in everything['msg'], everything
    assert read_link(host, 'eth0.10') is not None, 'a refused deletion removed something'


def test_recreating_a_vlan_recreates_the_links_on_it(play, host, lab):
    vlan = {'kind': 'vlan', 'parent': 'eth0', 'vlan_id': 10, 'addresses': ['172.28.244.1/24']}
    shim = {'kind': 'macvlan', 'name': 'shim10', 'parent': 'eth0.10', 'addresses': ['172.28.244.254/32']}
    changed = dict(vlan, protocol='802.1ad')
    created, refused, recreated = play(
        links(config={'links': [vlan, shim]}),
        links(config={'links': [changed, shim]}),
        links(config={'links': [changed, shim]}, recreate=True),
    )
    assert not created.failed, created
    assert refused.failed and 'cannot be changed in place' in refused['msg'] and 'eth0.10' in refused['msg']
    assert not recreated.failed, recreated
    assert recreated['summary']['recreated'] == 1 and recreated['summary']['created'] == 1
    assert read_link(host, 'eth0.10')['data']['IFLA_VLAN_PROTOCOL'] == ETH_P_8021AD
    shim_now = read_link(host, 'shim10')
    assert shim_now['link'] == index(host, 'eth0.10') and shim_now['addresses'] == ['172.28.244.254/32']


def test_owners_prune_their_own_links_and_never_a_vlan_another_owner_stacks_on(play, host):
    # The roles' split: vlan_host owns the VLANs, shim the shims on them (option owner).
    vlans = {'links': [{'kind': 'vlan', 'parent': 'eth0', 'vlan_id': vlan_id} for vlan_id in (10, 20)]}
    shims = {'links': [{'kind': 'macvlan', 'name': 'shim10', 'parent': 'eth0.10', 'addresses': ['172.28.244.254/32']}]}
    made_vlans, made_shims, refused, refused_delete, shim_pruned, pruned20, pruned10 = play(
        links('overridden', owner='vlan_host', config=vlans),
        links('overridden', owner='shim', config=shims),
        links('overridden', owner='vlan_host', config={}),  # refused: shim10 sits on eth0.10
        links('deleted', owner='vlan_host'),  # refused too
        links('overridden', owner='shim', config={}),  # the shim role prunes its shim, nothing else
        links('overridden', owner='vlan_host', config={'links': vlans['links'][:1]}),  # eth0.20 goes
        links('overridden', owner='vlan_host', config={}))  # nothing on eth0.10 now: it goes
    assert not made_vlans.failed and not made_shims.failed, (made_vlans, made_shims)
    assert [link['managed_by'] for link in made_vlans['links']] == ['underlay.network/vlan_host'] * 2
    assert made_shims['links'][0]['managed_by'] == 'underlay.network/shim'
    for result in (refused, refused_delete):
        assert result.failed and result['stacked'] == ['shim10 (on eth0.10)'], result
    assert 'removing eth0.10, eth0.20 would also remove' in refused['msg']
    assert not shim_pruned.failed and shim_pruned['deleted'] == ['shim10'], shim_pruned
    assert not pruned20.failed and pruned20['deleted'] == ['eth0.20'], pruned20
    assert not pruned10.failed and pruned10['deleted'] == ['eth0.10'], pruned10
    assert read_link(host, 'eth0.10') is None


def test_a_vlan_carrying_a_link_in_a_namespace_without_a_name_is_never_pruned(play, host, unnamed_namespace):
    # A Docker container's macvlan on the VLAN lives in a namespace without a name: pruning the VLAN would
    # take the container off the network, so it is refused, naming the link and the process.
    vlan10 = {'kind': 'vlan', 'parent': 'eth0', 'vlan_id': 10}
    made, = play(links('overridden', owner='vlan_host', config={'links': [vlan10]}))
    assert made.changed and not made.failed, made
    with IPRoute(netns=host, flags=0) as ipr:
        ipr.link('add', ifname='ctr0', kind='macvlan', macvlan_mode='bridge', link=ipr.link_lookup(ifname='eth0.10')[0])
    pid = unnamed_namespace(host, 'ctr0')
    refused, = play(links('overridden', owner='vlan_host', config={}))
    assert refused.failed, refused
    assert refused['stacked'] == ['ctr0 in the network namespace of process %d (sleep) (on eth0.10)' % pid], refused
    assert read_link(host, 'eth0.10') is not None


def test_an_admins_vlan_with_the_management_address_is_never_stripped_unless_adopted(play, host):
    """Issue 13 item 2 as reported: eth0.100 exists without the marker, carrying the host's management address and
    default route. vlan_host's replaced (and overridden) declaring VLAN 100 is refused and changes nothing; with
    adopt: true the VLAN is converged as declared and marked."""
    from underlay_dev.testing.harness import netlink_dump
    with IPRoute(netns=host, flags=0) as ipr:
        ipr.link('add', ifname='eth0.100', kind='vlan', link=ipr.link_lookup(ifname='eth0')[0], vlan_id=100)
        vlan = ipr.link_lookup(ifname='eth0.100')[0]
        ipr.link('set', index=vlan, state='up')
        ipr.addr('add', index=vlan, address='172.28.250.5', prefixlen=24)
        ipr.route('add', dst='default', gateway='172.28.250.1', oif=vlan, table=254)
    declared = {'kind': 'vlan', 'parent': 'eth0', 'vlan_id': 100, 'addresses': ['172.28.244.1/24']}
    before, mgmt = netlink_dump(host), read_link(host, 'eth0.100')
    replaced, overridden = play(links('replaced', owner='vlan_host', config={'links': [declared]}),
                                links('overridden', owner='vlan_host', config={'links': [declared]}))
    for refused in (replaced, overridden):
        assert refused.failed, refused
        for what in ('eth0.100', 'no marker', '172.28.250.5/24', '0.0.0.0/0 via 172.28.250.1', 'adopt: true'):
            assert what in refused['msg'], (what, refused['msg'])
    assert netlink_dump(host) == before and read_link(host, 'eth0.100') == mgmt, 'a refused call changed something'

    adopted, = play(links('replaced', owner='vlan_host', config={'links': [dict(declared, adopt=True)]}))
    assert not adopted.failed and adopted.changed, adopted
    after = read_link(host, 'eth0.100')
    assert after['alias'] == 'underlay.network/vlan_host' and after['addresses'] == ['172.28.244.1/24'], after
    assert after['routes'] == []
