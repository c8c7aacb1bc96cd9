#!/usr/bin/env python3
"""The kernel box: run one command under a full Linux kernel (User-Mode Linux).

    scripts/kernel_box.py [--timeout SECONDS] [--mem 1G] -- COMMAND [ARG...]
    scripts/kernel_box.py --timeout 600 -- .venv/bin/pytest tests/kernel/test_box.py::test_vlan_link

The machine's own kernel has no loadable modules (no 802.1Q VLAN, ipvlan,
dummy, ...). Debian's ``user-mode-linux`` package ships a 6.1 kernel as an
ordinary program, ``/usr/bin/linux.uml``, with all of those as modules. This
script boots it with the host's root file system mounted read-write through
hostfs (so the checkout, the venv and every tool are visible at the same
paths), loads the modules, runs COMMAND in the checkout's root directory, and
powers the box off. The box has a kernel, and so a network stack, of its own:
nothing done inside touches the machine's interfaces, routes or firewall.

* COMMAND's output streams live to our stdout (the box's console is a pipe to
  this process); its exit status becomes ours. 124 means the time limit was
  hit (it covers the boot too), 125 that the box itself failed (did not boot,
  a module did not load, no exit status came back); 130/143 after Ctrl-C or
  SIGTERM.
* Inside, COMMAND gets a fresh environment: PATH starting with the venv's bin,
  HOME and TMPDIR on the box's /run, LANG=C.UTF-8, TERM=dumb, UNDERLAY_KERNEL_BOX=1 (tests use
  it to know they are inside), the CPU-feature switches explained below, and
  CI / PYTEST_ADDOPTS / any --env NAME[=VALUE] passed through. /run (so
  /run/netns), /dev and /dev/shm are the box's own (tmpfs/devtmpfs);
  everything else, /tmp included (a checkout may live there), is the host's
  file system, read-write.
* Teardown always happens: UML runs in a process group of its own (it forks
  helper processes), which is SIGKILLed on timeout, Ctrl-C, SIGTERM, SIGHUP
  and after a normal poweroff; this process is a child subreaper, so orphaned
  helpers are reaped here, and it waits until the group is empty. The run
  directory (``.cache/box/run-PID-*``: the generated init script, UML's pid
  file and mconsole socket, the exit status) is removed. Should this process
  itself be SIGKILLed, a forked watchdog kills the group and removes the run
  directory; the next run also removes whatever a dead run left behind.
* stdin is not passed on: the box reads /dev/null, so it runs the same
  from a terminal, under make, and in CI without stdin or a terminal.

Why the seccomp filter (machines whose CPUs have AMX/AVX-512)
--------------------------------------------------------------
UML runs each of its processes as a host process that it drives with ptrace,
and saves and restores their registers with PTRACE_GETREGSET/SETREGSET. For
the floating point and vector state it first tries NT_X86_XSTATE (XSAVE
format), with a buffer sized for the CPUs UML 6.1 knows. With AMX (Sapphire
Rapids and later) the host's XSAVE area is much larger than that buffer, and
UML dies at boot with ``userspace - ptrace set fp regs failed, errno = 14``
(EFAULT). If PTRACE_GETREGSET NT_X86_XSTATE fails during its start-up probe,
UML falls back to the FXSAVE format (x87 + SSE only), which works everywhere.
So linux.uml is started under a seccomp filter that makes exactly
``ptrace(PTRACE_GETREGSET, pid, NT_X86_XSTATE, ...)`` fail with EIO (nothing
else is touched). It is applied on every machine, so that the box behaves the
same everywhere.

The price: only the SSE state of processes inside the box survives a context
switch, so userspace inside must not use AVX registers (the upper halves get
clobbered: without the switches below, printf printed "%s" literally). glibc
picks its string functions by CPU feature, so the box sets GLIBC_TUNABLES to
hide AVX/AVX2/AVX-512/FMA (on the kernel command line too, so that PID 1's
shell gets it), and OpenSSL (Python's ssl and hashlib, the ``cryptography``
wheel Ansible uses) gets OPENSSL_ia32cap to mask AVX and every CPUID-7
feature, and Go programs (the Docker engine) get GODEBUG to turn their AVX
code paths off.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import re
import select
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BOX_TMP = '/run/box-tmp'
BOX_HOME = '/run/box-home'
MODULE_ROOT = '/run/box-modules'
BOX_DIR = ROOT / '.cache' / 'box'
UML = '/usr/bin/linux.uml'
UML_MODULES = Path('/usr/lib/uml/modules')
# Every one of these is a module in Debian's UML kernel (none is built in).
# ipv6 too: without it there are no IPv6 addresses, link-local or otherwise.
MODULES = ('ipv6', '8021q', 'ipvlan', 'dummy', 'veth', 'macvlan', 'bridge')
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

# seccomp: struct seccomp_data is {int nr; __u32 arch; __u64 ip; __u64 args[6]}.
_AUDIT_ARCH_X86_64 = 0xC000003E
_NR_PTRACE = 101
_PTRACE_GETREGSET = 0x4204
_NT_X86_XSTATE = 0x202
_BPF_LD_W_ABS, _BPF_JEQ_K, _BPF_RET_K = 0x20, 0x15, 0x06
_SECCOMP_RET_ALLOW, _SECCOMP_RET_ERRNO = 0x7FFF0000, 0x00050000
_EIO = 5
_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, _PR_SET_NO_NEW_PRIVS = 22, 2, 38
_PR_SET_PDEATHSIG, _PR_SET_CHILD_SUBREAPER = 1, 36
# What ends a run early (Ctrl-C, kill, a closed terminal); blocked while UML is started and torn down.
_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _bpf(code, jt, jf, k):
    return struct.pack('HBBI', code, jt, jf, k)


# if arch == x86_64 and nr == ptrace and args[0] == PTRACE_GETREGSET and args[2] == NT_X86_XSTATE:
#     return -EIO
# allow  (the 32-bit compares look at the low halves of the 64-bit arguments)
_FILTER = b''.join([
    _bpf(_BPF_LD_W_ABS, 0, 0, 4), _bpf(_BPF_JEQ_K, 0, 7, _AUDIT_ARCH_X86_64),
    _bpf(_BPF_LD_W_ABS, 0, 0, 0), _bpf(_BPF_JEQ_K, 0, 5, _NR_PTRACE),
    _bpf(_BPF_LD_W_ABS, 0, 0, 16), _bpf(_BPF_JEQ_K, 0, 3, _PTRACE_GETREGSET),
    _bpf(_BPF_LD_W_ABS, 0, 0, 32), _bpf(_BPF_JEQ_K, 0, 1, _NT_X86_XSTATE),
    _bpf(_BPF_RET_K, 0, 0, _SECCOMP_RET_ERRNO | _EIO),
    _bpf(_BPF_RET_K, 0, 0, _SECCOMP_RET_ALLOW),
])


class _SockFprog(ctypes.Structure):
    _fields_ = [('len', ctypes.c_ushort), ('filter', ctypes.c_void_p)]


_libc = ctypes.CDLL(None, use_errno=True)
# Built before any fork: the child only makes system calls.
_filter_buf = ctypes.create_string_buffer(_FILTER, len(_FILTER))
_fprog = _SockFprog(len(_FILTER) // 8, ctypes.cast(_filter_buf, ctypes.c_void_p))


def _uml_preexec():
    """In the forked child, before exec linux.uml: our signal mask undone, die with us, the ptrace filter."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)
    if _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        os._exit(EXIT_BOX_FAILED)
    if _libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        os._exit(EXIT_BOX_FAILED)
    if _libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(_fprog), 0, 0) != 0:
        os._exit(EXIT_BOX_FAILED)


