"""The links module's config.parents on this machine's kernel: promiscuous mode of the parent itself, read back
with raw pyroute2 (the IFF_PROMISC flag the kernel reports is the setting asked for)."""

from __future__ import annotations

import pytest
from pyroute2 import IPRoute
from underlay_dev.testing.harness import netlink_dump

IFF_PROMISC = 0x100
MODULE = 'underlay.network.links'


@pytest.fixture
def host(lab):
    lab.up_switch()
    return lab.add_host('h1', address='172.28.252.45/20')


@pytest.fixture
def run(ansible, host):
    def run(check=False, diff=False, **args):
        return ansible.module(MODULE, hosts={host: {'ansible_connection': 'underlay.network.netns'}}, check=check,
                              diff=diff, **args)
    return run


def promisc(namespace, name='eth0'):
    with IPRoute(netns=namespace, flags=0) as ipr:
        return bool(ipr.get_links(ipr.link_lookup(ifname=name)[0])[0]['flags'] & IFF_PROMISC)


SHIM = {'kind': 'macvlan', 'name': 'shim', 'parent': 'eth0', 'addresses': ['172.28.248.254/32']}


def test_promisc_is_set_before_the_links_checked_and_idempotent(run, host):
    config = {'parents': [{'name': 'eth0', 'promisc': True}], 'links': [SHIM]}
    before = netlink_dump(host)
    checked = run(check=True, diff=True, config=config)
    assert checked.changed and not checked.failed, checked
    assert netlink_dump(host) == before and not promisc(host)
    assert checked['diff']['before']['parents'] == {'eth0': {'name': 'eth0', 'promisc': False}}
    assert checked['diff']['after']['parents'] == {'eth0': {'name': 'eth0', 'promisc': True}}

    applied = run(config=config)
    assert applied.changed and not applied.failed, applied
    assert promisc(host) and applied['parents'] == [{'name': 'eth0', 'promisc': True}]
    assert applied['actions'][0] == 'eth0: set promisc on'
    assert not run(config=config).changed

    # Not declared: left as it is. Declared off: off. deleted: parents stay as they are.
    assert not run(config={'parents': [{'name': 'eth0'}], 'links': [SHIM]}).changed and promisc(host)
    off = run(config={'parents': [{'name': 'eth0', 'promisc': False}]})
    assert off.changed and not promisc(host), off
    run(config={'parents': [{'name': 'eth0', 'promisc': True}]})
    deleted = run(config={'parents': [{'name': 'eth0', 'promisc': False}], 'links': [SHIM]}, state='deleted')
    assert deleted.changed and promisc(host), deleted


def test_bad_parents_fail_before_any_change(run, host):
    before = netlink_dump(host)
    missing = run(config={'parents': [{'name': 'eth9', 'promisc': True}], 'links': [SHIM]})
    assert missing.failed and 'config.parents: eth9 does not exist' in missing['msg'], missing
    twice = run(config={'parents': [{'name': 'eth0', 'promisc': True}, {'name': 'eth0'}], 'links': [SHIM]})
    assert twice.failed and 'config.parents[1]: eth0 is declared twice' in twice['msg'], twice
    assert netlink_dump(host) == before
