"""One run of a command in a kernel box: boot, stream, wait within the time limit, report its exit status, and
always tear the box down."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from underlay_dev.box.config import BOX_DIR, CPU_ENV, EXIT_BOX_FAILED, EXIT_TIMEOUT, SIGNALS, UML, BoxError
from underlay_dev.box.console import Output, pump_console
from underlay_dev.box.init_script import box_env, init_script, modules_version
from underlay_dev.box.processes import kill_group, remove_stale_runs, start_watchdog
from underlay_dev.box.seccomp import uml_preexec


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
        signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
        try:
            proc = subprocess.Popen(uml_argv(run_dir, init, mem), stdin=subprocess.DEVNULL, stdout=write_fd,
                                    stderr=write_fd, process_group=0, preexec_fn=uml_preexec, cwd='/',
                                    env={'PATH': os.environ.get('PATH', '/usr/bin:/bin')})
            watchdog = start_watchdog(proc.pid, run_dir, read_fd)
        finally:
            os.close(write_fd)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)
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
    signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    if proc is not None and not kill_group(proc):
        sys.stderr.write('kernel box: UML processes of group %d survived SIGKILL\n' % proc.pid)
    if watchdog is not None:
        os.close(watchdog[1])
        try:
            os.waitpid(watchdog[0], 0)
        except ChildProcessError:
            pass  # already reaped by kill_group
    shutil.rmtree(run_dir, ignore_errors=True)
