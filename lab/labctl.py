#!/usr/bin/env python3
"""labctl: the embedded lab that stands in for a fleet, up until ``labctl down``.

    .venv/bin/python lab/labctl.py up [--inventory inventories/lab] [--kernel auto|host|box] [--timeout 900]
    .venv/bin/python lab/labctl.py run [--env NAME[=VALUE]] -- .venv/bin/ansible-playbook -i inventories/lab ...
    .venv/bin/python lab/labctl.py status
    .venv/bin/python lab/labctl.py down

The inventory says what the lab is (lab/lab_inventory.py): the hosts of group
``underlay_hosts``, each a network namespace ``ulab-<host>`` whose ``eth0`` is
wired to the lab switch (namespace ``ulab-sw``, bridge ``br0``, the router's
address), and the hosts of ``docker_hosts``, each with a real Docker engine at
``unix:///run/ulab/<host>/docker.sock``. lab/lab_build.py builds it.

Where the lab lives (``--kernel``, default ``auto``):

* ``host``: in namespaces on this machine's kernel. ``auto`` picks it when the
  kernel can make an 802.1Q VLAN and an ipvlan (tried in a scratch namespace).
  It can be forced on a kernel without them: then only macvlan-based tasks work.
* ``box``: inside a persistent kernel box (User-Mode Linux, scripts/kernel_box.py),
  which has its own full kernel. ``up`` starts a detached supervisor, that is
  ``kernel_box.py --timeout 7 days --mem 2G -- lab/box_agent.py`` in a session of
  its own with its output in ``.cache/lab/ulab/box.log``; the agent builds the
  lab inside and serves ``run``'s jobs through a spool directory on the shared
  file system (lab/lab_spool.py). ``up`` waits until the agent is ready; on
  failure it shows the end of the box's log and removes the box again.

Commands and exit statuses:

* ``up``: builds the lab and prints where it lives; 0 once it is up. When it
  is already up as the inventory describes, it says so and changes nothing.
  When it is up but differs (hosts, addresses, engines, the kernel), or is
  broken (a namespace or an engine missing, the box gone), it says what and
  rebuilds it from scratch (what the playbooks made in it is gone then). 1 when
  the lab cannot be built (what was made is removed), 2 for a bad inventory.
* ``run -- CMD``: runs CMD where the lab lives, in the current directory (the
  same path inside the box), with the lab's environment (in the box: the box's,
  PATH with .venv/bin first, plus CI, PYTEST_ADDOPTS, ANSIBLE_*, COLUMNS and
  every ``--env`` from here; on the host kernel: ours, with .venv/bin first on
  PATH). Output streams live; the exit status is CMD's. Ctrl-C (or SIGTERM)
  cancels the job in the box (SIGTERM, SIGKILL 5 s later) and exits 130 (143).
  125: the lab is not up, or the box went away during the job.
* ``status``: where the lab lives, since when, its hosts and engines, and
  whether each is there; 0 when all is well, 1 when the lab is down or broken.
* ``down``: stops the jobs, the engines (their mounts and data dirs), removes
  the namespaces, powers the box off (SIGTERM, then SIGKILL of the supervisor
  when it does not go; its watchdog takes UML with it) and removes the state.
  It then checks that no namespace, process or mount of the lab is left and
  says so; 0 when nothing is left (also when there was nothing), 1 otherwise.

``--name`` (default ``ulab``) names the lab: its namespace prefix ``NAME-``,
its run dir ``/run/NAME`` and its state dir ``.cache/lab/NAME``; the tests use
a lab name of their own, so that they never touch the user's lab.

Nothing here touches the machine's own interfaces, routes or firewall: the
lab lives in namespaces that it creates, or in the box's own kernel.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'lab'))
sys.path.insert(0, str(ROOT / 'scripts'))

import kernel_box  # noqa: E402
import lab_build  # noqa: E402
from lab_dockerd import IMAGE_STORE, build_store  # noqa: E402
from lab_inventory import InventoryError, LabSpec, check_lab_name, read_inventory  # noqa: E402
from lab_spool import POLL, BoxGone, Spool, write_atomically  # noqa: E402

DEFAULT_NAME = 'ulab'
DEFAULT_INVENTORY = ROOT / 'inventories' / 'lab'
STATE_ROOT = ROOT / '.cache' / 'lab'
VENV_BIN = ROOT / '.venv' / 'bin'
AGENT = ROOT / 'lab' / 'box_agent.py'
KERNEL_BOX = ROOT / 'scripts' / 'kernel_box.py'
BOX_LIFETIME = 7 * 24 * 3600
BOX_MEM = '2G'
UP_TIMEOUT = 900.0         # a cold box with a Docker engine is ready in 7-15 s here, far later on a loaded machine
STATUS_TIMEOUT = 30.0      # the agent answers at once, unless the box is very busy
POWEROFF_WAIT = 30.0       # the agent stops within a poll; UML powers off in a second or two
TERM_WAIT = 20.0
CANCEL_WAIT = 15.0         # the agent SIGKILLs a cancelled job after 5 s
KILL_WAIT = 10.0
# What `run` hands into the box besides kernel_box.py's own pass-through (CI, PYTEST_ADDOPTS).
RUN_PASS_PREFIXES = ('ANSIBLE_',)
# The collection as installed from the working tree (ansible.cfg: collections_path = .cache/collections).
COLLECTION_LINK = ROOT / '.cache' / 'collections' / 'ansible_collections' / 'underlay' / 'network'
_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_MAIN_PID = os.getpid()


def say(message, *args):
    print('labctl: ' + (message % args if args else message), flush=True)


def complain(message, *args):
    print('labctl: ' + (message % args if args else message), file=sys.stderr, flush=True)


def _raise_interrupted(signum, frame):
    if os.getpid() != _MAIN_PID:
        # A forked helper: pyroute2 enters a namespace in a forked child, and stops it with SIGTERM.
        # The exception must not unwind our own code a second time in there.
        os._exit(128 + signum)
    raise kernel_box.Interrupted(signum)


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

        The supervisor's watchdog (scripts/kernel_box.py) has the same command line; only processes
        whose parent is not one of them are supervisors proper.
        """
        found = set(kernel_box.processes_matching(self._runs_our_box))
        return sorted(pid for pid in found if _parent(pid) not in found)

    def is_supervisor(self, pid):
        try:
            with open('/proc/%d/cmdline' % pid, 'rb') as f:
                argv = f.read().split(b'\0')
        except OSError:
            return False
        return kernel_box.process_running(pid) and self._runs_our_box(argv)

    def box_processes(self, supervisors):
        """The supervisors, their watchdogs and the UML processes they booted."""
        found = set(kernel_box.processes_matching(self._runs_our_box))
        for pid in supervisors:
            found.update(kernel_box.uml_processes_of_runner(pid))
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


