"""Values the kernel stores in another form than they were written (issue 13 item 10), on this machine's kernel.

A declared IPv6 link-local address sits next to the one the kernel makes itself; a route via the
unspecified address (``0.0.0.0``, ``::``) is stored without a gateway; an IPv6 route of metric 0 gets
the kernel's 1024. Each must be compared as the kernel keeps it: a second run changes nothing and
does not fail with "File exists". The links are macvlans on the lab host's veth ``eth0``, made through
``macvlan_link`` and through the aggregate ``links`` module, and read back with raw pyroute2 (not the
collection's code).
"""

from __future__ import annotations

import socket
import time

import pytest
from pyroute2 import IPRoute

CONNECTION = 'underlay.network.netns'
LINK_LOCAL = 'fe80::10/64'
ADDRESSES = ['172.28.250.10/24', '2001:db8:250::10/64', LINK_LOCAL]
UNSPECIFIED_GATEWAYS = [
    {'dest': '10.88.0.0/16', 'gateway': '0.0.0.0'},  # noqa: S104 - a route gateway, nothing listens
    {'dest': '2001:db8:88::/48', 'gateway': '::'},
]
IPV6_METRIC_0 = [{'dest': '2001:db8:89::/48', 'metric': 0}]
# What the kernel keeps of them: (dest, prefix length, gateway, metric).
STORED_ROUTES = {'unspecified': [('10.88.0.0', 16, None, None), ('2001:db8:88::', 48, None, 1024)],
                 'metric0': [('2001:db8:89::', 48, None, 1024)]}


@pytest.fixture
def host(lab):
    lab.up_switch()
    return lab.add_host('h1', address='172.28.252.45/20')


@pytest.fixture
def play(ansible, host):
    def play(tasks, check=False, diff=False):
        return ansible.play(tasks, hosts={host: {'ansible_connection': CONNECTION}}, check=check, diff=diff)
    return play


def stored(ns, ifname):
    """Every address (link-local ones with their origin) and every static route of the link, read with raw pyroute2."""
    with IPRoute(netns=ns, flags=0) as ipr:
        index = ipr.link_lookup(ifname=ifname)[0]
        addresses = sorted('%s/%d' % (m.get_attr('IFA_ADDRESS'), m['prefixlen']) for m in ipr.get_addr(index=index))
        routes = sorted(((r.get_attr('RTA_DST'), r['dst_len'], r.get_attr('RTA_GATEWAY'), r.get_attr('RTA_PRIORITY'))
                         for family in (socket.AF_INET, socket.AF_INET6)
                         for r in ipr.get_routes(family=family, table=254)
                         if r.get_attr('RTA_OIF') == index and r['proto'] in (3, 4)), key=repr)
    return addresses, routes


def kernels_link_local(ns, ifname):
    """The link-local addresses the kernel made itself, waited for: it adds one once the link has carrier, which
    the kernel learns asynchronously (linkwatch), so right after the link is made it may not be there yet."""
    deadline = time.monotonic() + 5
    while True:
        own = [cidr for cidr in stored(ns, ifname)[0] if cidr.startswith('fe80:') and cidr != LINK_LOCAL]
        if own or time.monotonic() > deadline:
            return own
        time.sleep(0.1)


def macvlan_task(**args):
    return {'name': 'macvlan_link', 'underlay.network.macvlan_link': dict(name='mv10', parent='eth0', **args),
            'ignore_errors': True}


def links_task(**args):
    return {'name': 'links', 'underlay.network.links': {
        'state': 'merged', 'config': {'links': [dict(kind='macvlan', name='mv10', parent='eth0', **args)]}},
        'ignore_errors': True}


TASKS = {'macvlan_link': macvlan_task, 'links': links_task}


@pytest.mark.parametrize('module', sorted(TASKS))
@pytest.mark.parametrize('declared', [
    pytest.param({'addresses': ADDRESSES}, id='link-local-address'),
    pytest.param({'addresses': ['172.28.250.10/24'], 'routes': UNSPECIFIED_GATEWAYS}, id='unspecified-gateways'),
    pytest.param({'addresses': ['2001:db8:250::10/64'], 'routes': IPV6_METRIC_0}, id='ipv6-metric-0'),
])
def test_a_second_run_changes_nothing_and_does_not_fail(play, host, module, declared):
    task = TASKS[module](**declared)
    first, second = play([task, task]).results
    assert not first.failed and first.changed, first
    assert not second.failed, second['msg']
    assert not second.changed, second
    assert second['actions'] == []

    addresses, routes = stored(host, 'mv10')
    for cidr in declared['addresses']:
        assert cidr in addresses, addresses
    if 'routes' in declared:
        assert routes == STORED_ROUTES['unspecified' if declared['routes'] is UNSPECIFIED_GATEWAYS else 'metric0']
    # Next to a declared link-local address the kernel keeps its own, which is not touched.
    assert len(kernels_link_local(host, 'mv10')) == 1

    checked = play([task], check=True).results[0]
    assert not checked.failed and not checked.changed, checked


def test_replaced_keeps_a_declared_link_local_address_and_the_kernels_own(play, host):
    task = macvlan_task(addresses=ADDRESSES, addresses_mode='replace')
    first, second = play([task, task]).results
    assert not first.failed and first.changed, first
    assert not second.failed and not second.changed, second
    kernels_own = kernels_link_local(host, 'mv10')
    assert len(kernels_own) == 1

    # An address dropped from a replaced list goes; the declared link-local address and the kernel's stay.
    fewer = play([macvlan_task(addresses=['172.28.250.10/24', LINK_LOCAL], addresses_mode='replace')]).results[0]
    assert not fewer.failed and fewer.changed, fewer
    assert fewer['actions'] == ['delete address 2001:db8:250::10/64']
    assert stored(host, 'mv10')[0] == sorted(['172.28.250.10/24', LINK_LOCAL] + kernels_own)
