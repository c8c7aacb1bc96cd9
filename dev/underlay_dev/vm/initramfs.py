"""An initramfs (a gzipped cpio archive in the kernel's "newc" format) written from Python: no cpio tool needed."""

from __future__ import annotations

import gzip
import stat

TRAILER = 'TRAILER!!!'


def _entry(inode, name, mode, data=b''):
    name_bytes = name.encode() + b'\0'
    header = '070701' + ''.join('%08X' % value for value in (
        inode, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name_bytes), 0))
    out = header.encode() + name_bytes
    out += b'\0' * (-len(out) % 4)
    out += data + b'\0' * (-len(data) % 4)
    return out


def initramfs(files, directories=(), symlinks=()):
    """The archive: ``directories`` (paths), ``files`` (path -> (mode, bytes)), ``symlinks`` (path -> target)."""
    parts, inode = [], 1
    for path in directories:
        parts.append(_entry(inode, path, stat.S_IFDIR | 0o755))
        inode += 1
    for path, (mode, data) in files.items():
        parts.append(_entry(inode, path, stat.S_IFREG | mode, data))
        inode += 1
    for path, target in symlinks.items():
        parts.append(_entry(inode, path, stat.S_IFLNK | 0o777, target.encode()))
        inode += 1
    parts.append(_entry(0, TRAILER, 0))
    archive = b''.join(parts)
    archive += b'\0' * (-len(archive) % 512)
    return gzip.compress(archive, mtime=0)