class BoxError(Exception):
    pass


class Interrupted(Exception):
    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


def _on_signal(signum, frame):
    raise Interrupted(signum)


def modules_version():
    versions = sorted(p.name for p in UML_MODULES.iterdir() if p.is_dir()) if UML_MODULES.is_dir() else []
    if not os.access(UML, os.X_OK) or not versions:
        raise BoxError('%s or its modules under %s are missing: install the Debian packages '
                       'user-mode-linux, kmod and busybox-static (scripts/bootstrap.sh does)' % (UML, UML_MODULES))
    return versions[-1]


def init_script(run_dir, command, env, modules, version):
    """PID 1 of the box: set the kernel up, run COMMAND, leave its exit status in run_dir, power off."""
    q = shlex.quote
    setup = [
        # The console is a tty: no \n -> \r\n translation on the way out.
        ('stty -onlcr', None),
        ('mount -t proc proc /proc', 'mount /proc'),
        ('mount -t sysfs sysfs /sys', 'mount /sys'),
        # The box's own /dev (the host's, seen through hostfs, is not ours to write to);
        # the kernel mounts it by itself when built with DEVTMPFS_MOUNT.
        ('mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev', 'mount /dev'),
        ('mkdir -p /dev/pts /dev/shm', 'mkdir /dev/pts /dev/shm'),
        ('mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts', 'mount /dev/pts'),
        ('mount -t tmpfs -o mode=1777 tmpfs /dev/shm', 'mount /dev/shm'),
        ('ln -sfn /proc/self/fd /dev/fd && ln -sf /proc/self/fd/0 /dev/stdin && '
         'ln -sf /proc/self/fd/1 /dev/stdout && ln -sf /proc/self/fd/2 /dev/stderr', 'link /dev/fd'),
        # /run holds /run/netns: the box's namespaces never show up on the host.
        ('mount -t tmpfs -o mode=755 tmpfs /run && mkdir -p /run/lock', 'mount /run'),
        # Temporary files and HOME live on the box's /run, so that a checkout under /tmp
        # (a CI clone) stays visible: /tmp itself is the host's, seen through hostfs.
        ('mkdir -p -m 1777 %s && mkdir -p %s' % (q(BOX_TMP), q(BOX_HOME)), 'mkdir ' + BOX_TMP),
        # UML's modules, where modprobe looks for them: MODULE_ROOT/lib/modules/VERSION on the box's
        # own /run (the host may have no /lib/modules at all, and we do not write to the host's /lib).
        ('mkdir -p %s/lib/modules/%s' % (q(MODULE_ROOT), q(version)), 'mkdir the module tree'),
        ('mount --bind %s %s/lib/modules/%s' % (q(str(UML_MODULES / version)), q(MODULE_ROOT), q(version)),
         'bind the modules'),
        ('modprobe -d %s -a %s' % (q(MODULE_ROOT), ' '.join(q(m) for m in modules)),
         'modprobe ' + ' '.join(modules)),
        # cgroup v1 hierarchies, one per controller the kernel has, as the Docker engine
        # (lab/lab_dockerd.py) expects on a machine of dockerd 20.10's age.
        ('mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup && '
         "for c in $(awk '!/^#/ && $4 == 1 {print $1}' /proc/cgroups); do "
         'mkdir /sys/fs/cgroup/$c && mount -t cgroup -o $c cgroup /sys/fs/cgroup/$c || exit 1; done',
         'mount the cgroup v1 controllers'),
        # Nothing else brings lo up; with lo down, ipvlan L3 traffic to the host's own address is lost.
        ('ip link set lo up', 'ip link set lo up'),
        ('cd %s' % q(str(ROOT)), 'cd ' + str(ROOT)),
    ]
    lines = [
        '#!/bin/sh',
        '# Generated by scripts/kernel_box.py: PID 1 of the kernel box.',
        'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        'off() { sync; busybox poweroff -f; echo o >/proc/sysrq-trigger; }',
        'fail() { echo "kernel box: setup failed: $1" >&2; off; }',
    ]
    for cmd, what in setup:
        lines.append(cmd if what is None else '%s || fail %s' % (cmd, q(what)))
    lines += [
        'echo %s' % q(READY.decode()),
        'env -i %s %s </dev/null' % (' '.join(q('%s=%s' % kv) for kv in env.items()), shlex.join(command)),
        'status=$?',
        'echo %s' % q(DONE.decode()),
        'echo $status >%s' % q(str(run_dir / 'status.tmp')),
        'mv %s %s' % (q(str(run_dir / 'status.tmp')), q(str(run_dir / 'status'))),
        'off',
        '',
    ]
    return '\n'.join(lines)


