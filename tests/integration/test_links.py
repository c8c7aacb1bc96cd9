"""The aggregate links module and links_info through Ansible on this machine's kernel (macvlan).

The task runs inside a lab host (a namespace whose eth0 is a veth to the lab
switch) through the netns connection; every namespace the module creates has
the lab's prefix, so the lab removes it whatever happens. Results are read back
with raw pyroute2 (harness.read_link), not with the collection's code. VLAN
stacking and ipvlan are covered in tests/kernel/test_links.py.
"""

from __future__ import annotations

import sys

import pytest
from pyroute2 import IPRoute, netns
from underlay_dev.testing.harness import netlink_dump, read_link

LINKS = 'underlay.network.links'
INFO = 'underlay.network.links_info'
MARKER = 'underlay.network'
# The checkout as a collection (scripts/bootstrap.sh links it), for the one test of the netlink core itself.


@pytest.fixture
def host(lab):
    lab.up_switch()
    return lab.add_host('h1', address='172.28.252.45/20')


@pytest.fixture
def play(ansible, host):
    inventory = {host: {'ansible_connection': 'underlay.network.netns'}}

    def play(tasks, check=False, diff=False):
        return ansible.play(tasks, hosts=dict(inventory), check=check, diff=diff)
    return play


def links_task(state='merged', **args):
    return {'name': 'links', LINKS: dict(args, state=state), 'ignore_errors': True}


def host_config(lab):
    """A shim with a /32 and a route in the lab host, and two 'containers' on the same uplink."""
    c1, c2 = lab.ns('c1'), lab.ns('c2')
    return {
        'namespaces': [{'name': c1}, {'name': c2, 'sysctls': {'net.ipv4.ip_forward': 1}}],
        'links': [
            {'kind': 'macvlan', 'name': 'shim', 'parent': 'eth0', 'addresses': ['172.28.248.254/32'],
             'routes': [{'dest': '172.28.248.0/28'}]},
            {'kind': 'macvlan', 'name': 'eth0', 'parent': 'eth0', 'netns': c1, 'addresses': ['172.28.248.1/20']},
            {'kind': 'macvlan', 'name': 'eth0', 'parent': 'eth0', 'netns': c2, 'mode': 'private',
             'addresses': ['172.28.248.2/20']},
        ],
    }


def add_handmade_macvlan(host, name, alias=None):
    """A link this collection did not create (no marker) or that another module owns (alias)."""
    with IPRoute(netns=host, flags=0) as ipr:
        parent = ipr.link_lookup(ifname='eth0')[0]
        ipr.link('add', ifname=name, kind='macvlan', link=parent, macvlan_mode='bridge')
        if alias:
            ipr.link('set', index=ipr.link_lookup(ifname=name)[0], ifalias=alias)


def test_merged_creates_everything_check_mode_first_then_rerun_is_unchanged(lab, host, play):
    config = host_config(lab)
    c1, c2 = lab.ns('c1'), lab.ns('c2')
    before = netlink_dump(host)

    check = play([links_task(config=config)], check=True, diff=True).last
    assert not check.failed, check
    assert check.changed and check['summary']['created'] == 3
    assert netlink_dump(host) == before and c1 not in netns.listnetns(), 'check mode changed something'
    assert set(check['diff']['after']['links']) == {'shim', c1 + '/eth0', c2 + '/eth0'}

    result = play([links_task(config=config)]).last
    assert not result.failed, result
    assert result['summary'] == {'created': 3, 'updated': 0, 'recreated': 0, 'unchanged': 0, 'deleted': 0,
                                 'namespaces_changed': 2, 'namespaces_deleted': 0}
    # Namespaces first, then the links in them.
    assert result['actions'].index("create netns '%s'" % c1) < result['actions'].index(
        '%s/eth0: create macvlan eth0 in netns \'%s\'' % (c1, c1))
    shim = read_link(host, 'shim')
    assert shim['alias'] == MARKER and shim['addresses'] == ['172.28.248.254/32']
    assert read_link(c2, 'eth0')['data']['IFLA_MACVLAN_MODE'] == 'private'
    assert read_link(c1, 'eth0')['alias'] == MARKER
    assert [link['managed_by'] for link in result['links']] == [MARKER] * 3
    with IPRoute(netns=host, flags=0) as ipr:
        assert any(r.get_attr('RTA_DST') == '172.28.248.0' and r['dst_len'] == 28 for r in ipr.get_routes())

    again = play([links_task(config=config)]).last
    assert not again.failed and not again.changed, again
    assert again['summary']['unchanged'] == 3 and again['actions'] == []


