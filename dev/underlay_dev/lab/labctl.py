"""labctl: the embedded lab that stands in for a fleet, up until ``labctl down``.

    .venv/bin/labctl up [--inventory inventories/lab] [--kernel auto|host|box] [--timeout 900]
    .venv/bin/labctl run [--env NAME[=VALUE]] -- .venv/bin/ansible-playbook -i inventories/lab ...
    .venv/bin/labctl status
    .venv/bin/labctl down

The inventory says what the lab is (underlay_dev/lab/inventory.py): the hosts of group
``underlay_hosts``, each a network namespace ``ulab-<host>`` whose ``eth0`` is
wired to the lab switch (namespace ``ulab-sw``, bridge ``br0``, the router's
address), and the hosts of ``docker_hosts``, each with a real Docker engine at
``unix:///run/ulab/<host>/docker.sock``. underlay_dev/lab/build.py builds it.

Where the lab lives (``--kernel``, default ``auto``):

* ``host``: in namespaces on this machine's kernel. ``auto`` picks it when the
  kernel can make an 802.1Q VLAN and an ipvlan (tried in a scratch namespace).
  It can be forced on a kernel without them: then only macvlan-based tasks work.
* ``box``: inside a persistent kernel box (User-Mode Linux, underlay_dev/box),
  which has its own full kernel. ``up`` starts a detached supervisor, that is
  ``kernel-box --timeout 7 days --mem 2G -- box-agent`` in a session of
  its own with its output in ``.cache/lab/ulab/box.log``; the agent builds the
  lab inside and serves ``run``'s jobs through a spool directory on the shared
  file system (underlay_dev/lab/spool.py). ``up`` waits until the agent is ready; on
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

# The parts: state.py (the lab's record and its processes), supervisor.py (the kernel box that holds a
# lab: starting it, talking to its agent, stopping it), interaction.py (messages and Ctrl-C); this file is the
# command line and the lab on this kernel.

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import time
from pathlib import Path

from underlay_dev.box.config import BoxError, Interrupted
from underlay_dev.box.init_script import passed_env
from underlay_dev.lab import build as lab_build
from underlay_dev.lab.interaction import SIGNALS, complain, raise_interrupted, say
from underlay_dev.lab.inventory import InventoryError, LabSpec, check_lab_name, read_inventory
from underlay_dev.lab.state import LabState, where
from underlay_dev.lab.supervisor import UP_TIMEOUT, box_running, inspect, run_in_box, tear_down, up_box
from underlay_dev.paths import ROOT, VENV_BIN

DEFAULT_NAME = 'ulab'

DEFAULT_INVENTORY = ROOT / 'inventories' / 'lab'
# What `run` hands into the box besides the kernel box's own pass-through (CI, PYTEST_ADDOPTS).
RUN_PASS_PREFIXES = ('ANSIBLE_',)
# The collection as installed from the working tree (ansible.cfg: collections_path = .cache/collections).
COLLECTION_LINK = ROOT / '.cache' / 'collections' / 'ansible_collections' / 'underlay' / 'network'


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


def print_lab(spec):
    say('  switch %-10s %s, bridge br0 %s (the hosts\' default gateway)', '', spec.switch, spec.router_address)
    for host in spec.hosts:
        engine = ', Docker engine %s' % spec.docker_url(host) if host.docker else ''
        say('  host   %-10s %s, eth0 %s%s', host.name, host.namespace, host.uplink_address, engine)


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
    for signum in SIGNALS:
        signal.signal(signum, raise_interrupted)
    try:
        built = up_box(lab, spec, state, args.timeout) if kernel == 'box' else up_host(lab, spec, state)
    except Interrupted as exc:
        complain('%s: removing the half-built lab', signal.Signals(exc.signum).name)
        tear_down(lab, quiet=True)
        return 128 + exc.signum
    if not built:
        return 1
    say('lab %s is up in %s (%.1fs)', args.name, where(state), time.monotonic() - started)
    print_lab(spec)
    say('run commands there with: %s%s run -- CMD', os.path.relpath(VENV_BIN / 'labctl'),
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


def run(args):
    command = args.command[1:] if args.command[:1] == ['--'] else args.command
    if not command:
        complain('run: no command given (put it after --)')
        return 2
    lab = LabState(args.name)
    state = lab.load()
    if state is None:
        complain('lab %s is not up: start it with .venv/bin/labctl up', args.name)
        return 125
    try:
        additions = passed_env(args.env + [n for n in os.environ if n.startswith(RUN_PASS_PREFIXES)])
    except BoxError as exc:
        complain('%s', exc)
        return 2
    if state['kernel'] == 'host':
        missing = [p for p in lab_build.health(LabSpec.from_dict(state['spec'])) if p.startswith('namespace')]
        if missing:
            complain('lab %s is not whole (%s): run .venv/bin/labctl up', args.name, ', '.join(missing))
            return 125
        env = dict(os.environ, **additions)
        env['PATH'] = '%s%s%s' % (VENV_BIN, os.pathsep, env.get('PATH', os.defpath))
        try:
            os.execvpe(command[0], command, env)
        except OSError as exc:
            complain('run: %s: %s', command[0], exc.strerror)
            return 127 if isinstance(exc, FileNotFoundError) else 126
    if not box_running(lab, state) or lab.spool.ready() is None:
        complain('lab %s is not up: its kernel box is not running or not ready (log: %s); run .venv/bin/labctl up',
                 args.name, lab.log)
        return 125
    additions['COLUMNS'] = str(shutil.get_terminal_size((100, 24)).columns)
    return run_in_box(lab, state, {'argv': command, 'cwd': os.getcwd(), 'env': additions})


def status(args):
    lab = LabState(args.name)
    state = lab.load()
    if state is None:
        left = remains(lab)
        say('lab %s is down%s', args.name, ' (but %s remain: run .venv/bin/labctl down)' % left if left else '')
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
        say('lab %s is broken: .venv/bin/labctl up rebuilds it', args.name)
        return 1
    return 0


def _duration(seconds):
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    return ('%dd %dh %02dm' % (days, hours, minutes) if days else '%dh %02dm' % (hours, minutes) if hours
            else '%dm %02ds' % (minutes, secs))


def remains(lab):
    """A short description of what exists of the lab (state, box, namespaces, engines), or ''."""
    found = []
    if lab.dir.exists():
        found.append('its state dir %s' % lab.dir)
    if lab.supervisors():
        found.append('its kernel box')
    found += ['%s %s' % (kind, ', '.join(items)) for kind, items in lab_build.leftovers(lab.name).items()]
    return '; '.join(found)


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