def choose_kernel(wanted, prefix):
    """('host' or 'box', why): ``auto`` tries an 802.1Q VLAN and an ipvlan on this kernel first."""
    if wanted == 'box':
        return 'box', 'as asked (--kernel box)'
    missing = lab_build.missing_features(prefix)
    lacks = 'this kernel has no %s' % ' / '.join(missing)
    if wanted == 'host':
        return 'host', ('as asked, but %s: VLAN and ipvlan tasks fail there, macvlan ones work' % lacks
                        if missing else '')
    return ('box', 'because ' + lacks) if missing else ('host', '')


def ensure_collection_link():
    """Make the working tree visible as ansible_collections/underlay/network (as scripts/bootstrap.sh does)."""
    if COLLECTION_LINK.is_symlink() or COLLECTION_LINK.exists():
        return
    COLLECTION_LINK.parent.mkdir(parents=True, exist_ok=True)
    COLLECTION_LINK.symlink_to(Path('..', '..', '..', '..'))


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


def print_lab(spec):
    say('  switch %-10s %s, bridge br0 %s (the hosts\' default gateway)', '', spec.switch, spec.router_address)
    for host in spec.hosts:
        engine = ', Docker engine %s' % spec.docker_url(host) if host.docker else ''
        say('  host   %-10s %s, eth0 %s%s', host.name, host.namespace, host.uplink_address, engine)


# --- up ---------------------------------------------------------------------------------------