def test_replaced_makes_addresses_exact_where_merged_keeps_extra_ones(lab, host, play):
    config = host_config(lab)
    assert not play([links_task(config=config)]).last.failed
    with IPRoute(netns=host, flags=0) as ipr:
        ipr.addr('add', index=ipr.link_lookup(ifname='shim')[0], address='172.28.249.9', prefixlen=32)

    merged = play([links_task(config=config)]).last
    assert not merged.failed and not merged.changed, merged
    assert '172.28.249.9/32' in read_link(host, 'shim')['addresses']

    replaced = play([links_task('replaced', config=config)], diff=True).last
    assert not replaced.failed and replaced.changed, replaced
    assert read_link(host, 'shim')['addresses'] == ['172.28.248.254/32']
    assert replaced['summary']['updated'] == 1 and replaced['summary']['unchanged'] == 2
    assert replaced['diff']['before']['links']['shim']['addresses'] == ['172.28.248.254/32', '172.28.249.9/32']


def test_overridden_prunes_only_links_with_the_marker(lab, host, play):
    config = host_config(lab)
    c1 = lab.ns('c1')
    tasks = [links_task(config=config),
             # Made by the per-object module: the same marker, so the aggregate may prune it.
             {'name': 'single', 'underlay.network.macvlan_link': {'name': 'old1', 'parent': 'eth0'}},
             {'name': 'single in c1', 'underlay.network.macvlan_link': {'name': 'old2', 'parent': 'eth0',
                                                                        'netns': c1}}]
    assert not any(r.failed for r in play(tasks).results)
    add_handmade_macvlan(host, 'handmade')
    add_handmade_macvlan(host, 'dockers', alias='underlay.network/docker_vlan_network')
    config['links'] = [link for link in config['links'] if link['name'] == 'shim' or link['netns'] == c1]
    config['namespaces'] = [{'name': c1}]

    check = play([links_task('overridden', config=config)], check=True).last
    assert not check.failed and check.changed, check
    assert read_link(host, 'old1') is not None, 'check mode deleted a link'

    result = play([links_task('overridden', config=config)]).last
    assert not result.failed, result
    # c2 is no longer declared, so it is out of scope: its marked eth0 stays (namespaces carry no marker).
    assert result['deleted'] == ['old1', c1 + '/old2']
    assert read_link(host, 'old1') is None and read_link(c1, 'old2') is None
    assert read_link(host, 'handmade') is not None, 'a link without the marker was removed'
    assert read_link(host, 'dockers') is not None, "a link docker_vlan_network owns was removed"
    assert read_link(host, 'shim') is not None and read_link(c1, 'eth0') is not None
    assert read_link(lab.ns('c2'), 'eth0') is not None

    again = play([links_task('overridden', config=config)]).last
    assert not again.failed and not again.changed, again


