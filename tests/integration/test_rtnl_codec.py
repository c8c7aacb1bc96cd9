"""The collection's own rtnetlink codec (module_utils/_kernel/rtnl_codec.py) against pyroute2, on this machine's kernel.

The codec decodes the dumps of links, addresses and routes and encodes the requests that create macvlan
links, mark them and address them. Every test here builds a namespace with pyroute2, reads it both ways (or
makes the same links both ways) and compares field by field: a codec that misreads an attribute, or sends
a request the kernel reads otherwise than pyroute2's, fails here.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
import sys
import time

import pytest
from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from ansible_collections.underlay.network.plugins.module_utils._kernel.netns import namespace_path, socket_in_namespace
from ansible_collections.underlay.network.plugins.module_utils._kernel.rtnl_codec import RtnlSocket

SOURCE_MACS = ['02:00:00:00:00:0a', '02:00:00:00:00:0b']
LINK_ATTRS = ('IFLA_IFNAME', 'IFLA_ADDRESS', 'IFLA_MTU', 'IFLA_LINK', 'IFLA_IFALIAS', 'IFLA_GROUP',
              'IFLA_LINK_NETNSID')


def codec(ns):
    return RtnlSocket(socket_in_namespace(namespace_path(ns), socket.AF_NETLINK, socket.SOCK_DGRAM, 0))


def link_view(msg):
    """What the collection reads of a link message, the same for pyroute2's and the codec's."""
    view = {'index': msg['index'], 'flags': msg['flags']}
    view.update({name: msg.get_attr(name) for name in LINK_ATTRS})
    info = msg.get_attr('IFLA_LINKINFO')
    if info is not None:
        view['kind'] = info.get_attr('IFLA_INFO_KIND')
        data = info.get_attr('IFLA_INFO_DATA')
        if view['kind'] == 'macvlan' and data is not None:
            macs = data.get_attr('IFLA_MACVLAN_MACADDR_DATA')
            view['mode'] = data.get_attr('IFLA_MACVLAN_MODE')
            view['source_macs'] = sorted(macs.get_attrs('IFLA_MACVLAN_MACADDR')) if macs is not None else []
        elif view['kind'] == 'bridge':  # left to pyroute2 by the codec: decoded all the same
            view['forward_delay'] = data.get_attr('IFLA_BR_FORWARD_DELAY')
    return view


def address_view(msg):
    return (msg['index'], msg['family'], msg['prefixlen'], msg.get_attr('IFA_ADDRESS'), msg.get_attr('IFA_LOCAL'))


def route_view(msg):
    return (msg['family'], msg['dst_len'], msg['proto'], msg['scope'], msg['type'], msg.get_attr('RTA_DST'),
            msg.get_attr('RTA_OIF'), msg.get_attr('RTA_GATEWAY'), msg.get_attr('RTA_PRIORITY'))


@pytest.fixture
def populated(lab):
    """A namespace with a veth, a bridge, macvlans in every mode but passthru (one with source MACs, one with an
    alias, an MTU and a MAC of its own), one moved into a second namespace, IPv4 and IPv6 addresses and static
    routes."""
    ns, other = lab.add_namespace('codec'), lab.add_namespace('other')
    with IPRoute(netns=ns, flags=0) as ipr:
        ipr.link('add', ifname='trunk', kind='veth', peer={'ifname': 'trunkp'})
        trunk = ipr.link_lookup(ifname='trunk')[0]
        for mode in ('bridge', 'vepa', 'private'):
            ipr.link('add', ifname='m' + mode, kind='macvlan', link=trunk, macvlan_mode=mode)
        ipr.link('add', ifname='msource', kind='macvlan', link=trunk, macvlan_mode='source',
                 macvlan_macaddr_mode='set',
                 macvlan_macaddr_data={'attrs': [('IFLA_MACVLAN_MACADDR', mac) for mac in SOURCE_MACS]})
        ipr.link('add', ifname='away', kind='macvlan', link=trunk, macvlan_mode='bridge')
        ipr.link('add', ifname='br0', kind='bridge', br_forward_delay=700)
        ipr.link('set', index=ipr.link_lookup(ifname='away')[0], net_ns_fd=other)
        bridge = ipr.link_lookup(ifname='mbridge')[0]
        ipr.link('set', index=bridge, ifalias='underlay.network', mtu=1400, address='02:12:34:56:78:9a',
                 group=7, state='up')
        ipr.link('set', index=trunk, state='up')
        ipr.addr('add', index=bridge, address='172.28.1.1', prefixlen=24)
        ipr.addr('add', index=bridge, address='172.28.2.1', prefixlen=32)
        ipr.addr('add', index=bridge, address='fd00:1::1', prefixlen=64)
        ipr.route('add', dst='172.28.9.0/24', gateway='172.28.1.254', oif=bridge, priority=30)
        ipr.route('add', dst='172.28.10.0/24', oif=bridge)
        ipr.route('add', dst='fd00:9::/64', gateway='fd00:1::fe', oif=bridge)
    return ns, other


def test_the_codecs_dumps_read_what_pyroute2_reads(populated):
    ns, other = populated
    seen_links, seen_routes = [], []
    for where in (ns, other):
        with IPRoute(netns=where, flags=0) as ipr:
            expected_links = sorted(map(link_view, ipr.get_links()), key=lambda v: v['index'])
            expected_addresses = sorted(map(address_view, ipr.get_addr()))
            expected_routes = sorted(route_view(msg) for family in (socket.AF_INET, socket.AF_INET6)
                                     for msg in ipr.get_routes(family=family, table=254))
        session = codec(where)
        try:
            links = sorted(map(link_view, session.links()), key=lambda v: v['index'])
            addresses = sorted(map(address_view, session.addresses()))
            routes = sorted(route_view(msg) for family in (socket.AF_INET, socket.AF_INET6)
                            for msg in session.routes(family, 254))
        finally:
            session.close()
        assert links == expected_links
        assert addresses == expected_addresses
        assert routes == expected_routes
        seen_links += links
        seen_routes += routes
    # The cases the comparison must have seen, so that it cannot pass on an empty namespace.
    assert {view['IFLA_IFNAME']: view for view in seen_links}['away']['IFLA_LINK_NETNSID'] is not None
    assert {view.get('mode') for view in seen_links} >= {'bridge', 'vepa', 'private', 'source'}
    assert any(route[8] == 30 for route in seen_routes) and any(route[0] == socket.AF_INET6 for route in seen_routes)


def test_the_codecs_dumps_cover_every_mode_alias_and_route(populated):
    ns, _other = populated
    session = codec(ns)
    try:
        links = {view['IFLA_IFNAME']: view for view in map(link_view, session.links())}
        routes = [route_view(msg) for msg in session.routes(socket.AF_INET, 254)]
    finally:
        session.close()
    assert {name: links[name]['mode'] for name in ('mbridge', 'mvepa', 'mprivate', 'msource')} == {
        'mbridge': 'bridge', 'mvepa': 'vepa', 'mprivate': 'private', 'msource': 'source'}
    assert links['msource']['source_macs'] == SOURCE_MACS
    assert (links['mbridge']['IFLA_IFALIAS'], links['mbridge']['IFLA_MTU'], links['mbridge']['IFLA_ADDRESS'],
            links['mbridge']['IFLA_GROUP']) == ('underlay.network', 1400, '02:12:34:56:78:9a', 7)
    assert links['br0']['forward_delay'] == 700
    assert ('172.28.9.0', '172.28.1.254', 30) in [(r[5], r[7], r[8]) for r in routes]


def test_the_codec_reads_the_id_a_namespace_gives_another(populated):
    """The nsid ``other`` gives the namespace of a process: assigned for ``ns`` (the moved macvlan's parent lives
    there, IFLA_LINK_NETNSID names it), none for the test's own namespace."""
    ns, other = populated
    sleeper = subprocess.Popen(['nsenter', '--net=' + str(namespace_path(ns)), 'sleep', '30'])
    try:
        target = os.stat(namespace_path(ns)).st_ino
        deadline = time.monotonic() + 10
        while os.stat('/proc/%d/ns/net' % sleeper.pid).st_ino != target and time.monotonic() < deadline:
            time.sleep(0.01)  # nsenter has not entered it yet
        session = codec(other)
        try:
            in_ns, own = session.nsid_of_pid(sleeper.pid), session.nsid_of_pid(os.getpid())
            away = {msg.get_attr('IFLA_IFNAME'): msg for msg in session.links()}['away']
        finally:
            session.close()
        with IPRoute(netns=other, flags=0) as ipr:
            expected = [(ipr.get_netnsid(pid=pid) or {}).get('nsid') for pid in (sleeper.pid, os.getpid())]
    finally:
        sleeper.kill()
        sleeper.wait()
    assert [in_ns, own] == expected
    assert in_ns == away.get_attr('IFLA_LINK_NETNSID') != 0xFFFFFFFF