def passed_env(extra):
    """What the caller hands into the box: PASS_THROUGH names set here, and each NAME or NAME=VALUE of ``extra``."""
    env = {name: os.environ[name] for name in PASS_THROUGH if name in os.environ}
    for item in extra:
        name, eq, value = item.partition('=')
        if not re.fullmatch(r'[A-Za-z_][A-Za-z0-9_]*', name):
            raise BoxError('--env %r: not NAME or NAME=VALUE' % item)
        if eq:
            env[name] = value
        elif name in os.environ:
            env[name] = os.environ[name]
    return env


def box_env(extra):
    env = {
        'PATH': BOX_PATH,
        'HOME': BOX_HOME,
        'TMPDIR': BOX_TMP,
        'LANG': 'C.UTF-8',
        'TERM': 'dumb',
        'UNDERLAY_KERNEL_BOX': '1',
        'COLUMNS': str(shutil.get_terminal_size((100, 24)).columns),
    }
    env.update(CPU_ENV)
    env.update(passed_env(extra))
    return env


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def process_running(pid):
    """True while process ``pid`` exists and is not a zombie (one that is not our child is reaped by others)."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            state = f.read().rpartition(')')[2].split()[0]
    except (OSError, IndexError):
        return False
    return state != 'Z'


def processes_matching(wanted):
    """PIDs of the processes whose command line (a list of bytes arguments) ``wanted`` accepts."""
    found = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/cmdline' % entry, 'rb') as f:
                argv = f.read().split(b'\0')
        except OSError:
            continue  # gone meanwhile
        if wanted(argv):
            found.append(int(entry))
    return found


def _uml_processes_of(run_dir):
    """PIDs of linux.uml processes (main and helpers) booted with run_dir's init script."""
    marker = ('init=%s' % (run_dir / 'init.sh')).encode()
    return processes_matching(lambda argv: os.path.basename(argv[0]) == b'linux.uml' and marker in argv)


