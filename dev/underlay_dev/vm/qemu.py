"""A test VM: qemu (TCG: KVM hangs on these machines) booting image.py's kernel and initramfs, its one NIC the tap
device of a macvtap (``-netdev tap,fd=N``, the file descriptor of /dev/tapN, as libvirt hands it over), driven
through its serial console.

qemu runs inside the lab host's network namespace and has no network of its own (no user networking, no
default devices): the VM's frames go only to its macvtap. It runs as an unprivileged user (``user``), which opens
the tap device itself: the node's owner, group and mode must let it. ``Vm`` is a context manager; leaving it kills
qemu.
"""

from __future__ import annotations

import os
import pwd
import selectors
import shlex
import subprocess
import time

from underlay_dev.vm.image import build_initramfs, kernel

QEMU = '/usr/bin/qemu-system-x86_64'
BOOT_TIMEOUT = 90  # seconds; a boot takes about 8 s here (TCG), far more on a loaded 2-core machine
READY, RC = 'UNDERLAY-READY', 'UNDERLAY-RC '


class VmError(RuntimeError):
    pass


class Vm:
    def __init__(self, namespace, tap_path, mac, address, routes=(), user='nobody', memory_mib=192):
        self.namespace, self.tap_path, self.mac, self.address = namespace, tap_path, mac, address
        self.user = pwd.getpwnam(user)
        self.routes, self.memory_mib = list(routes), memory_mib
        self.process, self.console = None, ''
        self.boot_seconds = None

    def command(self):
        cmdline = 'console=ttyS0 quiet loglevel=1 panic=-1 underlay.address=%s' % self.address
        if self.routes:
            cmdline += ' underlay.routes=%s' % ','.join('%s@%s' % route for route in self.routes)
        # The unprivileged qemu opens the tap device itself, as file descriptor 3.
        return ['nsenter', '--net=/run/netns/' + self.namespace, 'setpriv', '--reuid', str(self.user.pw_uid),
                '--regid', str(self.user.pw_gid), '--clear-groups', '--', 'sh', '-c',
                'exec "$0" "$@" 3<>%s' % shlex.quote(self.tap_path),
                QEMU, '-accel', 'tcg', '-m', str(self.memory_mib),
                '-nodefaults', '-no-user-config', '-display', 'none', '-serial', 'stdio', '-no-reboot',
                '-kernel', str(kernel()), '-initrd', str(build_initramfs()), '-append', cmdline,
                '-netdev', 'tap,id=n0,fd=3', '-device', 'e1000,netdev=n0,mac=%s' % self.mac]

    def __enter__(self):
        started = time.monotonic()
        self.process = subprocess.Popen(self.command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT)
        try:
            self._read_until(lambda: READY in self.console, BOOT_TIMEOUT, 'boot')
        except BaseException:
            self.__exit__(None, None, None)
            raise
        self.boot_seconds = time.monotonic() - started
        return self

    def __exit__(self, *exc):
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
        if self.process is not None:
            self.process.wait(timeout=30)

    def _read_until(self, done, timeout, what):
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            while not done():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise VmError('the VM did not finish %s within %d s; its console:\n%s'
                                  % (what, timeout, self.console[-3000:]))
                if selector.select(left):
                    chunk = os.read(self.process.stdout.fileno(), 65536)
                    if not chunk:
                        raise VmError('qemu exited (%s) during %s; its console:\n%s'
                                      % (self.process.wait(), what, self.console[-3000:]))
                    self.console += chunk.decode(errors='replace').replace('\r', '')

    def run(self, command, timeout=30):
        """Run ``command`` in the VM (a shell line); returns (exit status, output)."""
        start = len(self.console)
        self.process.stdin.write(command.encode() + b'\n')
        self.process.stdin.flush()
        self._read_until(lambda: RC in self.console[start:] and self.console.endswith('\n'), timeout, command)
        answer = self.console[start:]
        output, _, status = answer.rpartition(RC)
        return int(status.split()[0]), output

    def reaches(self, address):
        """One bounded ping from the VM to ``address``."""
        return self.run('ping -c 1 -W 2 %s' % address)[0] == 0
