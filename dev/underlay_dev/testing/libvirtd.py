"""A real libvirtd inside a lab network namespace, for the vm_underlay role's libvirt networks.

``Libvirtd(namespace, workdir)`` starts Debian's libvirtd (system mode, as root) with ``nsenter --net`` in an
existing lab namespace and, through ``unshare -m``, in a mount namespace of its own where /run, /etc/libvirt and
libvirt's state directories are empty tmpfs mounts: nothing it defines or writes reaches this machine's files,
and nothing of the machine's libvirt (there is none: libvirt-daemon-system is not installed) reaches it. Its API
socket is under ``workdir``, named by ``uri``. A context manager; leaving it kills the daemon and removes
``workdir``. Its log is ``workdir/libvirtd.log`` while it runs; a start that fails quotes it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

LIBVIRTD = '/usr/sbin/libvirtd'
START_TIMEOUT = 60.0
PRIVATE_DIRS = ('/run', '/etc/libvirt', '/var/lib/libvirt', '/var/cache/libvirt', '/var/log/libvirt')


class Libvirtd:
    def __init__(self, namespace, workdir):
        self.namespace, self.workdir = namespace, Path(workdir)
        self.socket_dir = self.workdir / 'sock'
        self.uri = 'qemu:///system?socket=%s' % (self.socket_dir / 'libvirt-sock')
        self.process = None

    def _accounts(self):
        """Copies of /etc/passwd and /etc/group with the libvirt-qemu user and group that libvirtd's QEMU driver
        looks up at start (libvirt-daemon-system, which would create them here, stays out), mounted over the
        originals in the daemon's mount namespace only."""
        copies = []
        for name, entry in (('passwd', 'libvirt-qemu:x:64055:64055:Libvirt Qemu:/var/lib/libvirt:/usr/sbin/nologin'),
                            ('group', 'libvirt-qemu:x:64055:')):
            copy = self.workdir / name
            copy.write_text(Path('/etc', name).read_text() + entry + '\n')
            copies.append('mount --bind %s /etc/%s' % (copy, name))
        return copies

    def _script(self, config):
        mounts = ['mount -t tmpfs -o mode=755 tmpfs %s' % path for path in PRIVATE_DIRS if os.path.isdir(path)]
        return '%s && exec %s --config %s' % (' && '.join(mounts + self._accounts()), LIBVIRTD, config)

    def __enter__(self):
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / 'libvirtd.conf'
        config.write_text('unix_sock_dir = "%s"\nauth_unix_rw = "none"\nauth_unix_ro = "none"\n'
                          'log_outputs = "3:file:%s"\n' % (self.socket_dir, self.workdir / 'libvirtd.log'))
        self.process = subprocess.Popen(
            ['nsenter', '--net=/run/netns/' + self.namespace, 'unshare', '-m', '--propagation', 'private', 'sh',
             '-c', self._script(config)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                log = self.workdir / 'libvirtd.log'
                message = log.read_text()[-3000:] if log.exists() else ''
                self.__exit__(None, None, None)
                raise RuntimeError('libvirtd did not come up in %s: %s' % (self.namespace, message))
            time.sleep(0.2)
        return self

    def virsh(self, *args):
        return subprocess.run(['virsh', '-c', self.uri, *args], capture_output=True, text=True, timeout=60,
                              check=False)

    def answers(self):
        return (self.socket_dir / 'libvirt-sock').exists() and self.virsh('net-list', '--all').returncode == 0

    def __exit__(self, *exc):
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)