def test_overridden_of_one_owner_prunes_its_links_only(lab, host, play):
    """Two owners (roles) on one host: owner a's overridden with nothing declared removes a's links, in the task's
    namespace and in a declared one, and leaves b's, the ownerless ones and the handmade ones."""
    c1 = lab.ns('c1')
    a_links = {'namespaces': [{'name': c1}],
               'links': [{'kind': 'macvlan', 'name': 'a1', 'parent': 'eth0'},
                         {'kind': 'macvlan', 'name': 'eth0', 'parent': 'eth0', 'netns': c1}]}
    b_links = {'links': [{'kind': 'macvlan', 'name': 'b1', 'parent': 'eth0'},
                         # a's link declared by b: converged (an address added), a's marker kept.
                         {'kind': 'macvlan', 'name': 'a1', 'parent': 'eth0', 'addresses': ['172.28.250.1/32']}]}
    ownerless = {'links': [{'kind': 'macvlan', 'name': 'plain', 'parent': 'eth0'}]}
    made_a, made_b, made_plain = play([links_task(owner='a', config=a_links), links_task(owner='b', config=b_links),
                                       links_task(config=ownerless)]).results
    assert not made_a.failed and made_a['marker'] == 'underlay.network/a', made_a
    assert [link['managed_by'] for link in made_a['links']] == ['underlay.network/a'] * 2
    assert not made_b.failed and made_b['summary']['created'] == 1 and made_b['summary']['updated'] == 1, made_b
    assert not made_plain.failed and made_plain['marker'] == MARKER, made_plain
    add_handmade_macvlan(host, 'handmade')
    assert read_link(host, 'a1')['alias'] == 'underlay.network/a', "b's call took over a's link"
    assert read_link(host, 'a1')['addresses'] == ['172.28.250.1/32']
    assert read_link(c1, 'eth0')['alias'] == 'underlay.network/a'
    assert read_link(host, 'b1')['alias'] == 'underlay.network/b'

    # Without an owner, the empty overridden/deleted touch only links marked exactly underlay.network.
    ownerless_prune, bad = play([links_task('overridden', config={'namespaces': [{'name': c1}]}),
                                 links_task('overridden', owner='Role-A')]).results
    assert not ownerless_prune.failed and ownerless_prune['deleted'] == ['plain'], ownerless_prune
    assert bad.failed and "owner 'Role-A' is not valid" in bad['msg'], bad

    check = play([links_task('overridden', owner='a', config={'namespaces': [{'name': c1}]})], check=True).last
    assert not check.failed and check['deleted'] == ['a1', c1 + '/eth0'], check
    assert read_link(host, 'a1') is not None, 'check mode deleted a link'
    pruned = play([links_task('overridden', owner='a', config={'namespaces': [{'name': c1}]})]).last
    assert not pruned.failed and pruned['deleted'] == ['a1', c1 + '/eth0'], pruned
    assert read_link(host, 'a1') is None and read_link(c1, 'eth0') is None
    assert read_link(host, 'b1')['alias'] == 'underlay.network/b'
    assert read_link(host, 'handmade')['alias'] is None

    again, b_all = play([links_task('overridden', owner='a', config={'namespaces': [{'name': c1}]}),
                         links_task('deleted', owner='b')]).results
    assert not again.failed and not again.changed, again
    assert not b_all.failed and b_all['deleted'] == ['b1'], b_all
    assert read_link(host, 'b1') is None and read_link(host, 'handmade') is not None


def test_a_link_another_owner_re_creates_keeps_its_marker(host, play):
    with IPRoute(netns=host, flags=0) as ipr:  # a second parent in the lab host
        ipr.link('add', ifname='v0', kind='veth', peer={'ifname': 'v1'})
    moved = {'kind': 'macvlan', 'name': 'm', 'parent': 'v0'}
    made, recreated, fresh = play([
        links_task(owner='a', config={'links': [{'kind': 'macvlan', 'name': 'm', 'parent': 'eth0'}]}),
        # Another parent cannot be set in place: b re-creates a's link, which stays a's.
        links_task(owner='b', recreate=True, config={'links': [moved]}),
        links_task(owner='b', config={'links': [{'kind': 'macvlan', 'name': 'n', 'parent': 'v0'}]}),
    ]).results
    assert not made.failed and not recreated.failed and recreated['summary']['recreated'] == 1, recreated
    assert recreated['links'][0]['managed_by'] == 'underlay.network/a'
    assert read_link(host, 'm')['alias'] == 'underlay.network/a'
    assert read_link(host, 'm')['link'] == ipr_index(host, 'v0')
    assert not fresh.failed and read_link(host, 'n')['alias'] == 'underlay.network/b', fresh


def test_deleted_removes_declared_links_and_namespaces_or_everything_marked(lab, host, play):
    config = host_config(lab)
    c1, c2 = lab.ns('c1'), lab.ns('c2')
    assert not play([links_task(config=config)]).last.failed
    add_handmade_macvlan(host, 'handmade')

    one = play([links_task('deleted', config={'namespaces': [{'name': c2}],
                                              'links': [{'kind': 'macvlan', 'name': 'eth0', 'netns': c1}]})]).last
    assert not one.failed, one
    assert c2 not in netns.listnetns() and c1 in netns.listnetns()
    assert read_link(c1, 'eth0') is None and read_link(host, 'shim') is not None

    everything = play([links_task('deleted')]).last
    assert not everything.failed, everything
    assert everything['deleted'] == ['shim']
    assert read_link(host, 'shim') is None and read_link(host, 'handmade') is not None

    again = play([links_task('deleted')]).last
    assert not again.failed and not again.changed, again