def up(args):
    try:
        spec = read_inventory(args.inventory, args.name)
    except InventoryError as exc:
        complain('%s', exc)
        return 2
    lab = LabState(args.name)
    ensure_collection_link()
    kernel, reason = choose_kernel(args.kernel, spec.prefix)
    state = lab.load()
    if state is not None:
        changes = LabSpec.from_dict(state['spec']).differences(spec)
        if state['kernel'] != kernel:
            changes.insert(0, 'kernel %s -> %s' % (state['kernel'], kernel))
        problems, _report = inspect(lab, state)
        if not changes and not problems:
            say('lab %s is already up as %s describes, in %s: nothing to do', args.name, args.inventory, where(state))
            return 0
        say('lab %s is up but %s: rebuilding it', args.name,
            '; '.join((['differs from %s: %s' % (args.inventory, ', '.join(changes))] if changes else [])
                      + (['broken: ' + ', '.join(problems)] if problems else [])))
        if tear_down(lab) != 0:
            return 1
    elif remains(lab):
        say('removing what an earlier lab %s left behind', args.name)
        if tear_down(lab) != 0:
            return 1
    state = {'name': args.name, 'kernel': kernel, 'reason': reason, 'inventory': str(args.inventory),
             'spec': spec.to_dict(), 'started': time.time(), 'supervisor': None}
    started = time.monotonic()
    for signum in _SIGNALS:
        signal.signal(signum, _raise_interrupted)
    try:
        built = up_box(lab, spec, state, args.timeout) if kernel == 'box' else up_host(lab, spec, state)
    except kernel_box.Interrupted as exc:
        complain('%s: removing the half-built lab', signal.Signals(exc.signum).name)
        tear_down(lab, quiet=True)
        return 128 + exc.signum
    if not built:
        return 1
    say('lab %s is up in %s (%.1fs)', args.name, where(state), time.monotonic() - started)
    print_lab(spec)
    say('run commands there with: %s lab/labctl.py%s run -- CMD', os.path.relpath(sys.executable),
        '' if args.name == DEFAULT_NAME else ' --name ' + args.name)
    return 0


def up_host(lab, spec, state):
    try:
        lab_build.build(spec, persistent=True)
    except Exception as exc:
        complain('could not build the lab: %s', exc)
        return False
    lab.save(state)
    return True


def up_box(lab, spec, state, timeout):
    state['box_version'] = kernel_box.modules_version()
    if spec.docker_hosts:
        # The box's engine cannot import an image: it copies this store, made on the host kernel.
        build_store(IMAGE_STORE)
        state['image_store'] = str(IMAGE_STORE)
    lab.spool.create()
    lab.save(state)
    argv = [sys.executable, str(KERNEL_BOX), '--timeout', str(BOX_LIFETIME), '--mem', BOX_MEM, '--',
            str(VENV_BIN / 'python'), str(AGENT), '--state-dir', str(lab.dir)]
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


# --- run --------------------------------------------------------------------------------------


def run(args):
    command = args.command[1:] if args.command[:1] == ['--'] else args.command
    if not command:
        complain('run: no command given (put it after --)')
        return 2
    lab = LabState(args.name)
    state = lab.load()
    if state is None:
        complain('lab %s is not up: start it with lab/labctl.py up', args.name)
        return 125
    try:
        additions = kernel_box.passed_env(args.env + [n for n in os.environ if n.startswith(RUN_PASS_PREFIXES)])
    except kernel_box.BoxError as exc:
        complain('%s', exc)
        return 2
    if state['kernel'] == 'host':
        missing = [p for p in lab_build.health(LabSpec.from_dict(state['spec'])) if p.startswith('namespace')]
        if missing:
            complain('lab %s is not whole (%s): run lab/labctl.py up', args.name, ', '.join(missing))
            return 125
        env = dict(os.environ, **additions)
        env['PATH'] = '%s%s%s' % (VENV_BIN, os.pathsep, env.get('PATH', os.defpath))
        try:
            os.execvpe(command[0], command, env)
        except OSError as exc:
            complain('run: %s: %s', command[0], exc.strerror)
            return 127 if isinstance(exc, FileNotFoundError) else 126
    if not box_running(lab, state) or lab.spool.ready() is None:
        complain('lab %s is not up: its kernel box is not running or not ready (log: %s); run lab/labctl.py up',
                 args.name, lab.log)
        return 125
    additions['COLUMNS'] = str(shutil.get_terminal_size((100, 24)).columns)
    return run_in_box(lab, state, {'argv': command, 'cwd': os.getcwd(), 'env': additions})


