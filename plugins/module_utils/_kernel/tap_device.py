# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A macvtap link's character device, ``/dev/tapN`` (N: the link's ifindex), through which a VM's qemu reads and
writes the link's frames.

The kernel gives the device its numbers (the macvtap major, a minor of its own) and tells them in sysfs only
(``/sys/class/macvtap/tapN/dev``, in the link's namespace); udev makes the node from them where it runs,
and for a link in another network namespace it never does (the namespace's events do not reach it). This file
reads the numbers, and reads, makes and sets the node (owner, group, permissions) so that an unprivileged qemu
or libvirt can open it.
"""

from __future__ import annotations

import errno
import grp
import os
import pwd
import stat
import time

from ansible_collections.underlay.network.plugins.module_utils._common.errors import DeviceNodeError
from ansible_collections.underlay.network.plugins.module_utils._kernel.netns import run_with_sysfs

DEVICE_DIR = '/dev'
# Where udev runs (its control socket is there), it makes the node itself right after the link appears: wait
# for it that long rather than race it, then set owner, group and permissions.
UDEV_CONTROL = '/run/udev/control'
UDEV_WAIT = 2.0
# A node made here before anything else is declared: what udev gives one by default.
DEFAULT_NODE = {'owner': 'root', 'group': 'root', 'mode': '0600'}


def tap_path(index):
    return os.path.join(DEVICE_DIR, 'tap%d' % index)


def device_numbers(netns, index):
    """The (major, minor) the kernel gave the tap device of the macvtap with ifindex ``index`` in ``netns``
    (None: the task's namespace), or None when sysfs does not show one."""
    return run_with_sysfs(netns, _read_numbers, index)


def _read_numbers(index):
    try:
        with open('/sys/class/macvtap/tap%d/dev' % index) as numbers:
            major, minor = numbers.read().strip().split(':')
    except OSError:
        return None
    return int(major), int(minor)


def read_node(path, numbers):
    """The node at ``path`` as the links report it: owner, group and mode when it is the character device
    ``numbers``; all None when it is missing or another device (it must then be made anew)."""
    try:
        found = os.lstat(path)
    except FileNotFoundError:
        found = None
    if found is None or not stat.S_ISCHR(found.st_mode) or numbers is None \
            or (os.major(found.st_rdev), os.minor(found.st_rdev)) != numbers:
        return {'path': path, 'owner': None, 'group': None, 'mode': None}
    return {'path': path, 'owner': user_name(found.st_uid), 'group': group_name(found.st_gid),
            'mode': '%04o' % stat.S_IMODE(found.st_mode)}


def write_node(path, numbers, node):
    """Make ``path`` the character device ``numbers`` with ``node``'s owner, group and mode; returns the action.

    A regular file, a directory or a link at ``path`` is someone else's: refused. Another character device
    there is a stale node (of a macvtap gone since, whose ifindex this one has now): replaced atomically."""
    if numbers is None:
        raise DeviceNodeError('the kernel shows no tap device for %s (sysfs has no /sys/class/macvtap entry for it)'
                              % path)
    if os.path.exists(UDEV_CONTROL):
        _wait_for_udev(path, numbers)
    try:
        found = os.lstat(path)
    except FileNotFoundError:
        found = None
    if found is not None and not stat.S_ISCHR(found.st_mode):
        raise DeviceNodeError('%s exists and is not a character device, so it is not a tap device node this '
                              'collection may replace; move it away' % path, errno.EEXIST)
    uid, gid, mode = user_id(node['owner']), group_id(node['group']), int(node['mode'], 8)
    try:
        if found is None or (os.major(found.st_rdev), os.minor(found.st_rdev)) != numbers:
            made = '%s.underlay-%d' % (path, os.getpid())
            os.mknod(made, stat.S_IFCHR | mode, os.makedev(*numbers))
            _set(made, uid, gid, mode)
            os.replace(made, path)
            return 'make %s (%d:%d, %s:%s %s)' % (path, numbers[0], numbers[1], node['owner'], node['group'],
                                                  node['mode'])
        _set(path, uid, gid, mode)
    except OSError as exc:
        raise DeviceNodeError('cannot make or set %s: %s' % (path, exc.strerror or exc), exc.errno) from exc
    return 'set %s to %s:%s %s' % (path, node['owner'], node['group'], node['mode'])


def remove_node(path, numbers):
    """Remove the node of a deleted macvtap when it is still its device (``numbers``, read before the deletion);
    returns the actions taken. udev may have removed it already."""
    try:
        found = os.lstat(path)
        if numbers is None or not stat.S_ISCHR(found.st_mode) \
                or (os.major(found.st_rdev), os.minor(found.st_rdev)) != numbers:
            return []
        os.unlink(path)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise DeviceNodeError('cannot remove %s: %s' % (path, exc.strerror or exc), exc.errno) from exc
    return ['remove %s' % path]


def _set(path, uid, gid, mode):
    os.chown(path, uid, gid)
    os.chmod(path, mode)  # after chown, which clears set-id bits


def _wait_for_udev(path, numbers):
    deadline = time.monotonic() + UDEV_WAIT
    while time.monotonic() < deadline:
        try:
            found = os.stat(path)
            if (os.major(found.st_rdev), os.minor(found.st_rdev)) == numbers:
                return
        except FileNotFoundError:
            pass
        time.sleep(0.05)


def user_name(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def group_name(gid):
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def user_id(user):
    """The uid of a user name or number (a number needs no entry in the user database, as with chown)."""
    return int(user) if user.isdigit() else pwd.getpwnam(user).pw_uid


def group_id(group):
    return int(group) if group.isdigit() else grp.getgrnam(group).gr_gid