def test_bad_input_fails_before_anything_changes(lab, host, play):
    c1 = lab.ns('c1')
    good = {'kind': 'macvlan', 'name': 'fine', 'parent': 'eth0'}
    cases = {
        'vlan_id applies to kind vlan only': [good, {'kind': 'macvlan', 'name': 'm', 'parent': 'eth0',
                                                     'vlan_id': 10}],
        'both declare fine': [good, dict(good)],
        'parent is required': [good, {'kind': 'macvlan', 'name': 'm'}],
        "netns '%s' does not exist and is not in config.namespaces" % lab.ns('nope'):
            [good, {'kind': 'macvlan', 'name': 'm', 'parent': 'eth0', 'netns': lab.ns('nope')}],
        "parent 'nosuch' does not exist": [good, {'kind': 'macvlan', 'name': 'm', 'parent': 'nosuch'}],
        'config.links[1] (m): addresses': [good, {'kind': 'macvlan', 'name': 'm', 'parent': 'eth0',
                                                  'addresses': ['10.0.0.300/24']}],
        'mtu 9000 is larger than the MTU 1500 of parent eth0': [good, {'kind': 'macvlan', 'name': 'm',
                                                                       'parent': 'eth0', 'mtu': 9000}],
    }
    before = netlink_dump(host)
    run = play([links_task(config={'namespaces': [{'name': c1}], 'links': links}) for links in cases.values()])
    for expected, result in zip(cases, run.results, strict=True):
        assert result.failed and expected in result['msg'], (expected, result.get('msg'))
    assert netlink_dump(host) == before and c1 not in netns.listnetns(), 'a failed call changed something'


def add_blackhole(namespace, dest):
    """A route to ``dest`` through no link: the kernel refuses another route to it with the same metric (EEXIST),
    a refusal no check before the change can see coming, so it stops a call half-way."""
    with IPRoute(netns=namespace, flags=0) as ipr:
        ipr.route('add', dst=dest, type='blackhole', table=254)


def test_a_kernel_refusal_midway_reports_what_was_applied(lab, host, play):
    """The second link's route is one the kernel already has (a blackhole route): it refuses it (EEXIST)."""
    add_blackhole(host, '10.77.0.0/16')
    links = [{'kind': 'macvlan', 'name': 'first', 'parent': 'eth0', 'addresses': ['172.28.250.1/32']},
             {'kind': 'macvlan', 'name': 'second', 'parent': 'eth0', 'addresses': ['172.28.250.2/32'],
              'routes': [{'dest': '10.77.0.0/16'}]},
             {'kind': 'macvlan', 'name': 'third', 'parent': 'eth0'}]
    result = play([links_task(config={'links': links})]).last
    assert result.failed and result.changed, result
    assert result['failed_object'] == 'link second' and result['not_attempted'] == ['third']
    assert 'first: create macvlan first' in result['applied'][0]
    assert "second: create macvlan second in the task's network namespace" in result['applied']
    assert 'File exists' in result['msg'] and 'not attempted: third' in result['msg']
    assert 'the new link second was removed again' in result['msg']
    # Exactly what the result says: first converged, second removed again, third not made.
    assert read_link(host, 'first')['addresses'] == ['172.28.250.1/32']
    assert read_link(host, 'second') is None and read_link(host, 'third') is None

    links[1]['routes'] = [{'dest': '10.78.0.0/16'}]
    fixed = play([links_task(config={'links': links})]).last
    assert not fixed.failed and fixed['summary']['created'] == 2 and fixed['summary']['unchanged'] == 1, fixed