def uml_processes_of_runner(pid):
    """PIDs of the linux.uml processes (main and helpers) that the kernel_box.py process ``pid`` booted."""
    marker = ('init=%s/run-%d-' % (BOX_DIR, pid)).encode()
    return processes_matching(lambda argv: os.path.basename(argv[0]) == b'linux.uml'
                              and any(arg.startswith(marker) for arg in argv))


def remove_stale_runs():
    """Clean up after runs that could not clean up themselves (SIGKILLed): only run-PID-* whose PID is gone."""
    if not BOX_DIR.is_dir():
        return
    for run_dir in BOX_DIR.glob('run-*-*'):
        m = re.fullmatch(r'run-(\d+)-\w+', run_dir.name)
        if not m or _pid_alive(int(m.group(1))):
            continue
        for pid in _uml_processes_of(run_dir):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(run_dir, ignore_errors=True)


def kill_group(proc):
    """SIGKILL UML's whole process group, reap it (we are the subreaper) and wait until it is empty."""
    pgid = proc.pid
    deadline = time.monotonic() + KILL_WAIT
    while True:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if proc.returncode is None:
            try:
                proc.wait(timeout=0.1)
            except subprocess.TimeoutExpired:
                pass
        # Orphaned helpers were reparented to us: reap whatever has died.
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            if pid == proc.pid:
                proc.returncode = os.waitstatus_to_exitcode(status)
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            if proc.returncode is not None:
                return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def start_watchdog(pgid, run_dir, close_fd):
    """Fork a process that SIGKILLs UML's group as soon as we are gone, however we went (even SIGKILLed).

    PR_SET_PDEATHSIG only takes UML's main process with us, not the helpers it
    forked. Returns (pid, fd): closing fd ends the watchdog. It removes the run
    dir too (a no-op when we did).
    """
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            for signum in _SIGNALS:
                signal.signal(signum, signal.SIG_IGN)
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            os.close(w)
            os.close(close_fd)
            os.read(r, 1)  # b'' once every write end is closed: we have exited, or are done
            try:
                os.killpg(pgid, signal.SIGKILL)
            except OSError:
                pass
            shutil.rmtree(run_dir, ignore_errors=True)
        finally:
            os._exit(0)
    os.close(r)
    return pid, w


