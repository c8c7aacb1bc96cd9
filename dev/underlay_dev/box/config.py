"""What a kernel box is made of: the UML binary and its modules, the paths inside, the environment of the
command (without AVX, see the package docstring), the console markers and the exit statuses."""

from __future__ import annotations

import signal
from pathlib import Path

from underlay_dev.paths import ROOT

BOX_TMP = '/run/box-tmp'
BOX_HOME = '/run/box-home'
MODULE_ROOT = '/run/box-modules'
BOX_DIR = ROOT / '.cache' / 'box'
UML = '/usr/bin/linux.uml'
UML_MODULES = Path('/usr/lib/uml/modules')
# Every one of these is a module in Debian's UML kernel (none is built in).
# ipv6 too: without it there are no IPv6 addresses, link-local or otherwise.
MODULES = ('ipv6', '8021q', 'ipvlan', 'dummy', 'veth', 'macvlan', 'macvtap', 'bridge')
BOX_PATH = '%s:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' % (ROOT / '.venv' / 'bin')
# See the module docstring: no AVX in userspace inside the box.
CPU_ENV = {
    'GLIBC_TUNABLES': 'glibc.cpu.hwcaps=' + ','.join('-' + f for f in (
        'AVX', 'AVX2', 'AVX512F', 'AVX512VL', 'AVX512BW', 'AVX512DQ', 'AVX512CD', 'AVX512ER', 'AVX512PF',
        'AVX_Fast_Unaligned_Load', 'AVX_VNNI', 'FMA', 'FMA4', 'XOP', 'F16C')),
    # Word 1 (CPUID.1 ECX:EDX) without bit 28 of ECX (AVX); word 2 (CPUID.7) all off.
    'OPENSSL_ia32cap': '~0x1000000000000000:0',
    # Go programs (dockerd, containerd, runc): without this, dockerd dies at start with a SIGSEGV in
    # its first memmove-heavy code (clobbered AVX registers).
    'GODEBUG': 'cpu.avx=off,cpu.avx2=off,cpu.fma=off',
}
PASS_THROUGH = ('CI', 'PYTEST_ADDOPTS')
# Lines PID 1 prints around COMMAND: what comes before and after (boot noise, "reboot: System
# halted") is shown only when the box fails.
READY = b'@@kernel-box: ready@@'
DONE = b'@@kernel-box: done@@'

EXIT_TIMEOUT, EXIT_BOX_FAILED = 124, 125
KILL_WAIT = 10.0
# What ends a run early (Ctrl-C, kill, a closed terminal); blocked while UML is started and torn down.
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class BoxError(Exception):
    pass


class Interrupted(Exception):
    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


def on_signal(signum, frame):
    raise Interrupted(signum)