def test_a_gateway_that_is_not_on_link_fails_the_call_before_any_change(lab, host, play):
    config = host_config(lab)
    assert not play([links_task(config=config)]).last.failed
    config['links'].insert(0, {'kind': 'macvlan', 'name': 'first', 'parent': 'eth0'})
    config['links'][1]['addresses'] = ['172.28.248.254/32', '172.28.250.9/24']
    config['links'][1]['routes'] = [{'dest': '10.98.0.0/16', 'gateway': '192.0.2.1'}]
    before = netlink_dump(host)
    refused = play([links_task(config=config)]).last
    assert refused.failed, refused
    assert netlink_dump(host) == before, 'the refused call changed something'
    assert 'gateway 192.0.2.1 is not on-link through shim' in refused['msg'], refused['msg']


def test_a_refusal_half_way_puts_the_existing_link_back(lab, host, play):
    """shim's MTU is set and an address added, then the kernel refuses its route: shim is put back as it was,
    the link converged before it stays, and the result says so."""
    config = host_config(lab)
    assert not play([links_task(config=config)]).last.failed
    add_blackhole(host, '10.77.0.0/16')
    before = netlink_dump(host)
    config['links'].insert(0, {'kind': 'macvlan', 'name': 'first', 'parent': 'eth0'})
    config['links'][1].update(mtu=1400, addresses=['172.28.248.254/32', '172.28.250.9/24'],
                              routes=[{'dest': '172.28.248.0/28'}, {'dest': '10.77.0.0/16'}])
    failed = play([links_task(config=config)]).last
    assert failed.failed and failed['failed_object'] == 'link shim', failed
    assert read_link(host, 'first') is not None
    ipr_delete(host, 'first')
    assert netlink_dump(host) == before, 'the failing link was not put back as it was'
    assert [action.split(':')[0] for action in failed['applied']] == ['first', 'first']
    assert 'File exists' in failed['msg'] and 'shim was put back as it was' in failed['msg'], failed['msg']
    assert 'shim: set mtu 1400' in failed['undone'] and all(a.startswith('shim: ') for a in failed['undone']), failed


# The netlink core run in-process inside the lab host (the task's namespace there), with a fault injected.
CLEANUP_SCRIPT = r'''
import json, sys
from pyroute2 import IPRoute
from ansible_collections.underlay.network.plugins.module_utils._common.errors import LinkError
from ansible_collections.underlay.network.plugins.module_utils._kernel import netlink
from ansible_collections.underlay.network.plugins.module_utils._links.change import LinkOptions
from ansible_collections.underlay.network.plugins.module_utils._links.desired import desired_link
from ansible_collections.underlay.network.plugins.module_utils._links.kinds import KINDS
from ansible_collections.underlay.network.plugins.module_utils._links.sessions import Sessions
from ansible_collections.underlay.network.plugins.module_utils._links.single import reconcile_link

real_set_link = netlink.Namespace.set_link

def set_link(self, index, what, **attrs):
    if what.startswith('mark '):  # the parent goes away meanwhile, and the kernel removes the new link with it
        with IPRoute() as ipr:
            ipr.link('del', index=ipr.link_lookup(ifname='v0')[0])
    return real_set_link(self, index, what, **attrs)

netlink.Namespace.set_link = set_link
params = dict(name='m', parent='v0', addresses=['172.28.250.3/32'], mode='bridge')
desired = desired_link(params, KINDS['macvlan'])
try:
    with Sessions() as sessions:
        reconcile_link(sessions, desired, KINDS['macvlan'], LinkOptions())
    print(json.dumps({'msg': None}))
except LinkError as exc:
    print(json.dumps({'msg': str(exc)}))
'''


def test_a_clean_up_that_finds_the_link_gone_keeps_the_real_error(host):
    import json
    import subprocess
    with IPRoute(netns=host, flags=0) as ipr:
        ipr.link('add', ifname='v0', kind='veth', peer={'ifname': 'v1'})
    before = netlink_dump(host)
    out = subprocess.run(['nsenter', '--net=/run/netns/' + host, sys.executable, '-c', CLEANUP_SCRIPT],
                         capture_output=True, text=True, timeout=60, check=True)
    msg = json.loads(out.stdout)['msg']
    assert msg is not None, out
    assert 'mark m as created by this collection' in msg and 'No such device' in msg, msg
    assert 'the new link m is gone already' in msg, msg
    assert read_link(host, 'm') is None and read_link(host, 'v0') is None
    assert len(netlink_dump(host)['links']) == len(before['links']) - 2  # v0 and v1, nothing else


