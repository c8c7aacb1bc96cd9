"""The lab's record in its state dir (``.cache/lab/NAME``): where it lives, what it is, and the processes of its
kernel box, found by their command line."""

from __future__ import annotations

import json
import os

from underlay_dev.box.processes import (
    process_running,
    processes_matching,
    uml_processes_of_runner,
)
from underlay_dev.lab.spool import Spool, write_atomically
from underlay_dev.paths import ROOT, VENV_BIN

STATE_ROOT = ROOT / '.cache' / 'lab'

AGENT = VENV_BIN / 'box-agent'


class LabState:
    """The lab's record in its state dir: where it lives, what it is, its box's supervisor."""

    def __init__(self, name):
        self.name = name
        self.dir = STATE_ROOT / name
        self.file = self.dir / 'state.json'
        self.log = self.dir / 'box.log'
        self.spool = Spool(self.dir / 'spool')

    def load(self):
        try:
            return json.loads(self.file.read_text())
        except FileNotFoundError:
            return None

    def save(self, state):
        self.dir.mkdir(parents=True, exist_ok=True)
        write_atomically(self.file, json.dumps(state, indent=1))

    def _runs_our_box(self, argv):
        """True for the command line of this lab's supervisor (and of its watchdog, a fork of it)."""
        return os.fsencode(AGENT) in argv and os.fsencode(self.dir) in argv

    def supervisors(self):
        """PIDs of the lab's box supervisors, found by their command line (the agent and our state dir).

        The supervisor's watchdog (underlay_dev/box) has the same command line; only processes
        whose parent is not one of them are supervisors proper.
        """
        found = set(processes_matching(self._runs_our_box))
        return sorted(pid for pid in found if _parent(pid) not in found)

    def is_supervisor(self, pid):
        try:
            with open('/proc/%d/cmdline' % pid, 'rb') as f:
                argv = f.read().split(b'\0')
        except OSError:
            return False
        return process_running(pid) and self._runs_our_box(argv)

    def box_processes(self, supervisors):
        """The supervisors, their watchdogs and the UML processes they booted."""
        found = set(processes_matching(self._runs_our_box))
        for pid in supervisors:
            found.update(uml_processes_of_runner(pid))
        return sorted(found)


def _parent(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            return int(f.read().rpartition(')')[2].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def where(state):
    """Where the lab lives, and why: 'the kernel box (User-Mode Linux 6.1.176), because ...'."""
    if state['kernel'] == 'box':
        return 'the kernel box (User-Mode Linux %s), %s' % (state['box_version'], state['reason'])
    return 'the host kernel' + (' (%s)' % state['reason'] if state['reason'] else '')