def run_in_box(lab, state, job):
    job_id = lab.spool.submit(job)
    received = []

    def on_signal(signum, frame):
        if received:
            raise kernel_box.Interrupted(signum)  # a second one: stop waiting
        received.append((signum, time.monotonic()))
        lab.spool.cancel(job_id)

    for signum in _SIGNALS:
        signal.signal(signum, on_signal)
    try:
        result = lab.spool.follow(job_id, sys.stdout.buffer, lambda: box_running(lab, state),
                                  give_up=lambda: bool(received) and time.monotonic() - received[0][1] > CANCEL_WAIT)
    except BoxGone:
        complain('the kernel box went away during the job (log: %s)', lab.log)
        return 125
    except kernel_box.Interrupted as exc:
        return 128 + exc.signum
    except BrokenPipeError:
        lab.spool.cancel(job_id)
        return 128 + signal.SIGPIPE
    if received:
        complain('%s: the job was cancelled', signal.Signals(received[0][0]).name)
        return 128 + received[0][0]
    return result['status']


# --- status -----------------------------------------------------------------------------------


def status(args):
    lab = LabState(args.name)
    state = lab.load()
    if state is None:
        left = remains(lab)
        say('lab %s is down%s', args.name, ' (but %s remain: run lab/labctl.py down)' % left if left else '')
        return 1
    spec = LabSpec.from_dict(state['spec'])
    uptime = time.time() - state['started']
    say('lab %s is in %s, up since %s (%s), from %s', args.name, where(state),
        time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(state['started'])), _duration(uptime), state['inventory'])
    print_lab(spec)
    problems, report = inspect(lab, state)
    if report is not None:
        say('  box    supervisor pid %d, kernel %s, box up %s, %d job(s) running', state['supervisor'],
            report['kernel'], _duration(report['box_uptime']), report['jobs_running'])
    for problem in problems:
        complain('  problem: %s', problem)
    if problems:
        say('lab %s is broken: lab/labctl.py up rebuilds it', args.name)
        return 1
    return 0


def _duration(seconds):
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    return ('%dd %dh %02dm' % (days, hours, minutes) if days else '%dh %02dm' % (hours, minutes) if hours
            else '%dm %02ds' % (minutes, secs))


# --- down -------------------------------------------------------------------------------------


def remains(lab):
    """A short description of what exists of the lab (state, box, namespaces, engines), or ''."""
    found = []
    if lab.dir.exists():
        found.append('its state dir %s' % lab.dir)
    if lab.supervisors():
        found.append('its kernel box')
    found += ['%s %s' % (kind, ', '.join(items)) for kind, items in lab_build.leftovers(lab.name).items()]
    return '; '.join(found)


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
    kernel_box.remove_stale_runs()
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
    for signum in _SIGNALS:  # a Ctrl-C must not cut the teardown short
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


def down(args):
    return tear_down(LabState(args.name))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--name', default=DEFAULT_NAME,
                        help='the lab\'s name: namespace prefix NAME-, run dir /run/NAME (default %(default)s)')
    commands = parser.add_subparsers(dest='action', required=True)
    up_parser = commands.add_parser('up', help='build the lab the inventory describes (nothing when it is up)')
    up_parser.add_argument('--inventory', type=Path, default=Path(os.path.relpath(DEFAULT_INVENTORY)),
                           help='inventory file or directory (default %(default)s)')
    up_parser.add_argument('--kernel', choices=('auto', 'host', 'box'), default='auto',
                           help='where the lab lives: auto (host if this kernel has 802.1Q VLAN and ipvlan, '
                                'else box), host (this kernel, namespaces), box (User-Mode Linux)')
    up_parser.add_argument('--timeout', type=float, default=UP_TIMEOUT,
                           help='seconds to wait for the kernel box to be ready (default %(default)g)')
    run_parser = commands.add_parser('run', help='run a command where the lab lives: run -- CMD [ARG...]')
    run_parser.add_argument('--env', action='append', default=[],
                            help='pass NAME (from our environment) or NAME=VALUE to the command (repeatable)')
    run_parser.add_argument('command', nargs=argparse.REMAINDER, help='the command, after --')
    commands.add_parser('status', help='where the lab lives, its hosts and engines; exit 1 when it is down')
    commands.add_parser('down', help='remove everything of the lab, and check that nothing is left')
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        parser.error('must run as root (the lab is made of network namespaces)')
    try:
        check_lab_name(args.name)
    except InventoryError as exc:
        parser.error(str(exc))
    return {'up': up, 'run': run, 'status': status, 'down': down}[args.action](args)


if __name__ == '__main__':
    sys.exit(main())
