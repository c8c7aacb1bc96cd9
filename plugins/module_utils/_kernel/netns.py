# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Named network namespaces, compatible with ``ip netns`` (bind mounts below /run/netns), the namespaces without
a name that processes are in, and running a function inside a namespace (a forked child that entered it)."""

from __future__ import annotations

import ctypes
import errno
import os
import pickle
import socket
import stat
import traceback

from ansible_collections.underlay.network.plugins.module_utils._common.describe import UNNAMED_LABEL
from ansible_collections.underlay.network.plugins.module_utils._common.errors import NamespaceError, SysctlError

NETNS_RUN_DIR = '/run/netns'

CLONE_NEWNET = 0x40000000
CLONE_NEWNS = 0x00020000
MS_REC, MS_PRIVATE = 0x4000, 0x40000
# What reading a process's namespace gives once the process has exited.
PROCESS_GONE = (errno.ENOENT, errno.ESRCH)
# And a process the kernel does not show to the task at all (one of a more privileged context, outside the
# task's user namespace: root with CAP_SYS_PTRACE there is never refused): no task of ours acts in its
# namespace. Every other error fails the scan.
NOT_SHOWN = PROCESS_GONE + (errno.EACCES,)


def namespace_path(name):
    return os.path.join(NETNS_RUN_DIR, name)


def namespace_exists(name):
    return os.path.isfile(namespace_path(name))


def not_a_namespace(name):
    """What is wrong with /run/netns/NAME if it is there but holds no namespace, else None.

    A named namespace is a namespace file (nsfs) bind-mounted there. A plain file with nothing mounted on it is
    what a namespace deleted uncleanly leaves behind (or a /run kept across a reboot without its mounts):
    ``ip netns list`` still shows the name, yet nothing can enter it.
    """
    path = namespace_path(name)
    try:
        found = os.stat(path)
    except FileNotFoundError:
        return None
    if found.st_dev == os.stat('/proc/self/ns/net').st_dev:  # the namespace file system: a namespace is mounted
        return None
    what = 'a plain file' if stat.S_ISREG(found.st_mode) else 'no file'
    return ("%s is %s, not a network namespace: nothing is mounted on it (a leftover of a namespace that was not "
            "deleted cleanly); remove it with 'ip netns delete %s' and create the namespace again" % (path, what, name))


def list_namespaces():
    try:
        return sorted(os.listdir(NETNS_RUN_DIR))
    except FileNotFoundError:
        return []


def create_namespace(name):
    from pyroute2 import netns as pyroute2_netns
    try:
        pyroute2_netns.create(name)
    except OSError as exc:
        raise NamespaceError("creating netns '%s' failed: %s" % (name, exc.strerror or exc)) from exc


def delete_namespace(name):
    from pyroute2 import netns as pyroute2_netns
    try:
        pyroute2_netns.remove(name)
    except OSError as exc:
        raise NamespaceError("deleting netns '%s' failed: %s" % (name, exc.strerror or exc)) from exc


def socket_in_namespace(path, family, kind, proto=0):
    """A socket made inside the namespace at ``path`` (``/run/netns/NAME``, ``/proc/PID/ns/net``), without
    leaving it there: this thread enters the namespace
    (setns is per thread), opens the socket (which keeps the namespace it was made in) and comes back.

    pyroute2 forks a child for each socket in another namespace instead, which costs ten times as much
    (far more in the kernel box); an aggregate task opens a socket for every namespace it reads.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    own = os.open('/proc/thread-self/ns/net', os.O_RDONLY)
    try:
        target = os.open(path, os.O_RDONLY)
        try:
            if libc.setns(target, CLONE_NEWNET) != 0:
                errno = ctypes.get_errno()
                raise OSError(errno, 'entering the network namespace %s: %s' % (path, os.strerror(errno)))
            try:
                return socket.socket(family, kind, proto)
            finally:
                if libc.setns(own, CLONE_NEWNET) != 0:
                    # Never go on in another namespace than the task's: every later step would act there.
                    os.write(2, b'underlay.network: cannot return to the task\'s network namespace\n')
                    os._exit(70)
        finally:
            os.close(target)
    finally:
        os.close(own)


def unnamed_namespaces():
    """The network namespaces that processes are in but that have no name (a Docker container's, say):
    ``(path, label)`` pairs, one per namespace, neither the caller's own nor a named one.

    Links there can still hang off this host's links (a container's macvlan on a VLAN), so the guards
    that look for such links look there too. Only a process gone meanwhile (or not shown, ``NOT_SHOWN``)
    is skipped: any other error is raised, since a namespace left out is a guard that passes without looking.
    """
    seen = set()
    for path in ['/proc/self/ns/net'] + [namespace_path(name) for name in list_namespaces()]:
        found = _stat_unless_gone(path)
        if found is not None:
            seen.add((found.st_dev, found.st_ino))
    unnamed = []
    for entry in sorted((e for e in os.listdir('/proc') if e.isdigit()), key=int):
        path = '/proc/%s/ns/net' % entry
        found = _stat_unless_gone(path)
        command = _command_unless_gone(entry) if found is not None else None
        if command is None or (found.st_dev, found.st_ino) in seen:
            continue
        seen.add((found.st_dev, found.st_ino))
        unnamed.append((path, '%s%s (%s)' % (UNNAMED_LABEL, entry, command)))
    return unnamed


