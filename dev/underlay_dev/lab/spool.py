"""The job spool between labctl (on the host) and the kernel box's agent (inside the box).

The box sees the host's file system through hostfs, at the same paths, and
nothing else joins the two sides (the box's network stack is its own). So
they talk through files in one spool directory on that shared file system,
each file written whole (a temporary name, then a rename) and polled for:

    ready.json      agent: the lab is built and jobs are served  {"seconds": ..., "hosts": [...]}
    failed.json     agent: the lab could not be built  {"error": ...}  (the box then powers off)
    poweroff        labctl down: stop every job, power the box off
    jobs/ID.json    labctl run: {"argv": [...], "cwd": "...", "env": {additions}}, or {"query": "status"}
    cancel/ID       labctl run, after Ctrl-C: kill job ID
    out/ID.log      the job's stdout and stderr, written by the job itself as it runs
    done/ID.json    agent: {"status": N} (a query's adds "report"); written once out/ID.log is complete

The agent learns of new files only by listing a directory: hostfs may keep a
failed lookup of a name in the box's dentry cache, so it never probes a name
the host has still to create. Each side removes what it is done with: the
agent a job file once the job runs, labctl the output and status once read.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

POLL = 0.05


def write_atomically(path, data):
    """Write ``data`` (bytes or text) to ``path`` under a temporary name, then rename: readers see all or nothing."""
    path = Path(path)
    tmp = path.with_name('.%s.tmp' % path.name)
    tmp.write_bytes(data if isinstance(data, bytes) else data.encode())
    os.replace(tmp, path)


def _read_json(path):
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        return None


class BoxGone(Exception):
    """The box went away before it answered."""


class Spool:
    def __init__(self, path):
        self.path = Path(path)
        self.jobs = self.path / 'jobs'
        self.cancels = self.path / 'cancel'
        self.outputs = self.path / 'out'
        self.results = self.path / 'done'

    def create(self):
        for folder in (self.jobs, self.cancels, self.outputs, self.results):
            folder.mkdir(parents=True, exist_ok=True)

    def output(self, job_id):
        return self.outputs / (job_id + '.log')

    # --- the agent's side -------------------------------------------------------------------

    def mark_ready(self, info):
        write_atomically(self.path / 'ready.json', json.dumps(info))

    def mark_failed(self, error):
        write_atomically(self.path / 'failed.json', json.dumps({'error': error}))

    def poweroff_requested(self):
        return 'poweroff' in os.listdir(self.path)

    def take_jobs(self):
        """The jobs submitted since the last call, oldest first, as (id, job); their files are removed."""
        taken = []
        for name in sorted(os.listdir(self.jobs)):
            if name.startswith('.') or not name.endswith('.json'):
                continue
            path = self.jobs / name
            taken.append((name[:-len('.json')], json.loads(path.read_text())))
            path.unlink()
        return taken

    def cancelled(self):
        return {name for name in os.listdir(self.cancels) if not name.startswith('.')}

    def finish(self, job_id, status, report=None):
        result = {'status': status}
        if report is not None:
            result['report'] = report
        write_atomically(self.results / (job_id + '.json'), json.dumps(result))
        try:
            (self.cancels / job_id).unlink()
        except FileNotFoundError:
            pass

    # --- labctl's side ----------------------------------------------------------------------

    def ready(self):
        return _read_json(self.path / 'ready.json')

    def failed(self):
        return _read_json(self.path / 'failed.json')

    def request_poweroff(self):
        write_atomically(self.path / 'poweroff', 'labctl down\n')

    def submit(self, job):
        """Hand ``job`` to the agent; returns its id (time-ordered, so that jobs run in submission order)."""
        job_id = '%020d-%d-%s' % (time.time_ns(), os.getpid(), uuid.uuid4().hex[:8])
        write_atomically(self.jobs / (job_id + '.json'), json.dumps(job))
        return job_id

    def cancel(self, job_id):
        write_atomically(self.cancels / job_id, 'cancel\n')

    def follow(self, job_id, out, box_alive, give_up=lambda: False):
        """Copy job ``job_id``'s output to the binary stream ``out`` as it comes; return its result (a dict).

        Raises BoxGone when ``box_alive()`` turns false before the result is there, and returns None
        when ``give_up()`` turns true first.
        """
        output, result_path = self.output(job_id), self.results / (job_id + '.json')
        handle = None
        try:
            while True:
                result = _read_json(result_path)  # read before the output: once it is there, the output is whole
                if handle is None and output.exists():
                    handle = output.open('rb')
                if handle is not None:
                    while data := handle.read(65536):
                        out.write(data)
                        out.flush()
                if result is not None:
                    return result
                if not box_alive():
                    raise BoxGone()
                if give_up():
                    return None
                time.sleep(POLL)
        finally:
            if handle is not None:
                handle.close()
            self.forget(job_id)

    def forget(self, job_id):
        for path in (self.jobs / (job_id + '.json'), self.output(job_id), self.results / (job_id + '.json')):
            try:
                path.unlink()
            except FileNotFoundError:
                pass

    def query(self, what, box_alive, timeout):
        """Ask the agent itself (no process started in the box): returns its report, or None after ``timeout``."""
        job_id = self.submit({'query': what})
        deadline = time.monotonic() + timeout
        result = self.follow(job_id, _Discard(), box_alive, give_up=lambda: time.monotonic() > deadline)
        return None if result is None else result.get('report')


class _Discard:
    def write(self, data):
        pass

    def flush(self):
        pass