def test_links_info_reports_kinds_namespaces_and_the_marker(lab, host, play):
    config = host_config(lab)
    c1 = lab.ns('c1')
    add_handmade_macvlan(host, 'handmade')
    run = play([links_task(config=config),
                {'name': 'info', INFO: {'namespaces': [c1]}, 'register': 'info'},
                {'name': 'managed', INFO: {'managed_only': True, 'kinds': ['macvlan']}},
                {'name': 'missing', INFO: {'namespaces': [lab.ns('nope')]}, 'ignore_errors': True}])
    created, info, managed, missing = run.results
    assert not created.failed and not info.failed and not info.changed, info
    by_id = {(link['netns'], link['name']): link for link in info['links']}
    # The lab host's uplink eth0 is a veth (virtual, so reported); lo has no kind and is left out.
    assert set(by_id) == {(None, 'eth0'), (None, 'shim'), (None, 'handmade'), (c1, 'eth0')}
    assert by_id[(None, 'eth0')]['kind'] == 'veth' and by_id[(None, 'eth0')]['managed_by'] is None
    shim = by_id[(None, 'shim')]
    assert (shim['kind'], shim['mode'], shim['parent'], shim['managed_by']) == ('macvlan', 'bridge', 'eth0', MARKER)
    assert shim['addresses'] == ['172.28.248.254/32']
    assert shim['routes'] == [{'dest': '172.28.248.0/28', 'gateway': None, 'metric': 0}]
    assert by_id[(c1, 'eth0')]['parent'] == 'eth0' and by_id[(c1, 'eth0')]['addresses'] == ['172.28.248.1/20']
    assert by_id[(None, 'handmade')]['managed_by'] is None
    assert [link['name'] for link in managed['links']] == ['shim']
    assert missing.failed and "netns '%s' does not exist" % lab.ns('nope') in missing['msg']


def test_a_chosen_ifindex_that_got_taken_falls_back_to_the_kernels_choice(host):
    """The aggregate (whole namespaces) gives new links an ifindex chosen from the dump, no lookup per link. If
    another link took it meanwhile, the kernel refuses (EBUSY) and the kernel picks the index instead."""
    from ansible_collections.underlay.network.plugins.module_utils._kernel.netlink import Namespace

    with Namespace(host, whole=True) as session, IPRoute(netns=host, flags=0) as ipr:
        parent = ipr.link_lookup(ifname='eth0')[0]
        next_free = max(msg['index'] for msg in session.links()) + 1
        ipr.link('add', ifname='squatter', kind='macvlan', link=parent, index=next_free)  # behind its back
        index, up = session.create_link('m1', {'kind': 'macvlan', 'macvlan_mode': 'bridge'}, parent_index=parent,
                                        up=True)
        second, _up = session.create_link('m2', {'kind': 'macvlan', 'macvlan_mode': 'bridge'}, parent_index=parent)
    assert index is None and up, 'the taken index must be given up, and the kernel asked to choose'
    assert read_link(host, 'm1')['up'] and read_link(host, 'squatter') is not None
    assert second == ipr_index(host, 'm2') and second not in (next_free, ipr_index(host, 'm1'))


def ipr_index(ns, name):
    with IPRoute(netns=ns, flags=0) as ipr:
        return ipr.link_lookup(ifname=name)[0]


def ipr_delete(ns, name):
    with IPRoute(netns=ns, flags=0) as ipr:
        ipr.link('del', index=ipr.link_lookup(ifname=name)[0])


def add_admin_link(host, name='mgmt', address='172.28.250.5/24', route=('10.60.0.0/16', '172.28.250.1'),
                   alias=None):
    """A macvlan an admin made by hand (no marker, or ``alias``), carrying an address and a route through it."""
    add_handmade_macvlan(host, name, alias=alias)
    with IPRoute(netns=host, flags=0) as ipr:
        index = ipr.link_lookup(ifname=name)[0]
        ipr.link('set', index=index, state='up')
        ip, prefixlen = address.split('/')
        ipr.addr('add', index=index, address=ip, prefixlen=int(prefixlen))
        dest, gateway = route
        dst, dst_len = dest.split('/')
        ipr.route('add', dst=dst, dst_len=int(dst_len), gateway=gateway, oif=index, table=254)


