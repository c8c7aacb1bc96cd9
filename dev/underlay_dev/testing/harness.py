"""Test harness shared by tests/integration and tests/kernel: real namespaces,
the collection installed for real, Ansible run for real.

Both directories' ``conftest.py`` import the fixtures from here (the dev package,
installed into the venv), which registers them there; test modules import the
helpers directly: ``from underlay_dev.testing.harness import netlink_dump, read_link``.
A new fixture here goes into both conftests' imports too.

* ``collections_path``: the collection built with ``ansible-galaxy collection
  build`` and installed into a temporary collections path, once per session.
* ``lab``: a fresh ``Lab`` (see ``underlay_dev/lab/topology.py``) with a unique prefix,
  torn down after the test whatever happened.
* ``ansible``: runs plays through ansible-runner (the engine AWX uses) and
  returns every task's result.
* ``netlink_dump``: a full netlink snapshot of a namespace, for proving that
  check mode touched nothing; ``read_link``: one link read back with raw pyroute2.
* ``in_kernel_box``: whether we run inside the kernel box (underlay_dev/box).
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import ansible_runner
import pytest
import yaml
from pyroute2 import IPRoute, netns

from underlay_dev.lab.topology import Lab, record_path, remove_leftovers
from underlay_dev.paths import ROOT

VENV_BIN = Path(sys.executable).parent
PREFIX_ROOT = 'ult%d-' % os.getpid()


def in_kernel_box():
    """True inside underlay_dev/box: it says so, and the kernel is User-Mode Linux."""
    if os.environ.get('UNDERLAY_KERNEL_BOX') != '1':
        return False
    try:
        with open('/proc/cpuinfo') as f:
            return 'User Mode Linux' in f.read()
    except OSError:
        return False


@pytest.fixture(scope='session')
def collections_path(tmp_path_factory):
    out = tmp_path_factory.mktemp('collection')
    galaxy = str(VENV_BIN / 'ansible-galaxy')
    subprocess.run([galaxy, 'collection', 'build', '--force', '--output-path', str(out), str(ROOT)],
                   check=True, capture_output=True)
    tarball = next(out.glob('underlay-network-*.tar.gz'))
    path = out / 'collections'
    subprocess.run([galaxy, 'collection', 'install', '--force', '-p', str(path), str(tarball)],
                   check=True, capture_output=True)
    return path


@pytest.fixture(scope='session', autouse=True)
def no_leftover_namespaces():
    yield
    remove_leftovers(PREFIX_ROOT)


@pytest.fixture
def no_leftover_tap_nodes():
    """Remove the /dev/tapN nodes a test made (macvtap_link makes them; the next test's links may get the same
    ifindexes). A devtmpfs /dev removes the nodes it made itself with their links."""
    before = set(glob.glob('/dev/tap*'))
    yield
    for path in set(glob.glob('/dev/tap*')) - before:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


@pytest.fixture
def lab():
    with Lab(PREFIX_ROOT + uuid.uuid4().hex[:4] + '-') as lab:
        yield lab


class TaskResult(dict):
    """One task's result (``res``) plus its status."""

    @property
    def failed(self):
        # With ignore_errors the result itself may not say 'failed'; the event does.
        return bool(self.get('failed')) or self.get('_event') == 'runner_on_failed'

    @property
    def changed(self):
        return bool(self.get('changed'))


class PlayRun:
    def __init__(self, runner):
        self.runner = runner
        self.status = runner.status
        self.rc = runner.rc
        self.results = []
        for event in runner.events:
            if event.get('event') in ('runner_on_ok', 'runner_on_failed', 'runner_on_skipped'):
                data = event['event_data']
                self.results.append(TaskResult(data.get('res', {}), _task=data.get('task'),
                                               _host=data.get('host'), _event=event['event']))
        self.stdout = runner.stdout.read()

    def __getitem__(self, index):
        return self.results[index]

    @property
    def last(self):
        return self.results[-1]