class Output:
    """The console stream: COMMAND's part (between READY and DONE) passed through as it comes.

    Everything else is held back, to be shown only when the box fails.
    """

    def __init__(self, out):
        self.out = out
        self.held = b''
        self.ready = False
        self.done = False
        self._pending = b''  # the end of a chunk that may be the start of DONE

    def feed(self, data):
        if self.done:
            self.held += data
        elif self.ready:
            self._command_output(data)
        else:
            self.held += data
            at = self.held.find(READY)
            end = self.held.find(b'\n', at) if at >= 0 else -1
            if end >= 0:
                self.ready = True
                rest, self.held = self.held[end + 1:], self.held[:at]
                self._command_output(rest)

    def _command_output(self, data):
        data = self._pending + data
        at = data.find(DONE)
        if at >= 0:
            self.done = True
            self.held += data[at:]
            data, self._pending = data[:at], b''
        else:
            keep = next((n for n in range(min(len(DONE) - 1, len(data)), 0, -1) if DONE.startswith(data[-n:])), 0)
            data, self._pending = data[:len(data) - keep], data[len(data) - keep:]
        if data:
            self.out.write(data)
            self.out.flush()

    def close(self):
        if self._pending:
            self.out.write(self._pending)
            self.out.flush()
            self._pending = b''


def run(command, timeout, mem, modules, extra_env):
    version = modules_version()
    env = box_env(extra_env)
    BOX_DIR.mkdir(parents=True, exist_ok=True)
    remove_stale_runs()
    run_dir = Path(tempfile.mkdtemp(prefix='run-%d-' % os.getpid(), dir=BOX_DIR))
    proc = watchdog = None
    out = Output(sys.stdout.buffer)
    start = time.monotonic()
    try:
        init = run_dir / 'init.sh'
        init.write_text(init_script(run_dir, command, env, modules, version))
        init.chmod(0o755)
        # UML's messages before its console is up, and a panic, also go to fd 1 or 2: both to the pipe.
        read_fd, write_fd = os.pipe()
        # No signal between fork and `proc` being set: the finally clause must know UML's process group.
        signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
        try:
            proc = subprocess.Popen(uml_argv(run_dir, init, mem), stdin=subprocess.DEVNULL, stdout=write_fd,
                                    stderr=write_fd, process_group=0, preexec_fn=_uml_preexec, cwd='/',
                                    env={'PATH': os.environ.get('PATH', '/usr/bin:/bin')})
            watchdog = start_watchdog(proc.pid, run_dir, read_fd)
        finally:
            os.close(write_fd)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)
        deadline = start + timeout
        timed_out, booted = pump_console(read_fd, proc, out, start, deadline)
        if not timed_out:
            try:
                proc.wait(timeout=max(deadline - time.monotonic(), 1.0))
            except subprocess.TimeoutExpired:
                timed_out = True
        if timed_out:
            kill_group(proc)
            sys.stderr.write('\nkernel box: time limit of %gs reached (%s); the box was killed\n'
                             % (timeout, 'booted in %.1fs' % booted if booted else 'had not booted'))
            return EXIT_TIMEOUT
        return command_status(run_dir, out, proc, booted, start)
    finally:
        tear_down_box(proc, watchdog, run_dir)


def uml_argv(run_dir, init, mem):
    argv = [UML, 'mem=%s' % mem, 'root=/dev/root', 'rootfstype=hostfs', 'rootflags=/', 'rw',
            'init=%s' % init, 'con=null', 'con0=null,fd:1', 'ssl=null', 'quiet',
            # UML's own state (pid file, mconsole socket) in the run dir, not in ~/.uml.
            'uml_dir=%s' % run_dir, 'umid=uml']
    return argv + ['%s=%s' % kv for kv in CPU_ENV.items()]


