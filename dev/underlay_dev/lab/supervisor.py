"""The kernel box that holds a lab (``labctl up --kernel box``): started detached with its agent, asked for its
status, handed ``run``'s jobs through the spool, powered off and, when it does not, killed."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

from underlay_dev.box.config import Interrupted
from underlay_dev.box.init_script import modules_version
from underlay_dev.box.processes import (
    remove_stale_runs,
)
from underlay_dev.lab import build as lab_build
from underlay_dev.lab.dockerd import IMAGE_STORE, build_store
from underlay_dev.lab.interaction import SIGNALS, complain, say
from underlay_dev.lab.inventory import LabSpec
from underlay_dev.lab.spool import POLL, BoxGone
from underlay_dev.lab.state import AGENT, STATE_ROOT
from underlay_dev.paths import ROOT, VENV_BIN

KERNEL_BOX = VENV_BIN / 'kernel-box'

BOX_LIFETIME = 7 * 24 * 3600

BOX_MEM = '2G'

UP_TIMEOUT = 900.0         # a cold box with a Docker engine is ready in 7-15 s here, far later on a loaded machine

STATUS_TIMEOUT = 30.0      # the agent answers at once, unless the box is very busy

POWEROFF_WAIT = 30.0       # the agent stops within a poll; UML powers off in a second or two

TERM_WAIT = 20.0

CANCEL_WAIT = 15.0         # the agent SIGKILLs a cancelled job after 5 s

KILL_WAIT = 10.0


def box_running(lab, state):
    pid = state.get('supervisor')
    return pid is not None and lab.is_supervisor(pid)


def inspect(lab, state):
    """(what is wrong with the lab ``state`` records, one line each, empty when it is up and whole;
    the box agent's status report, or None)."""
    if state['kernel'] == 'host':
        return lab_build.health(LabSpec.from_dict(state['spec'])), None
    if not box_running(lab, state):
        return ['the kernel box is not running (its log: %s)' % lab.log], None
    if lab.spool.ready() is None:
        return ['the kernel box has not finished building the lab'], None
    try:
        report = lab.spool.query('status', lambda: box_running(lab, state), STATUS_TIMEOUT)
    except BoxGone:
        report = None
    if report is None:
        return ['the kernel box does not answer (its log: %s)' % lab.log], None
    return report['problems'], report


def up_box(lab, spec, state, timeout):
    state['box_version'] = modules_version()
    if spec.docker_hosts:
        # The box's engine cannot import an image: it copies this store, made on the host kernel.
        build_store(IMAGE_STORE)
        state['image_store'] = str(IMAGE_STORE)
    lab.spool.create()
    lab.save(state)
    argv = [str(KERNEL_BOX), '--timeout', str(BOX_LIFETIME), '--mem', BOX_MEM, '--', str(AGENT), '--state-dir',
            str(lab.dir)]
    say('starting the kernel box (log: %s)', os.path.relpath(lab.log))
    with lab.log.open('ab') as log:
        supervisor = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                      start_new_session=True)
    state['supervisor'] = supervisor.pid
    lab.save(state)
    deadline = time.monotonic() + timeout
    while lab.spool.ready() is None:
        failed = lab.spool.failed()
        if failed or supervisor.poll() is not None or time.monotonic() > deadline:
            why = ('building the lab failed: %s' % failed['error'] if failed
                   else 'the box exited with status %s' % supervisor.returncode if supervisor.returncode is not None
                   else 'the box was not ready within %gs' % timeout)
            stop_box(lab, supervisor.pid)  # first, so that the log has the box's last words
            complain('%s; the end of the box\'s log:', why)
            sys.stderr.write(log_tail(lab.log))
            tear_down(lab, quiet=True)
            return False
        time.sleep(POLL)
    return True


def log_tail(path, lines=40):
    try:
        text = path.read_text(errors='replace')
    except OSError as exc:
        return '(no log: %s)\n' % exc
    return ''.join('    ' + line + '\n' for line in text.splitlines()[-lines:])