class Ansible:
    def __init__(self, collections_path, workdir):
        self.collections_path = collections_path
        self.workdir = workdir
        self.count = 0

    def play(self, tasks, hosts=None, check=False, diff=False, extra_vars=None, gather_facts=False):
        """Run ``tasks`` (a list of task dicts) on ``hosts`` (inventory dict; default: localhost)."""
        if hosts is None:
            hosts = {'localhost': {'ansible_connection': 'local'}}
        play = [{'name': 'test', 'hosts': 'all', 'gather_facts': gather_facts, 'tasks': tasks}]
        return self.playbook(yaml.safe_dump(play, sort_keys=False), {'all': {'hosts': hosts}}, check=check,
                             diff=diff, extra_vars=extra_vars)

    def playbook(self, playbook, inventory, check=False, diff=False, extra_vars=None, limit=None):
        """Run ``playbook`` (YAML text, or the Path of a playbook of the repository) on ``inventory`` (a whole
        inventory dict, groups and all), on the hosts of ``limit`` only if given (as AWX's Limit does); every
        host gets this Python unless it names one."""
        self.count += 1
        pdd = self.workdir / ('run%d' % self.count)
        (pdd / 'project').mkdir(parents=True)
        (pdd / 'inventory').mkdir()
        for group in _groups(inventory.get('all') or {}):
            for host_vars in (group.get('hosts') or {}).values():
                host_vars.setdefault('ansible_python_interpreter', sys.executable)
        (pdd / 'inventory' / 'hosts.yml').write_text(yaml.safe_dump(inventory))
        if isinstance(playbook, Path):
            playbook_path = str(playbook)
        else:
            (pdd / 'project' / 'play.yml').write_text(playbook)
            playbook_path = 'play.yml'
        cmdline = []
        if check:
            cmdline.append('--check')
        if diff:
            cmdline.append('--diff')
        if limit:
            cmdline.extend(['--limit', limit])
        runner = ansible_runner.run(
            private_data_dir=str(pdd), playbook=playbook_path, quiet=True,
            cmdline=' '.join(cmdline) or None, extravars=extra_vars or {},
            envvars={'ANSIBLE_COLLECTIONS_PATH': str(self.collections_path),
                     'ANSIBLE_PIPELINING': 'True', 'ANSIBLE_NOCOLOR': '1',
                     'PATH': '%s:%s' % (VENV_BIN, os.environ.get('PATH', ''))},
        )
        return PlayRun(runner)

    def module(self, name, /, check=False, diff=False, hosts=None, **args):
        """Run one module task and return its result."""
        run = self.play([{'name': name, name: args, 'ignore_errors': True}], hosts=hosts, check=check, diff=diff)
        assert run.results, 'no task result; ansible output:\n' + run.stdout
        return run.last


def _groups(group):
    """The group and every group below it, of an inventory dict."""
    yield group
    for child in (group.get('children') or {}).values():
        yield from _groups(child or {})


@pytest.fixture
def ansible(collections_path, tmp_path):
    return Ansible(collections_path, tmp_path)


@pytest.fixture
def unnamed_processes():
    """Start ``count`` processes, each in a network namespace of its own without a name (``unshare --net``, as a
    container runtime makes them); return their pids. They are killed after the test."""
    started = []

    def start(count):
        own = os.stat('/proc/self/ns/net').st_ino
        batch = [subprocess.Popen(['unshare', '--net', 'sleep', '900']) for _number in range(count)]
        started.extend(batch)
        deadline = time.monotonic() + 300  # hundreds of them take a while in the kernel box
        for process in batch:
            while os.stat('/proc/%d/ns/net' % process.pid).st_ino == own:  # until unshare has done it
                assert time.monotonic() < deadline and process.poll() is None, 'unshare --net did not start'
                time.sleep(0.02)
        return [p.pid for p in batch]

    yield start
    for process in started:
        process.kill()
    for process in started:
        process.wait()


