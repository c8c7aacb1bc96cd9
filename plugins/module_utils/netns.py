# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Named network namespaces, compatible with ``ip netns`` (bind mounts below /run/netns)."""

from __future__ import annotations

import os
import pickle

NETNS_RUN_DIR = '/run/netns'


def namespace_path(name):
    return os.path.join(NETNS_RUN_DIR, name)


def namespace_exists(name):
    return os.path.isfile(namespace_path(name))


def list_namespaces():
    try:
        return sorted(os.listdir(NETNS_RUN_DIR))
    except FileNotFoundError:
        return []


def create_namespace(name):
    from pyroute2 import netns as pyroute2_netns
    pyroute2_netns.create(name)


def delete_namespace(name):
    from pyroute2 import netns as pyroute2_netns
    pyroute2_netns.remove(name)


def run_in_namespace(name, func, *args):
    """Run ``func(*args)`` in a forked child that entered namespace ``name``; return its result.

    Per-namespace state that is not reachable through netlink (``/proc/sys/net``)
    is read and written from inside the namespace; forking keeps the module
    process itself in the task's namespace whatever happens.
    """
    from pyroute2 import netns as pyroute2_netns

    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(read_fd)
        try:
            pyroute2_netns.setns(name, flags=0)
            outcome = (True, func(*args))
        except BaseException as exc:  # noqa: B036 - everything must reach the parent
            outcome = (False, '%s: %s' % (type(exc).__name__, exc))
        with os.fdopen(write_fd, 'wb') as pipe:
            pickle.dump(outcome, pipe)
        os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd, 'rb') as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    ok, value = pickle.loads(data) if data else (False, 'the child process died')
    if not ok:
        raise RuntimeError('in netns %s: %s' % (name, value))
    return value