def test_links_made_by_the_codec_are_what_pyroute2_makes(lab):
    """The same macvlans (modes, up or down, chosen index, MTU, MAC, marker, IPv4 and IPv6 address) made
    through pyroute2 in one namespace and through the codec in another read back the same."""
    made = {}
    for way in ('pyroute2', 'codec'):
        ns = lab.add_namespace(way)
        with IPRoute(netns=ns, flags=0) as ipr:
            ipr.link('add', ifname='trunk', kind='veth', peer={'ifname': 'trunkp'})
            trunk = ipr.link_lookup(ifname='trunk')[0]
            specs = [('m1', 'bridge', True, 101, None, None, '172.28.3.1/32'),
                     ('m2', 'private', False, 102, 1300, '02:aa:bb:cc:dd:01', 'fd00:3::2/64'),
                     ('m3', 'vepa', True, 103, None, None, '172.28.4.3/20')]
            session = codec(ns)
            try:
                for name, mode, up, index, mtu, mac, cidr in specs:
                    address, prefixlen = cidr.split('/')
                    family = socket.AF_INET6 if ':' in address else socket.AF_INET
                    if way == 'pyroute2':
                        request = dict(ifname=name, kind='macvlan', link=trunk, macvlan_mode=mode, index=index)
                        request.update({k: v for k, v in (('mtu', mtu), ('address', mac)) if v is not None})
                        if up:
                            request['state'] = 'up'
                        ipr.link('add', **request)
                        ipr.link('set', index=index, ifalias='underlay.network')
                        ipr.addr('add', index=index, address=address, prefixlen=int(prefixlen))
                    else:
                        session.create_macvlan(name, 'macvlan', mode, trunk, index=index, up=up, mtu=mtu,
                                               mac_address=mac)
                        session.set_alias(index, 'underlay.network')
                        session.add_address(index, family, address, int(prefixlen))
                links = [link_view(msg) for msg in ipr.get_links() if msg.get_attr('IFLA_IFNAME') in ('m1', 'm2', 'm3')]
                addresses = [address_view(msg) for msg in ipr.get_addr()
                             if msg['index'] in (101, 102, 103) and not msg.get_attr('IFA_ADDRESS').startswith('fe80')]
            finally:
                session.close()
        for view in links:
            if view['IFLA_IFNAME'] != 'm2':
                view['IFLA_ADDRESS'] = None  # a random MAC of the kernel's
        made[way] = (sorted(links, key=lambda v: v['index']), sorted(addresses))
    assert made['codec'] == made['pyroute2']
    assert [view['mode'] for view in made['codec'][0]] == ['bridge', 'private', 'vepa']