def netlink_dump(ns_name=None):
    """Every link, address and route of a namespace in a comparable form."""
    ipr = IPRoute(netns=ns_name, flags=0) if ns_name else IPRoute()
    with ipr:
        links = []
        for msg in ipr.get_links():
            attrs = {k: v for k, v in msg['attrs'] if k not in (
                'IFLA_STATS', 'IFLA_STATS64', 'IFLA_AF_SPEC', 'IFLA_XDP', 'UNKNOWN', 'IFLA_CARRIER_CHANGES',
                'IFLA_CARRIER_UP_COUNT', 'IFLA_CARRIER_DOWN_COUNT', 'IFLA_OPERSTATE', 'IFLA_CARRIER',
                'IFLA_PERM_ADDRESS')}
            links.append((msg['index'], msg['flags'], repr(sorted(attrs.items(), key=lambda kv: kv[0]))))
        addrs = sorted((m['index'], m.get_attr('IFA_ADDRESS'), m['prefixlen']) for m in ipr.get_addr())
        routes = sorted(repr(sorted((k, v) for k, v in m['attrs'] if k not in ('RTA_CACHEINFO',)))
                        for m in ipr.get_routes(table=254))
    # Only this test run's namespaces: other runs on the machine may add theirs meanwhile.
    ours = sorted(n for n in netns.listnetns() if n.startswith(PREFIX_ROOT))
    return {'links': sorted(links), 'addresses': addrs, 'routes': routes, 'namespaces': ours}


def ping_result(namespace, address):
    """One bounded ping from inside ``namespace`` (the test's own check, never a module's work)."""
    return subprocess.run(['nsenter', '--net=/run/netns/' + namespace, 'ping', '-c', '1', '-W', '1', address],
                          capture_output=True, text=True, timeout=10, check=False)


def reaches(namespace, address):
    """True when one ping from ``namespace`` to ``address`` is answered."""
    return ping_result(namespace, address).returncode == 0


def convergence_record(ns_name):
    """The convergence record underlay.network.convergence_record wrote for lab host ``ns_name`` (its file is named
    by the namespace's inode), or None."""
    path = Path(record_path(ns_name))
    return json.loads(path.read_text()) if path.exists() else None


def read_link(ns_name, ifname):
    """Read one link back independently of the collection's code: raw pyroute2."""
    ipr = IPRoute(netns=ns_name, flags=0) if ns_name else IPRoute()
    with ipr:
        found = ipr.link_lookup(ifname=ifname)
        if not found:
            return None
        msg = ipr.get_links(found[0])[0]
        info = msg.get_attr('IFLA_LINKINFO')
        data = info.get_attr('IFLA_INFO_DATA') if info else None
        addrs = sorted('%s/%d' % (a.get_attr('IFA_ADDRESS'), a['prefixlen']) for a in ipr.get_addr(index=found[0])
                       if not a.get_attr('IFA_ADDRESS').startswith('fe80'))
        return {
            'kind': info.get_attr('IFLA_INFO_KIND') if info else None,
            'data': dict(data['attrs']) if data else {},
            'link': msg.get_attr('IFLA_LINK'),
            'link_netnsid': msg.get_attr('IFLA_LINK_NETNSID'),
            'mac': msg.get_attr('IFLA_ADDRESS'),
            'mtu': msg.get_attr('IFLA_MTU'),
            'up': bool(msg['flags'] & 1),
            'alias': msg.get_attr('IFLA_IFALIAS'),
            'addresses': addrs,
            'routes': sorted((r.get_attr('RTA_DST'), r['dst_len'], r.get_attr('RTA_GATEWAY'))
                             for r in ipr.get_routes(table=254) if r.get_attr('RTA_OIF') == found[0]
                             and r['proto'] in (3, 4)),
        }