def run_in_box(lab, state, job):
    job_id = lab.spool.submit(job)
    received = []

    def on_signal(signum, frame):
        if received:
            raise Interrupted(signum)  # a second one: stop waiting
        received.append((signum, time.monotonic()))
        lab.spool.cancel(job_id)

    for signum in SIGNALS:
        signal.signal(signum, on_signal)
    try:
        result = lab.spool.follow(job_id, sys.stdout.buffer, lambda: box_running(lab, state),
                                  give_up=lambda: bool(received) and time.monotonic() - received[0][1] > CANCEL_WAIT)
    except BoxGone:
        complain('the kernel box went away during the job (log: %s)', lab.log)
        return 125
    except Interrupted as exc:
        return 128 + exc.signum
    except BrokenPipeError:
        lab.spool.cancel(job_id)
        return 128 + signal.SIGPIPE
    if received:
        complain('%s: the job was cancelled', signal.Signals(received[0][0]).name)
        return 128 + received[0][0]
    return result['status']


def stop_box(lab, supervisor):
    """Power the box of ``supervisor`` off: ask the agent, then SIGTERM, then SIGKILL (its watchdog kills UML)."""
    def gone(wait):
        deadline = time.monotonic() + wait
        # The supervisor exits only once UML's process group is empty; scan /proc (slower) after that.
        while lab.is_supervisor(supervisor) and time.monotonic() < deadline:
            time.sleep(0.1)
        while time.monotonic() < deadline:
            if not lab.box_processes([supervisor]):
                return True
            time.sleep(0.25)
        return False

    if lab.spool.ready() is not None:  # the agent serves: it stops the jobs and powers off
        lab.spool.request_poweroff()
        if gone(POWEROFF_WAIT):
            return
        complain('the kernel box did not power off within %gs: SIGTERM to its supervisor %d', POWEROFF_WAIT,
                 supervisor)
    for signum in (signal.SIGTERM, signal.SIGKILL):
        if lab.is_supervisor(supervisor):  # never a process that took over its PID
            os.kill(supervisor, signum)
        if gone(TERM_WAIT):
            return
    # The last resort: what a dead supervisor's watchdog did not get.
    remove_stale_runs()
    for pid in lab.box_processes([supervisor]):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    gone(KILL_WAIT)


def tear_down(lab, quiet=False):
    """Remove everything of the lab; 0 when verifiably nothing is left."""
    state = lab.load() or {}
    supervisors = sorted(set(lab.supervisors()) | ({state['supervisor']} if state.get('supervisor') else set()))
    removed = []
    for signum in SIGNALS:  # a Ctrl-C must not cut the teardown short
        signal.signal(signum, signal.SIG_IGN)
    for pid in supervisors:
        if lab.is_supervisor(pid):
            stop_box(lab, pid)
            removed.append('the kernel box (supervisor %d)' % pid)
    removed += lab_build.teardown(lab.name)
    if lab.dir.exists():
        shutil.rmtree(lab.dir, ignore_errors=True)
        removed.append('the state dir')
    try:
        STATE_ROOT.rmdir()  # only when no other lab has state there
    except OSError:
        pass
    left = lab_build.leftovers(lab.name)
    box_left = lab.box_processes(supervisors)
    if box_left:
        left['kernel box processes'] = [str(pid) for pid in box_left]
    if lab.dir.exists():
        left['files'] = left.get('files', []) + [str(lab.dir)]
    if left:
        complain('lab %s: could not remove %s', lab.name,
                 '; '.join('%s: %s' % (kind, ', '.join(items)) for kind, items in left.items()))
        return 1
    if not quiet:
        say('lab %s is down: %s', lab.name, 'removed ' + ', '.join(removed) if removed else 'nothing to remove')
        say('verified: no namespace %s-*, no process (UML, dockerd, containerd, shim, supervisor) and no mount of '
            'the lab remain', lab.name)
    return 0