@pytest.mark.parametrize('state', ['replaced', 'overridden'])
def test_replaced_never_strips_a_link_it_did_not_create_unless_told_to_adopt_it(host, play, state):
    """Issue 13 item 2: an existing link without the call's marker (an admin's, carrying the host's management
    address and a route) is refused by replaced/overridden when they would remove what it carries; nothing
    changes. adopt: true takes it over: converged exactly as declared, and marked."""
    add_admin_link(host)
    declared = {'kind': 'macvlan', 'name': 'mgmt', 'parent': 'eth0', 'addresses': ['172.28.250.9/24']}
    before, mgmt = netlink_dump(host), read_link(host, 'mgmt')
    assert mgmt['alias'] is None and mgmt['routes'] == [('10.60.0.0', 16, '172.28.250.1')]

    for check in (True, False):
        refused = play([links_task(state, config={'links': [declared]})], check=check).last
        assert refused.failed, refused
        assert netlink_dump(host) == before, 'the refused call changed something'
        assert read_link(host, 'mgmt') == mgmt
        for what in ('mgmt', 'not created by this call', '172.28.250.5/24', '10.60.0.0/16 via 172.28.250.1',
                     'adopt: true', 'nothing was changed'):
            assert what in refused['msg'], (what, refused['msg'])

    # merged removes nothing and does not claim the link: the address is added, the marker is not.
    merged = play([links_task('merged', config={'links': [declared]})]).last
    assert not merged.failed and merged.changed, merged
    assert read_link(host, 'mgmt')['addresses'] == ['172.28.250.5/24', '172.28.250.9/24']
    assert read_link(host, 'mgmt')['alias'] is None

    adopted = play([links_task(state, config={'links': [dict(declared, adopt=True)]})], diff=True).last
    assert not adopted.failed and adopted.changed, adopted
    after = read_link(host, 'mgmt')
    assert after['addresses'] == ['172.28.250.9/24'] and after['routes'] == [] and after['alias'] == MARKER, after
    assert adopted['links'][0]['managed_by'] == MARKER
    assert adopted['diff']['before']['links']['mgmt']['managed_by'] is None

    # Marked now: converged without adopt from here on.
    again = play([links_task(state, config={'links': [declared]})]).last
    assert not again.failed and not again.changed, again


def test_replaced_converges_an_unmarked_link_that_loses_nothing_and_refuses_another_owners(host, play):
    """A link without the marker that carries only what is declared loses nothing: converged, not marked.
    Another owner's link is not the call's either: replaced refuses to strip it, adopt takes it over."""
    add_admin_link(host, 'plain', address='172.28.250.5/24', route=('10.60.0.0/16', '172.28.250.1'))
    add_admin_link(host, 'theirs', address='172.28.251.5/24', route=('10.61.0.0/16', '172.28.251.1'),
                   alias='underlay.network/b')
    plain = {'kind': 'macvlan', 'name': 'plain', 'parent': 'eth0', 'addresses': ['172.28.250.5/24'],
             'routes': [{'dest': '10.60.0.0/16', 'gateway': '172.28.250.1'}]}
    fine = play([links_task('replaced', owner='a', config={'links': [plain]})]).last
    assert not fine.failed and not fine.changed, fine
    assert read_link(host, 'plain')['alias'] is None

    theirs = {'kind': 'macvlan', 'name': 'theirs', 'parent': 'eth0', 'addresses': ['172.28.251.5/24']}
    before = netlink_dump(host)
    refused = play([links_task('replaced', owner='a', config={'links': [theirs]})]).last
    assert refused.failed and 'underlay.network/b' in refused['msg'] and '10.61.0.0/16' in refused['msg'], refused
    assert netlink_dump(host) == before
    adopted = play([links_task('replaced', owner='a', config={'links': [dict(theirs, adopt=True)]})]).last
    assert not adopted.failed, adopted
    assert read_link(host, 'theirs')['alias'] == 'underlay.network/a' and read_link(host, 'theirs')['routes'] == []

    # merged with adopt marks the link and removes nothing.
    marked = play([links_task('merged', owner='a', config={'links': [dict(plain, addresses=[], adopt=True)]})]).last
    assert not marked.failed and marked.changed, marked
    assert marked['actions'] == ['plain: adopt: mark it underlay.network/a'], marked['actions']
    assert read_link(host, 'plain')['alias'] == 'underlay.network/a'
    assert read_link(host, 'plain')['addresses'] == ['172.28.250.5/24']


