"""The VM's boot files: the Debian kernel and its e1000 driver that scripts/bootstrap.sh unpacked from Debian's
linux-image package into .cache/vm (never installed into this machine's /boot), and an initramfs made here from
Debian's static busybox and ``init.sh``."""

from __future__ import annotations

from pathlib import Path

from underlay_dev.paths import ROOT
from underlay_dev.vm.initramfs import initramfs

VM_DIR = ROOT / '.cache' / 'vm'
BUSYBOX = Path('/bin/busybox')  # busybox-static: no shared libraries to carry along
INIT = Path(__file__).with_name('init.sh')


def kernel():
    found = sorted((VM_DIR / 'boot').glob('vmlinuz-*'))
    if not found:
        raise FileNotFoundError('no kernel under %s: run scripts/bootstrap.sh' % VM_DIR)
    return found[-1]


def e1000_driver():
    version = kernel().name.removeprefix('vmlinuz-')
    return VM_DIR / 'lib' / 'modules' / version / 'kernel' / 'drivers' / 'net' / 'ethernet' / 'intel' / 'e1000' / \
        'e1000.ko'


def build_initramfs():
    """Write .cache/vm/initramfs.gz (again when busybox, the driver or init.sh is newer) and return its path."""
    target = VM_DIR / 'initramfs.gz'
    sources = (BUSYBOX, e1000_driver(), INIT)
    if target.exists() and all(source.stat().st_mtime <= target.stat().st_mtime for source in sources):
        return target
    archive = initramfs(
        files={'init': (0o755, INIT.read_bytes()), 'bin/busybox': (0o755, BUSYBOX.read_bytes()),
               'e1000.ko': (0o644, e1000_driver().read_bytes())},
        directories=('bin', 'dev', 'proc', 'sys', 'tmp'),
        symlinks={'bin/sh': 'busybox'})
    tmp = target.with_suffix('.tmp')
    tmp.write_bytes(archive)
    tmp.replace(target)
    return target
