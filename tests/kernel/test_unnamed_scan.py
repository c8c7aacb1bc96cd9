"""The guards' scan of namespaces without a name, end to end on the full kernel (VLANs).

A host with hundreds of containers has hundreds of namespaces without a name. An ``overridden`` prune
of a VLAN must find a container's macvlan on that VLAN whichever namespace it is in, the last one
scanned included: each namespace is read and closed before the next, so the module's descriptors never
run out (here the module gets 128 of them, ``ansible_python_module_rlimit_nofile``, for 300
namespaces). tests/integration/test_unnamed_scan.py proves the scan itself on this machine's kernel,
and that an error other than "the process is gone" fails instead of skipping.
"""

from __future__ import annotations

from pyroute2 import IPRoute
from underlay_dev.testing.harness import read_link

MANY = 300
LINKS = 'underlay.network.links'
VLANS = {'links': [{'kind': 'vlan', 'parent': 'eth0', 'vlan_id': 10}]}


def test_a_prune_finds_the_macvlan_in_the_last_of_hundreds_of_namespaces(play, host, unnamed_processes):
    made, = play({LINKS: dict(state='overridden', owner='vlan_host', config=VLANS)})
    assert made.changed and not made.failed, made
    pids = unnamed_processes(MANY)
    with IPRoute(netns=host, flags=0) as ipr:
        ipr.link('add', ifname='ctr0', kind='macvlan', macvlan_mode='bridge', link=ipr.link_lookup(ifname='eth0.10')[0])
        ipr.link('set', index=ipr.link_lookup(ifname='ctr0')[0], net_ns_pid=pids[-1])
    refused, = play({LINKS: dict(state='overridden', owner='vlan_host', config={}),
                     'vars': {'ansible_python_module_rlimit_nofile': 128}})
    assert read_link(host, 'eth0.10') is not None, 'the VLAN carrying a container macvlan was pruned'
    assert refused.failed, refused
    assert refused['stacked'] == ['ctr0 in the network namespace of process %d (sleep) (on eth0.10)' % pids[-1]]
