"""links_info on a lab host: what it reports of the links and of the host's default routes.

The default routes are what the roles' uplink guard protects (the fleet plan's
``protected`` addresses); they are read back here against routes made with raw
pyroute2 in a lab namespace, never the machine's own.
"""

from __future__ import annotations

import pytest
from pyroute2 import IPRoute

CONNECTION = 'underlay.network.netns'


@pytest.fixture
def host(lab):
    lab.up_switch()
    return lab.add_host('h1', address='172.28.0.11/24')


def add_route(ns, **route):
    with IPRoute(netns=ns, flags=0) as ipr:
        ipr.route('add', oif=ipr.link_lookup(ifname='eth0')[0], **route)


def test_default_routes_are_reported_with_their_interface(ansible, host):
    add_route(host, dst='default', gateway='172.28.0.1')
    add_route(host, dst='10.9.0.0/16', gateway='172.28.0.1')  # not a default route
    result = ansible.module('underlay.network.links_info', hosts={host: {'ansible_connection': CONNECTION}})
    assert not result.failed and not result.changed, result
    assert result['default_routes'] == [{'interface': 'eth0', 'gateway': '172.28.0.1', 'family': 'ipv4'}]
    # eth0 is the lab host's veth uplink: a virtual link, reported with its address.
    eth0, = [link for link in result['links'] if link['name'] == 'eth0']
    assert eth0['kind'] == 'veth' and eth0['addresses'] == ['172.28.0.11/24']


def test_no_default_route_is_an_empty_list(ansible, host):
    result = ansible.module('underlay.network.links_info', hosts={host: {'ansible_connection': CONNECTION}})
    assert not result.failed and result['default_routes'] == [], result
