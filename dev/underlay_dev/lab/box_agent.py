"""The kernel box's agent: builds the embedded lab inside the box, then runs labctl's jobs there until poweroff.

    .venv/bin/kernel-box --timeout 604800 --mem 2G -- .venv/bin/box-agent --state-dir .cache/lab/ulab

``labctl up`` starts this in a detached kernel box when the machine's kernel
lacks 802.1Q VLAN or ipvlan. It reads the lab's description from
``STATE_DIR/state.json``, builds the lab in the box (underlay_dev/lab/build.py: the
switch, the hosts' namespaces, their Docker engines), says ``ready`` in the
spool ``STATE_DIR/spool`` (underlay_dev/lab/spool.py explains the files) and serves:

* a job (``labctl run -- CMD``) runs at once, in its own process group, in
  the job's working directory, with this process's environment (the box's:
  PATH with the venv first, the CPU switches of underlay_dev/box, ...)
  plus the job's additions; stdin is /dev/null, stdout and stderr go to the
  job's output file, which labctl tails. Jobs may run side by side.
* a cancelled job gets SIGTERM, and SIGKILL CANCEL_GRACE seconds later.
* ``status`` is answered from here: the lab's namespaces, whether each engine
  answers, the box's uptime, the jobs running.
* ``poweroff``: every job is killed, and the agent exits, so the box powers
  off (everything in it, the engines included, lives on its own kernel and
  tmpfs and goes with it).

Its output (what it builds, each job's start and end) goes to the box's
console, which the supervisor writes to ``STATE_DIR/box.log``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path

from underlay_dev.lab.build import build, health, lab_namespaces
from underlay_dev.lab.inventory import LabSpec
from underlay_dev.lab.spool import POLL, Spool

CANCEL_GRACE = 5.0


def log(message):
    print('box agent: %s' % message, flush=True)


def _exit_status(returncode):
    return 128 - returncode if returncode < 0 else returncode


class Job:
    def __init__(self, spool, job_id, job):
        self.id = job_id
        self.spool = spool
        self.cancelled_at = None
        self.output = spool.output(job_id).open('wb', buffering=0)
        self.process = None
        argv, cwd = job['argv'], job.get('cwd') or '/'
        env = dict(os.environ, **job.get('env', {}))
        try:
            self.process = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=self.output,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        except OSError as exc:
            # As a shell says it: 127 for a command not found, 126 for one that cannot run.
            self.output.write(b'labctl run: %s: %s (in %s, inside the kernel box)\n'
                              % (os.fsencode(argv[0]), exc.strerror.encode(), os.fsencode(cwd)))
            self.end(127 if isinstance(exc, FileNotFoundError) else 126)
            return
        log('job %s: %s (pid %d)' % (job_id, ' '.join(argv), self.process.pid))

    def signal(self, signum):
        try:
            os.killpg(self.process.pid, signum)
        except ProcessLookupError:
            pass

    def cancel(self):
        if self.cancelled_at is None:
            self.cancelled_at = time.monotonic()
            self.signal(signal.SIGTERM)
        elif time.monotonic() - self.cancelled_at > CANCEL_GRACE:
            self.signal(signal.SIGKILL)

    def poll(self):
        """True once the job is over (its result written)."""
        if self.process is None:
            return True
        if self.process.poll() is None:
            return False
        # Its children may still hold the output open: the group goes with the job.
        self.signal(signal.SIGKILL)
        self.end(_exit_status(self.process.returncode))
        return True

    def kill(self, why):
        self.signal(signal.SIGKILL)
        self.process.wait()
        self.output.write(b'\nlabctl run: %s: the job was killed\n' % why.encode())
        self.end(_exit_status(self.process.returncode))

    def end(self, status):
        self.output.close()
        self.spool.finish(self.id, status)
        log('job %s: exit status %d' % (self.id, status))


class Agent:
    def __init__(self, spool, spec):
        self.spool = spool
        self.spec = spec
        self.jobs = {}

    def status_report(self):
        with open('/proc/uptime') as f:
            uptime = float(f.read().split()[0])
        return {
            'namespaces': lab_namespaces(self.spec.prefix),
            'problems': health(self.spec),
            'box_uptime': uptime,
            'kernel': os.uname().release,
            'jobs_running': len(self.jobs),
        }

    def serve(self):
        while not self.spool.poweroff_requested():
            for job_id, job in self.spool.take_jobs():
                if 'query' in job:
                    report = self.status_report() if job['query'] == 'status' else {'error': 'unknown query'}
                    self.spool.finish(job_id, 0, report=report)
                    continue
                started = Job(self.spool, job_id, job)
                if started.process is not None:
                    self.jobs[job_id] = started
            for job_id in self.spool.cancelled():
                if job_id in self.jobs:
                    self.jobs[job_id].cancel()
            for job_id in [j for j, job in self.jobs.items() if job.poll()]:
                del self.jobs[job_id]
            time.sleep(POLL)
        log('poweroff requested (labctl down)')
        for job in self.jobs.values():
            job.kill('the lab went down (labctl down)')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--state-dir', required=True, type=Path)
    args = parser.parse_args(argv)
    started = time.monotonic()
    state = json.loads((args.state_dir / 'state.json').read_text())
    spec = LabSpec.from_dict(state['spec'])
    spool = Spool(args.state_dir / 'spool')
    log('building lab %s: %s' % (spec.name, ', '.join(h.name for h in spec.hosts)))
    try:
        _lab, engines = build(spec, kernel_box=True, image_store=state.get('image_store'))
    except Exception as exc:
        traceback.print_exc()
        spool.mark_failed('%s: %s' % (type(exc).__name__, exc))
        return 1
    seconds = time.monotonic() - started
    for name, engine in engines.items():
        log('Docker engine of %s at %s (started in %.1fs)' % (name, engine.url, engine.start_seconds))
    log('lab built in %.1fs, serving jobs' % seconds)
    spool.mark_ready({'seconds': seconds, 'hosts': [h.name for h in spec.hosts], 'kernel': os.uname().release})
    Agent(spool, spec).serve()
    return 0


if __name__ == '__main__':
    sys.exit(main())