def pump_console(read_fd, proc, out, start, deadline):
    """Copy the console to our stdout until it closes, UML exits or the deadline passes: (timed out, seconds the
    box took to boot or None)."""
    booted = None
    with os.fdopen(read_fd, 'rb', buffering=0) as pipe:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                out.close()
                return True, booted
            ready, _, _ = select.select([pipe], [], [], min(left, 1.0))
            if ready:
                data = pipe.read(65536)
                if not data:
                    break  # every holder of the console pipe is gone
                out.feed(data)
                if booted is None and out.ready:
                    booted = time.monotonic() - start
            elif proc.poll() is not None:
                break
    out.close()
    return False, booted


def command_status(run_dir, out, proc, booted, start):
    """The command's exit status, as the box's init wrote it; BoxError when there is none."""
    status_file = run_dir / 'status'
    if status_file.exists():
        text = status_file.read_text().strip()
        status = int(text) if text.isdigit() else EXIT_BOX_FAILED
        sys.stderr.write('kernel box: booted in %.1fs, command exited with %d after %.1fs\n'
                         % (booted or 0, status, time.monotonic() - start - (booted or 0)))
        return status
    if out.held:
        sys.stderr.buffer.write(out.held)
        sys.stderr.buffer.flush()
    what = 'the command did not report an exit status' if out.ready else 'the box did not boot or set up'
    raise BoxError('%s (UML exit status %s); its console output is above' % (what, proc.returncode))


def tear_down_box(proc, watchdog, run_dir):
    """Kill what is left of the box, reap its watchdog and remove its run dir; whatever happened before."""
    # A second Ctrl-C must not cut the teardown short.
    signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    if proc is not None and not kill_group(proc):
        sys.stderr.write('kernel box: UML processes of group %d survived SIGKILL\n' % proc.pid)
    if watchdog is not None:
        os.close(watchdog[1])
        try:
            os.waitpid(watchdog[0], 0)
        except ChildProcessError:
            pass  # already reaped by kill_group
    shutil.rmtree(run_dir, ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Run COMMAND inside User-Mode Linux (a full kernel with 8021q, ipvlan, dummy, veth, '
                    'macvlan, bridge), with the host file system visible, and exit with its status.',
        usage='%(prog)s [--timeout SECONDS] [--mem SIZE] [--module NAME] [--env NAME[=VALUE]] -- COMMAND [ARG...]')
    parser.add_argument('--timeout', type=float, default=600,
                        help='time limit in seconds, boot included (default 600); exit status 124 when hit')
    parser.add_argument('--mem', default='1G', help='memory of the box (default 1G)')
    parser.add_argument('--module', action='append', default=[], dest='modules',
                        help='load this kernel module too (repeatable); always loaded: ' + ' '.join(MODULES))
    parser.add_argument('--env', action='append', default=[],
                        help='pass NAME (from our environment) or NAME=VALUE into the box (repeatable)')
    parser.add_argument('command', nargs=argparse.REMAINDER, help='what to run inside, after --')
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ['--'] else args.command
    if not command:
        parser.error('no COMMAND given (put it after --)')
    if not re.fullmatch(r'\d+[KMG]?', args.mem):
        parser.error('--mem: a size such as 512M or 1G')
    # Helpers UML forks are reparented to us, not to PID 1, if UML dies first: we reap them.
    _libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    for signum in _SIGNALS:
        signal.signal(signum, _on_signal)
    try:
        return run(command, args.timeout, args.mem, tuple(dict.fromkeys(MODULES + tuple(args.modules))), args.env)
    except Interrupted as exc:
        sys.stderr.write('\nkernel box: %s, the box was killed\n' % signal.Signals(exc.signum).name)
        return 128 + exc.signum
    except BoxError as exc:
        sys.stderr.write('kernel box: %s\n' % exc)
        return EXIT_BOX_FAILED
    except BrokenPipeError:
        # Whoever read our output has gone (`| head`): the box was killed, like a shell pipeline's writer.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE


if __name__ == '__main__':
    sys.exit(main())
