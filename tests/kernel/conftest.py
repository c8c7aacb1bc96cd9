"""Full-kernel tests: they run inside the kernel box, User-Mode Linux (.venv/bin/kernel-box).

The machine's own kernel has no 802.1Q VLAN, ipvlan or dummy links; the kernel
box boots a full 6.1 kernel as a program, with this checkout and its venv
visible at the same paths, and runs pytest inside it:

    make kernel                                                  # all of tests/kernel
    make kernel PYTEST_ARGS='tests/kernel/test_box.py::test_vlan_tags_separate_traffic'  # one test
    .venv/bin/kernel-box -- .venv/bin/pytest tests/kernel/test_box.py -k vlan         # directly

Every test here is marked ``uml``; outside the box it is skipped, with the
command that runs it as the reason. Inside, the fixtures are the integration
tests' ones (``dev/underlay_dev/testing/harness.py``): ``lab``, ``ansible``, ``collections_path``...
The box has a network stack of its own, so everything a test builds vanishes
with it; the lab still cleans up after each test, so that tests stay independent.

Keep the work done here to what needs the full kernel: the box boots in about
1.5 s, but every test here runs in CI on every push.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from pyroute2 import IPRoute
from underlay_dev.testing.docker_tier import docker_engine, docker_host
from underlay_dev.testing.harness import (
    ansible,
    collections_path,
    in_kernel_box,
    lab,
    no_leftover_namespaces,
    no_leftover_tap_nodes,
    unnamed_processes,
)

# The fixtures, registered for this directory.
__all__ = ['ansible', 'collections_path', 'docker_engine', 'docker_host', 'lab', 'no_leftover_namespaces',
           'no_leftover_tap_nodes', 'unnamed_processes']

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    inside = in_kernel_box()
    for item in items:
        if HERE not in Path(item.path).resolve().parents:
            continue
        item.add_marker(pytest.mark.uml)
        if not inside:
            item.add_marker(pytest.mark.skip(
                reason="needs the full kernel: run it in the kernel box with make kernel PYTEST_ARGS='%s'"
                       % item.nodeid))


LAB_HOST_ADDRESS = '172.28.252.45/20'  # the seed's host


@pytest.fixture
def host(lab):
    """The seed's lab host: a namespace whose eth0 is wired to the lab switch."""
    lab.up_switch()
    return lab.add_host('h1', address=LAB_HOST_ADDRESS)


@pytest.fixture
def play(ansible, host):
    """Run tasks as one play on ``host`` (errors ignored, so that every task reports); return the results.

    An Ansible run costs several seconds in the box: batch what can be checked together.
    """
    def play(*tasks):
        run = ansible.play([dict(task, ignore_errors=True) for task in tasks],
                           hosts={host: {'ansible_connection': 'underlay.network.netns'}})
        assert len(run.results) == len(tasks), run.stdout
        return run.results
    return play


@pytest.fixture
def unnamed_namespace():
    """A network namespace without a name, as a container runtime makes one: that of a process started
    with ``unshare --net``. Yields a function moving a link of a lab namespace into it (raw pyroute2);
    the process is killed afterwards, and its namespace goes with the links in it."""
    process = subprocess.Popen(['unshare', '--net', 'sleep', '600'])
    own = os.stat('/proc/self/ns/net').st_ino
    deadline = time.monotonic() + 10
    while os.stat('/proc/%d/ns/net' % process.pid).st_ino == own:  # until unshare has done it
        assert time.monotonic() < deadline and process.poll() is None, 'unshare --net did not start'
        time.sleep(0.05)

    def move(namespace, ifname):
        with IPRoute(netns=namespace, flags=0) as ipr:
            ipr.link('set', index=ipr.link_lookup(ifname=ifname)[0], net_ns_pid=process.pid)
        return process.pid

    yield move
    process.kill()
    process.wait()
