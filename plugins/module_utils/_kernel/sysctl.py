# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The per-namespace sysctls below ``/proc/sys/net``.

They are not reachable through netlink, so they are read and written by a forked child that entered the
namespace (``netns.run_in_namespace``): ``/proc/sys/net`` shows the reading process's namespace."""

from __future__ import annotations

import os

from ansible_collections.underlay.network.plugins.module_utils._common.errors import SysctlError, ValidationError

PROC_SYS = '/proc/sys'


def sysctl_path(key):
    """``net.ipv4.ip_forward`` -> ``/proc/sys/net/ipv4/ip_forward``.

    As with sysctl(8), a key written with ``/`` is split there only, so that
    interface names with dots work (``net/ipv4/conf/eth0.10/forwarding``).
    """
    parts = key.split('/') if '/' in key else key.split('.')
    return os.path.join(PROC_SYS, *parts)


def normalize_sysctl_value(value):
    """Values compare as strings with whitespace runs folded (``32768\\t60999`` == ``32768 60999``)."""
    if isinstance(value, bool):
        value = int(value)
    return ' '.join(str(value).split())


def normalize_sysctls(values, param='sysctls'):
    """Validate the keys of a ``{key: value}`` dict and normalize its values (no I/O)."""
    if not isinstance(values, dict):
        raise ValidationError('%s must be a dictionary of sysctl keys and values' % param)
    result = {}
    paths = {}
    for key, value in values.items():
        key = str(key).strip()
        parts = key.split('/') if '/' in key else key.split('.')
        if not key or any(p in ('', '.', '..') or p != p.strip() for p in parts):
            raise ValidationError("%s key '%s' is not a sysctl key; write it like net.ipv4.ip_forward" % (param, key))
        if parts[0] != 'net':
            raise ValidationError(
                "%s key '%s' is not set per network namespace: only net.* keys belong to a namespace "
                '(set host-wide sysctls with ansible.posix.sysctl instead)' % (param, key))
        if value is None:
            raise ValidationError("%s key '%s' has no value; give the value to set, e.g. '1'" % (param, key))
        path = sysctl_path(key)
        if path in paths:
            raise ValidationError("%s keys '%s' and '%s' are the same setting; keep one" % (param, paths[path], key))
        paths[path] = key
        result[key] = normalize_sysctl_value(value)
    return result


def read_sysctls(keys):
    """``{key: (value, writable)}`` as the calling process sees them; value None: no such sysctl.

    Run it inside the namespace through ``run_in_namespace``.
    """
    result = {}
    for key in keys:
        path = sysctl_path(key)
        if not os.path.isfile(path):
            result[key] = (None, False)
            continue
        try:
            with open(path) as handle:
                result[key] = (normalize_sysctl_value(handle.read()), os.access(path, os.W_OK))
        except OSError as exc:  # write-only keys (route.flush) cannot be compared, so not managed
            raise SysctlError('sysctl %s cannot be read (%s), so it cannot be compared' % (key, exc.strerror)) from None
    return result


def write_sysctls(changes):
    """Write ``[(key, old, new)]`` in order; on a failure restore what was written, then raise.

    Run it inside the namespace through ``run_in_namespace``.
    """
    written = []
    for key, old, new in changes:
        try:
            _write_sysctl(key, new)
        except OSError as exc:
            for done_key, done_old in reversed(written):
                try:
                    _write_sysctl(done_key, done_old)
                except OSError:
                    pass  # best effort; the error below is what matters
            restored = ', '.join(done_key for done_key, _old in written)
            raise SysctlError("writing sysctl %s = '%s' failed: %s (%s)" % (
                key, new, exc.strerror, 'restored ' + restored if written else 'nothing else was written')) from None
        written.append((key, old))


def _write_sysctl(key, value):
    # One unbuffered write: the kernel's verdict (e.g. EINVAL) comes back right here.
    fd = os.open(sysctl_path(key), os.O_WRONLY)
    try:
        os.write(fd, (value + '\n').encode())
    finally:
        os.close(fd)