# Batched deletions (issue 13 item 12), run in-process inside the lab host with another "run" acting meanwhile.
BATCH_SCRIPT = r'''
import json, sys
scenario, victims = sys.argv[1], sys.argv[2:]
from pyroute2 import IPRoute
from ansible_collections.underlay.network.plugins.module_utils._common.errors import AggregateError
from ansible_collections.underlay.network.plugins.module_utils._kernel import netlink
from ansible_collections.underlay.network.plugins.module_utils._links.host_apply import apply_host
from ansible_collections.underlay.network.plugins.module_utils._links.host_plan import host_options, plan_host
from ansible_collections.underlay.network.plugins.module_utils._links.sessions import Sessions

if scenario == 'group':  # another run puts its link in the group this run picked (as two runs did with one number)
    real_call, seen = netlink.Namespace._call, []

    def _call(self, what, func, *args, **kwargs):
        if args[:1] == ('set',) and 'group' in kwargs and not seen:
            seen.append(kwargs['group'])
            with IPRoute() as ipr:
                ipr.link('set', index=ipr.link_lookup(ifname='theirs')[0], group=kwargs['group'])
        return real_call(self, what, func, *args, **kwargs)
    netlink.Namespace._call = _call
try:
    with Sessions(whole=True) as sessions:
        plan = plan_host(sessions, {}, 'deleted', host_options('deleted'))
        planned = sorted(state['name'] for state, _depth in plan.deletions)
        if scenario == 'vanished':  # another process deletes links after the plan, before the call gets to them
            with IPRoute() as ipr:
                for name in victims:
                    ipr.link('del', index=ipr.link_lookup(ifname=name)[0])
        out = {'planned': planned, 'actions': apply_host(sessions, plan)}
except AggregateError as exc:
    out = {'planned': planned, 'msg': str(exc)}
except Exception as exc:
    out = {'planned': planned, 'error': '%s: %s' % (type(exc).__name__, exc)}
print(json.dumps(out))
'''


def run_batch(host, scenario, *victims):
    import json
    import subprocess
    out = subprocess.run(['nsenter', '--net=/run/netns/' + host, sys.executable, '-c', BATCH_SCRIPT,
                          scenario, *victims], capture_output=True, text=True, timeout=60,
                         check=False)
    assert out.returncode == 0, out
    return json.loads(out.stdout)


@pytest.mark.parametrize('victims', [('d2',), ('d1', 'd2', 'd3'), ('d1',)])
def test_a_batched_deletion_where_links_vanished_meanwhile_deletes_the_rest(host, victims):
    names = ['d1', 'd2', 'd3'] if len(victims) > 1 or victims == ('d2',) else ['d1']
    for name in names:
        add_handmade_macvlan(host, name, alias=MARKER)
    add_handmade_macvlan(host, 'handmade')
    out = run_batch(host, 'vanished', *victims)
    assert out['planned'] == names, out
    assert 'error' not in out and 'msg' not in out, out
    assert all(read_link(host, name) is None for name in names)
    assert read_link(host, 'handmade') is not None
    for name in victims:
        assert '%s: gone already' % name in out['actions'], out['actions']


def test_a_batched_deletion_never_takes_a_link_another_run_put_in_its_group(host):
    for name in ('g1', 'g2'):
        add_handmade_macvlan(host, name, alias=MARKER)
    add_handmade_macvlan(host, 'theirs')
    out = run_batch(host, 'group')
    assert out['planned'] == ['g1', 'g2'], out
    assert read_link(host, 'theirs') is not None, "a group delete took another run's link"
    assert 'error' not in out and 'msg' not in out, out
    assert read_link(host, 'g1') is None and read_link(host, 'g2') is None