def labels_of_processes(pids):
    """The labels ``unnamed_namespaces`` gives the namespaces that processes ``pids`` are in."""
    wanted = set()
    for pid in pids:
        found = _stat_unless_gone('/proc/%d/ns/net' % pid)
        if found is not None:
            wanted.add((found.st_dev, found.st_ino))
    labels = set()
    for path, label in unnamed_namespaces() if wanted else ():
        found = _stat_unless_gone(path)
        if found is not None and (found.st_dev, found.st_ino) in wanted:
            labels.add(label)
    return labels


def _stat_unless_gone(path):
    try:
        return os.stat(path)
    except OSError as exc:
        if exc.errno in NOT_SHOWN:
            return None
        raise


def _command_unless_gone(pid):
    try:
        with open('/proc/%s/comm' % pid) as comm:
            return comm.read().strip()
    except OSError as exc:
        if exc.errno in NOT_SHOWN:
            return None
        raise


def run_in_namespace(name, func, *args):
    """Run ``func(*args)`` in a forked child that entered namespace ``name``; return its result.

    Per-namespace state that is not reachable through netlink (``/proc/sys/net``)
    is read and written from inside the namespace; forking keeps the module
    process itself in the task's namespace whatever happens.
    """
    def enter():
        from pyroute2 import netns as pyroute2_netns
        pyroute2_netns.setns(name, flags=0)  # flags=0: never create it on the way
    return _run_in_child(enter, "netns '%s'" % name, func, *args)


def run_in_new_namespace(func, *args):
    """Run ``func(*args)`` in a forked child inside a fresh, anonymous namespace.

    The namespace has no name and dies with the child: it shows what a new
    namespace would look like (which sysctls it has, their defaults) without
    creating anything that outlives the call, as check mode requires.
    """
    def enter():
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(CLONE_NEWNET) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, 'unshare(CLONE_NEWNET): %s' % os.strerror(errno))
    return _run_in_child(enter, 'a new network namespace', func, *args)


def run_with_sysfs(name, func, *args):
    """Run ``func(*args)`` in a forked child that sees the sysfs of namespace ``name`` (None: the task's) at /sys.

    /sys shows the devices of the namespace that mounted it, which is not the task's when the task was started
    with ``nsenter --net`` (an AWX job in a container, the lab): the child enters the namespace, takes a mount
    namespace of its own and mounts a fresh sysfs there, so nothing outside the child sees the mount.
    """
    def enter():
        if name is not None:
            from pyroute2 import netns as pyroute2_netns
            pyroute2_netns.setns(name, flags=0)
        libc = ctypes.CDLL(None, use_errno=True)
        for call, args in (('unshare', (CLONE_NEWNS,)), ('mount', (None, b'/', None, MS_REC | MS_PRIVATE, None)),
                           ('mount', (b'sysfs', b'/sys', b'sysfs', 0, None))):
            if getattr(libc, call)(*args) != 0:
                code = ctypes.get_errno()
                if call == 'mount' and args[1] == b'/sys' and code == errno.EBUSY:
                    continue  # the namespace's own sysfs is on /sys already (ip netns exec mounts it so)
                raise OSError(code, '%s: %s' % (call, os.strerror(code)))
    where = "netns '%s'" % name if name is not None else "the task's network namespace"
    return _run_in_child(enter, where, func, *args)


def _run_in_child(enter, where, func, *args):
    """What ``func(*args)`` returns in a forked child that ran ``enter()`` first.

    What the child may fail with (a namespace it cannot enter, a sysctl the kernel refuses) is raised here
    as ``NamespaceError`` or ``SysctlError``; anything else is a bug, raised as RuntimeError with the
    child's traceback, never as a clean failure.
    """
    try:
        read_fd, write_fd = os.pipe()
        pid = os.fork()
    except OSError as exc:
        raise NamespaceError('cannot start a process for %s: %s' % (where, exc.strerror or exc)) from exc
    if pid == 0:  # child
        os.close(read_fd)
        try:
            try:
                enter()
            except OSError as exc:
                outcome = ('entering', os.strerror(exc.errno) if exc.errno else str(exc))
            else:
                outcome = ('ok', func(*args))
        except (SysctlError, NamespaceError) as exc:
            outcome = (type(exc).__name__, str(exc))
        except BaseException:  # noqa: B036 - everything must reach the parent
            outcome = ('bug', traceback.format_exc())
        with os.fdopen(write_fd, 'wb') as pipe:
            pickle.dump(outcome, pipe)
        os._exit(0)  # no atexit handlers of the parent (AnsibleModule cleanup) in the child
    os.close(write_fd)
    with os.fdopen(read_fd, 'rb') as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    status, value = pickle.loads(data) if data else ('bug', 'the child process died')
    if status == 'ok':
        return value
    if status == 'entering':
        raise NamespaceError('entering %s failed: %s' % (where, value))
    if status == 'SysctlError':
        raise SysctlError('in %s: %s' % (where, value))
    if status == 'NamespaceError':
        raise NamespaceError('in %s: %s' % (where, value))
    raise RuntimeError('in %s: %s' % (where, value))
