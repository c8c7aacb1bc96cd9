"""Fault injection for the links module (issue 13): the parent of a 50-link task is deleted by another process
while the task runs, at a different moment each try, until the window is hit.

Each try gives a lab host a fresh veth parent ``p0`` and runs one links task (through Ansible and the netns
connection, as every integration test does) declaring 50 macvlans on it, each with an address. A second
process, listening to the namespace's link events, deletes ``p0`` once the K-th of those macvlans has
appeared (K changes from try to try; K = 0 deletes it before the task starts, and every tenth try deletes it
after the task has ended). The rule checked for every
outcome:

* the task succeeds, and then it reports all 50 links as converged (read back after applying), or
* it fails, and the message names the real cause (parent p0 is gone), never a traceback or a bare errno;
* in both cases nothing half-made remains: every one of the 50 still there has its marker, its address and
  is up, and after a failure none of the links the call was creating is left.

The number of tries in which the deletion fell inside the task's apply phase is printed (``-s`` shows it) and
must be at least one.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from pyroute2 import IPRoute
from underlay_dev.testing.harness import read_link

LINKS = 'underlay.network.links'
MARKER = 'underlay.network'
COUNT = 50
TRIES = 30

# Runs inside the lab host: waits for the K-th new macvlan named m.., then deletes p0. Prints 'ready' once
# subscribed, then what it did. It reads the link events from a raw socket and deletes p0 through a session
# opened beforehand: the module makes a link in about 0.2 ms, so a listener that decoded every event through
# pyroute2 (about 0.5 ms each) would fall behind and only ever delete p0 after the task.
DELETER = r'''
import json, socket, struct, sys, time
from pyroute2 import IPRoute
want = int(sys.argv[1])
events = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
events.bind((0, 1))  # RTMGRP_LINK
events.settimeout(1)
seen = set()
with IPRoute() as ipr:
    parent = ipr.link_lookup(ifname='p0')[0]
    print('ready', flush=True)
    deadline = time.monotonic() + 60
    if want < 0:  # after the task: when told
        sys.stdin.readline()
    while want > 0 and len(seen) < want and time.monotonic() < deadline:
        try:
            data = events.recv(1 << 16)
        except socket.timeout:
            continue
        offset = 0
        while offset + 16 <= len(data):
            length, kind = struct.unpack_from('=IH', data, offset)
            pos, end = offset + 32, offset + length  # past the header and the ifinfomsg
            while kind == 16 and pos + 4 <= end:  # RTM_NEWLINK: find IFLA_IFNAME
                size, attr = struct.unpack_from('=HH', data, pos)
                if size < 4:
                    break
                if attr == 3:
                    name = data[pos + 4:pos + size].split(b'\0')[0]
                    if name[:1] == b'm' and name[1:].isdigit():
                        seen.add(name)
                    break
                pos += (size + 3) & ~3
            offset += (max(length, 16) + 3) & ~3
    try:
        ipr.link('del', index=parent)
        deleted = True
    except Exception:
        deleted = False
print(json.dumps({'seen': len(seen), 'deleted': deleted, 'present_at_delete': len(seen)}), flush=True)
'''


@pytest.fixture
def host(lab):
    lab.up_switch()
    return lab.add_host('h1', address='172.28.252.46/20')


def declared_links():
    return [{'kind': 'macvlan', 'name': 'm%02d' % i, 'parent': 'p0', 'addresses': ['10.99.0.%d/32' % (i + 1)]}
            for i in range(COUNT)]


def make_parent(host):
    with IPRoute(netns=host, flags=0) as ipr:
        for name in ('p0', 'p1'):
            found = ipr.link_lookup(ifname=name)
            if found:
                ipr.link('del', index=found[0])
        ipr.link('add', ifname='p0', kind='veth', peer={'ifname': 'p1'})
        for name in ('p0', 'p1'):
            ipr.link('set', index=ipr.link_lookup(ifname=name)[0], state='up')


def leftovers(host):
    """The declared links still in the lab host, each with what a complete one has."""
    found = {}
    for link in declared_links():
        state = read_link(host, link['name'])
        if state is not None:
            found[link['name']] = (state['alias'], state['addresses'], state['up'])
    return found


def test_a_parent_deleted_while_a_50_link_task_runs(host, ansible):
    inventory = {host: {'ansible_connection': 'underlay.network.netns'}}
    config = {'links': declared_links()}
    complete = {link['name']: (MARKER, link['addresses'], True) for link in config['links']}
    outcomes, messages = [], {}
    for attempt in range(TRIES):
        make_parent(host)
        # 0, 7, 14, ... 49, then other values: every part of the window; every tenth try after the task has ended.
        want = None if attempt % 10 == 9 else (attempt * 7) % COUNT
        deleter = subprocess.Popen(['nsenter', '--net=/run/netns/' + host, sys.executable, '-c', DELETER,
                                    str(-1 if want is None else want)], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, text=True)
        try:
            assert deleter.stdout.readline().strip() == 'ready'
            if want is None:
                result = ansible.play([{'name': 'links', LINKS: {'config': config}, 'ignore_errors': True}],
                                      hosts=dict(inventory)).last
                out, _err = deleter.communicate('go\n', timeout=30)  # deletes p0 now that the task has ended
            else:
                if want == 0:
                    deleter.wait(timeout=30)  # deleted before the task starts
                result = ansible.play([{'name': 'links', LINKS: {'config': config}, 'ignore_errors': True}],
                                      hosts=dict(inventory)).last
                out, _err = deleter.communicate('', timeout=90)
        finally:
            if deleter.poll() is None:
                deleter.kill()
                deleter.wait()
        fired = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
        remaining = leftovers(host)
        msg = result.get('msg', '')
        if result.failed:
            kind = 'failed in apply' if result.get('failed_object') else 'failed in plan'
            assert 'Traceback' not in msg and 'module_stderr' not in result, (attempt, result)
            assert 'p0' in msg and ('is gone' in msg or 'does not exist' in msg), (attempt, msg)
            assert remaining == {}, (attempt, 'a failed call left links behind', remaining, msg)
            messages.setdefault(kind, msg)
        else:
            kind = 'succeeded'
            reported = {link['name']: (link['managed_by'], link['addresses'], link['admin_state'] == 'up')
                        for link in result['links']}
            assert reported == complete, (attempt, 'success without every declared link', result)
        assert all(state == complete[name] for name, state in remaining.items()), (attempt, 'half-made', remaining)
        outcomes.append((want, kind, fired.get('present_at_delete')))
    hits = [o for o in outcomes if o[1] == 'failed in apply']
    print('\nfault injection: %d tries, %d hit the apply window (K, outcome, links there when p0 went): %s'
          % (len(outcomes), len(hits), outcomes))
    print('first messages: %s' % json.dumps(messages, indent=1))
    assert hits, 'the deletion never fell inside the task: %s' % outcomes