def test_the_codec_raises_the_kernels_refusal_with_its_errno(lab):
    ns = lab.add_namespace('refusals')
    with IPRoute(netns=ns, flags=0) as ipr:
        ipr.link('add', ifname='trunk', kind='veth', peer={'ifname': 'trunkp'})
        trunk = ipr.link_lookup(ifname='trunk')[0]
    session = codec(ns)
    try:
        session.create_macvlan('m1', 'macvlan', 'bridge', trunk)
        with pytest.raises(NetlinkError) as taken:
            session.create_macvlan('m1', 'macvlan', 'bridge', trunk)
        with pytest.raises(NetlinkError) as no_parent:
            session.create_macvlan('m2', 'macvlan', 'bridge', 9999)
        with pytest.raises(NetlinkError) as no_link:
            session.add_address(9999, socket.AF_INET, '172.28.5.1', 32)
        # The session goes on after a refusal: the next answer is the next request's.
        session.set_alias(trunk, 'after')
        aliases = {msg.get_attr('IFLA_IFNAME'): msg.get_attr('IFLA_IFALIAS') for msg in session.links()}
        assert aliases['trunk'] == 'after'
    finally:
        session.close()
    assert (taken.value.code, no_parent.value.code, no_link.value.code) == (errno.EEXIST, errno.ENODEV, errno.ENODEV)


LAZY_SCRIPT = r'''
import json, sys
from ansible_collections.underlay.network.plugins.module_utils._kernel.netlink import Namespace
with Namespace(whole=True) as session:
    trunk = session.link_msg(ifname='trunk')['index']
    index, _up = session.create_link('m1', {'kind': 'macvlan', 'macvlan_mode': 'bridge'}, parent_index=trunk, up=True)
    session.set_link(index, 'mark m1', ifalias='underlay.network')
    session.add_address(index, '172.28.6.1/32')
    read = (session.addresses(index), session.routes(index), session.nsid_of_task_namespace())
    served = 'pyroute2.iproute.linux' in sys.modules
    session.delete_link(index, 'delete m1')  # not spoken by the codec: pyroute2 now
print(json.dumps({'read': read, 'before': served, 'after': 'pyroute2.iproute.linux' in sys.modules}))
'''


def test_a_run_the_codec_serves_never_imports_pyroute2s_iproute(lab):
    """Reading a namespace and making a macvlan with its marker and address load no pyroute2 IPRoute (about
    45 ms of imports per task); a request the codec does not speak (a deletion) loads it then."""
    ns = lab.add_namespace('lazy')
    with IPRoute(netns=ns, flags=0) as ipr:
        ipr.link('add', ifname='trunk', kind='veth', peer={'ifname': 'trunkp'})
    proc = subprocess.run(['nsenter', '--net=' + str(namespace_path(ns)), sys.executable, '-c', LAZY_SCRIPT],
                          capture_output=True, text=True, timeout=60, check=True)
    outcome = json.loads(proc.stdout)
    assert outcome['read'] == [['172.28.6.1/32'], [], None]
    assert (outcome['before'], outcome['after']) == (False, True)
