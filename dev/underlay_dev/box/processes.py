"""UML's processes on the host: finding them, killing a box's process group and waiting until it is empty, the
runs a dead box left behind, and the watchdog that tears a box down should this process itself be killed."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time

from underlay_dev.box.config import BOX_DIR, KILL_WAIT, SIGNALS


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
            for signum in SIGNALS:
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
