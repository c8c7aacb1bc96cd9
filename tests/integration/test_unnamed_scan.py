"""The scan of network namespaces without a name (a Docker container's), on this kernel.

The guards that look for links stacked on a link (``Sessions.children``: the ipvlan port mode, what an
``overridden`` prune or ``remove_vlan`` would take along) read every namespace a process is in. Hundreds
of containers are hundreds of namespaces: the scan must read them one at a time, closing each, and an
error other than "that process is gone" must fail, never skip the namespace (a skipped namespace is a
container whose link a prune then deletes).

The scan runs in a forked child inside a lab namespace (``run_in_namespace``), with its descriptor
limit lowered there, so that the test process and the machine's own namespace are never involved.
The namespaces without a name are those of processes started with ``unshare --net``, as a container
runtime makes them; a macvlan on the lab host's uplink is moved into the last one started.
"""

from __future__ import annotations

import os
import resource

import pytest
from pyroute2 import IPRoute

from ansible_collections.underlay.network.plugins.module_utils._common.errors import LinkError
from ansible_collections.underlay.network.plugins.module_utils._kernel.netns import run_in_namespace
from ansible_collections.underlay.network.plugins.module_utils._links.sessions import Sessions

pytestmark = pytest.mark.integration

MANY = 300


def open_fds():
    return sorted(int(fd) for fd in os.listdir('/proc/self/fd'))


def lowest_free_fd():
    used = set(open_fds())
    return next(fd for fd in range(len(used) + 1) if fd not in used)


def scan_children(parent, spare_fds):
    """In the child: open the task's sessions, allow ``spare_fds`` more descriptors, scan; what it found
    (``(netns, name)`` of links on ``parent``) and whether every scanned session was closed again."""
    with Sessions() as sessions:
        sessions.task.links()
        for name in sessions.namespaces():
            sessions.get(name).links()
        before = open_fds()
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (lowest_free_fd() + spare_fds, hard))
        try:
            found = sessions.children(parent)
        except LinkError as exc:
            return 'LinkError: %s' % exc, before == open_fds()
        return sorted((s['netns'], s['name']) for s in found), before == open_fds()


def carrier(lab, pid):
    """A lab host whose uplink carries a macvlan living in the namespace of process ``pid``."""
    lab.up_switch()
    host = lab.add_host('h1')
    with IPRoute(netns=host, flags=0) as ipr:
        ipr.link('add', ifname='ctr0', kind='macvlan', macvlan_mode='bridge', link=ipr.link_lookup(ifname='eth0')[0])
        ipr.link('set', index=ipr.link_lookup(ifname='ctr0')[0], net_ns_pid=pid)
    return host


def test_hundreds_of_namespaces_are_scanned_one_at_a_time(lab, unnamed_processes):
    # 300 namespaces with 64 descriptors to spare: only a scan that closes each session gets to the last.
    pids = unnamed_processes(MANY)
    host = carrier(lab, pids[-1])
    found, closed = run_in_namespace(host, scan_children, 'eth0', 64)
    assert [name for netns, name in found if str(pids[-1]) in netns] == ['ctr0'], found
    assert closed, 'the scan left sessions open'


def test_an_unexpected_error_fails_the_scan_instead_of_skipping_a_namespace(lab, unnamed_processes):
    # One descriptor to spare: listing /proc works, entering a namespace cannot (EMFILE). That namespace
    # may hold a container's link: the scan must say so, not go on as if it held none.
    pids = unnamed_processes(1)
    host = carrier(lab, pids[0])
    found, closed = run_in_namespace(host, scan_children, 'eth0', 1)
    assert isinstance(found, str) and 'Too many open files' in found, found
    assert 'the network namespace of process ' in found, found
    assert closed
