"""Benchmark: N macvlan links through Ansible, per-object loops against the aggregate links module.

The same work (N macvlan links m0..m(N-1) on the parent ``trunk``, mode bridge, up, one IPv4 /32 each)
is done four ways, each as one ansible-playbook run against a lab namespace through the collection's
netns connection:

    ip_loop      a loop of ansible.builtin.shell running a check-then-create with ip
    module_loop  a loop of underlay.network.macvlan_link
    aggregate    one underlay.network.links task (its N entries read from a JSON file)
    floor        one ansible.builtin.command task running ``ip -batch FILE`` (what any Ansible task pays)

Each is measured for three phases: ``first`` (converge a clean namespace), ``rerun`` (the same again, nothing
to change) and ``delete`` (remove the N links). A fifth variant, ``floor_group``, measures the delete as one
group delete, for information. The measured figure is the wall time of the whole ansible-playbook process;
every run is verified by reading the namespace with pyroute2, and a run that fails or leaves the wrong state
aborts the benchmark. A second measurement compares one macvlan_link task with a module that does nothing.

Everything happens inside network namespaces named ``ulbench-<pid>-...``, removed on exit (also on Ctrl-C).

Usage: .venv/bin/python benchmarks/links_benchmark.py [--sizes 16,64,256,1024,2048] [--runs N] [--loop-max 256]
       [--output FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from socket import AF_INET

import pyroute2
import yaml
from pyroute2 import IPRoute

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = REPO / '.venv' / 'bin'
PYTHON = VENV_BIN / 'python'
NETNS_DIR = Path('/run/netns')
MAIN_PID = os.getpid()
NS_PREFIX = 'ulbench-%d-' % MAIN_PID

PARENT, PEER = 'trunk', 'trunkp'
PHASES = ('first', 'rerun', 'delete')
# Runs of the two loop variants (one task per link, about 0.36 s each): no target depends on them at
# N >= LARGE_N, where one run of the three phases takes about five minutes.
LOOP_RUNS = 3
LOOP_RUNS_LARGE = 1
LARGE_N = 256
SINGLE_K = 20  # identical tasks per playbook for the single-task cost
SINGLE_RUNS = 5
SINGLE_LINK = {'name': 'single', 'address': '10.65.0.1/32'}
IFF_UP = 1

RECAP = re.compile(r'^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)'
                   r'\s+failed=(?P<failed>\d+)', re.MULTILINE)

NOOP_MODULE = '''#!/usr/bin/python
"""A module that does nothing: the cost of any module task."""
from ansible.module_utils.basic import AnsibleModule


def main():
    AnsibleModule(argument_spec={}, supports_check_mode=True).exit_json(changed=False)


if __name__ == '__main__':
    main()
'''


class BenchmarkError(Exception):
    """A run failed or left the wrong state: nothing of it may be reported as a timing."""


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------------------
# The work: N links, their addresses and the ip commands that make them
# ---------------------------------------------------------------------------------------------------------------

def address(index):
    """The /32 of link m<index>: 10.64.X.Y, distinct for every index below 64000."""
    return '10.64.%d.%d/32' % (index // 250, index % 250 + 1)


def links(n):
    """The N links every variant converges, as loop items."""
    return [{'name': 'm%d' % i, 'address': address(i)} for i in range(n)]


def ip_create_lines(n):
    """ip -batch lines that create the N links, up, with their address."""
    lines = []
    for link in links(n):
        lines += ['link add %s link %s type macvlan mode bridge' % (link['name'], PARENT),
                  'link set %s up' % link['name'],
                  'address add %s dev %s' % (link['address'], link['name'])]
    return lines


# ---------------------------------------------------------------------------------------------------------------
# Variants: each returns the playbook tasks for (phase, N)
# ---------------------------------------------------------------------------------------------------------------

IP_CHECK_THEN_CREATE = (
    'ip link show {{ item.name }} >/dev/null 2>&1 || '
    '{ ip link add {{ item.name }} link %s type macvlan mode bridge && ip link set {{ item.name }} up && '
    'ip addr add {{ item.address }} dev {{ item.name }}; echo created; }' % PARENT)


def ip_loop(phase, n, workdir):
    """A loop of shell tasks running ip: check-then-create (first and rerun), ip link del (delete)."""
    if phase == 'delete':
        return [{'name': 'ip link del', 'ansible.builtin.command': 'ip link del {{ item.name }}', 'loop': links(n)}]
    return [{'name': 'ip link, check then create', 'ansible.builtin.shell': IP_CHECK_THEN_CREATE,
             'loop': links(n), 'register': 'result', 'changed_when': "'created' in result.stdout"}]


def module_loop(phase, n, workdir):
    """A loop of the per-object module underlay.network.macvlan_link."""
    args = {'name': '{{ item.name }}'}
    if phase == 'delete':
        args['state'] = 'absent'
    else:
        args.update(parent=PARENT, mode='bridge', addresses=['{{ item.address }}'])
    return [{'name': 'macvlan_link loop', 'underlay.network.macvlan_link': args, 'loop': links(n)}]


def aggregate(phase, n, workdir):
    """One underlay.network.links task: merged with all N links, or deleted with no config (every marked link).

    The N entries come as data from a JSON file, as the floor's lines come from its batch file and as site.yml's
    come from the planner: written out in the playbook itself, Ansible's YAML loader alone would add about
    0.7 s at N = 2,048 (``ansible-playbook --syntax-check`` of both forms), which is no cost of the module."""
    if phase == 'delete':
        args = {'state': 'deleted'}
    else:
        config = {'links': [{'kind': 'macvlan', 'name': link['name'], 'parent': PARENT, 'mode': 'bridge',
                             'addresses': [link['address']]} for link in links(n)]}
        path = workdir.write_json('links-%d' % n, config)
        args = {'config': "{{ lookup('ansible.builtin.file', '%s') | ansible.builtin.from_json }}" % path}
    return [{'name': 'links aggregate', 'underlay.network.links': args}]


def floor(phase, n, workdir):
    """One ip -batch task: create (first), read the same links (rerun), delete them one by one (delete)."""
    names = [link['name'] for link in links(n)]
    lines = {'first': ip_create_lines(n),
             'rerun': ['link show %s' % name for name in names],
             'delete': ['link del %s' % name for name in names]}[phase]
    return [batch_task(workdir.write_batch('floor-%s-%d' % (phase, n), lines), changed=phase != 'rerun')]


def floor_group(phase, n, workdir):
    """Delete only: one ip -batch task putting the links in group 99, then one group delete."""
    lines = ['link set %s group 99' % link['name'] for link in links(n)] + ['link del group 99']
    return [batch_task(workdir.write_batch('floor_group-%s-%d' % (phase, n), lines))]


def batch_task(path, changed=True):
    task = {'name': 'ip -batch', 'ansible.builtin.command': 'ip -batch %s' % path}
    if not changed:
        task['changed_when'] = False
    return task


@dataclass(frozen=True)
class Variant:
    name: str
    tasks: Callable  # (phase, n, workdir) -> list of task dicts
    phases: tuple = PHASES
    loop: bool = False  # one task per link: fewer runs at N >= LARGE_N


VARIANTS = (
    Variant('ip_loop', ip_loop, loop=True),
    Variant('module_loop', module_loop, loop=True),
    Variant('aggregate', aggregate),
    Variant('floor', floor),
    Variant('floor_group', floor_group, phases=('delete',)),
)
MAIN_VARIANTS = ('ip_loop', 'module_loop', 'aggregate', 'floor')


# ---------------------------------------------------------------------------------------------------------------
# The lab namespace
# ---------------------------------------------------------------------------------------------------------------

def run_cmd(argv, **kwargs):
    """Run a setup command; fail with its output."""
    proc = subprocess.run(argv, capture_output=True, text=True, **kwargs)
    if proc.returncode:
        raise BenchmarkError('%s failed (%d): %s%s' % (' '.join(map(str, argv)), proc.returncode,
                                                      proc.stdout, proc.stderr))
    return proc


class Lab:
    """The host namespace: a veth pair trunk <-> trunkp, both ends inside it and up; links go on trunk."""

    def __init__(self, name):
        if not name.startswith('ulbench-'):
            raise ValueError('lab namespaces must be named ulbench-*')
        self.name = name

    def exists(self):
        return (NETNS_DIR / self.name).exists()

    def ip(self, *args):
        """ip inside the lab namespace (never in the root namespace)."""
        return run_cmd(['ip', '-n', self.name, *args])

    def reset(self):
        """A clean namespace: delete it (with everything in it) and create it again."""
        self.delete()
        run_cmd(['ip', 'netns', 'add', self.name])
        self.ip('link', 'add', PARENT, 'type', 'veth', 'peer', 'name', PEER)
        self.ip('link', 'set', PARENT, 'up')
        self.ip('link', 'set', PEER, 'up')

    def delete(self):
        if not self.exists():
            return
        # Deleting the parent takes its macvlan links along, synchronously and in one batch; the namespace
        # itself is then cleaned up by the kernel in the background with nearly nothing left in it, so that
        # the cleanup does not run into the next measured run.
        subprocess.run(['ip', '-n', self.name, 'link', 'del', PARENT], capture_output=True, check=False)
        run_cmd(['ip', 'netns', 'del', self.name])

    def batch(self, path):
        self.ip('-batch', str(path))

    def macvlans(self):
        """Every macvlan link in the namespace, read with pyroute2: {name: {parent, mode, up, addresses}}."""
        with IPRoute(netns=self.name, flags=0) as ipr:
            index = {msg['index']: msg.get_attr('IFLA_IFNAME') for msg in ipr.get_links()}
            addresses = {}
            for msg in ipr.get_addr(family=AF_INET):
                addresses.setdefault(msg['index'], []).append('%s/%d' % (msg.get_attr('IFA_ADDRESS'),
                                                                         msg['prefixlen']))
            found = {}
            for msg in ipr.get_links():
                info = msg.get_attr('IFLA_LINKINFO')
                if not info or info.get_attr('IFLA_INFO_KIND') != 'macvlan':
                    continue
                data = info.get_attr('IFLA_INFO_DATA')
                found[msg.get_attr('IFLA_IFNAME')] = {
                    'parent': index.get(msg.get_attr('IFLA_LINK')),
                    'mode': data.get_attr('IFLA_MACVLAN_MODE') if data else None,
                    'up': bool(msg['flags'] & IFF_UP),
                    'addresses': sorted(addresses.get(msg['index'], [])),
                }
        return found

    def verify(self, items, what):
        """Fail unless the namespace holds exactly the macvlan links ``items``, up, each with its address."""
        expected = {item['name']: {'parent': PARENT, 'mode': 'bridge', 'up': True, 'addresses': [item['address']]}
                    for item in items}
        found = self.macvlans()
        if found == expected:
            return
        missing = sorted(set(expected) - set(found))
        extra = sorted(set(found) - set(expected))
        wrong = sorted(name for name in set(found) & set(expected) if found[name] != expected[name])
        detail = '; '.join('%s: %s' % (label, names[:5] + (['...'] if len(names) > 5 else [])) for label, names in
                           (('missing', missing), ('unexpected', extra), ('wrong', wrong)) if names)
        if wrong:
            detail += '; e.g. %s is %s, expected %s' % (wrong[0], found[wrong[0]], expected[wrong[0]])
        raise BenchmarkError('verification after %s failed (%d macvlan links, expected %d): %s'
                             % (what, len(found), len(expected), detail))


# ---------------------------------------------------------------------------------------------------------------
# Ansible
# ---------------------------------------------------------------------------------------------------------------

class PlainDumper(yaml.SafeDumper):
    """YAML without anchors and aliases: repeated tasks are written out, as a person would write them."""

    def ignore_aliases(self, data):
        return True


@dataclass
class PlayRun:
    seconds: float
    changed: int


class Workdir:
    """The temporary directory: the installed collection, inventory, playbooks, library/ and batch files."""

    def __init__(self, path, host):
        self.path = Path(path)
        self.host = host
        self.collections = self.path / 'collections'
        self.count = 0

    def setup(self):
        """Build and install the collection; write ansible.cfg, the inventory and the noop module."""
        for sub in ('build', 'batch', 'library', 'ansible-home'):
            (self.path / sub).mkdir()
        (self.path / 'ansible.cfg').write_text('[defaults]\n')
        run_cmd([VENV_BIN / 'ansible-galaxy', 'collection', 'build', '--force', '--output-path',
                 self.path / 'build', REPO], cwd=self.path, env=ansible_env(self))
        tarball, = (self.path / 'build').glob('underlay-network-*.tar.gz')
        run_cmd([VENV_BIN / 'ansible-galaxy', 'collection', 'install', '--force', '-p', self.collections, tarball],
                cwd=self.path, env=ansible_env(self))
        inventory = {'all': {'hosts': {self.host: {'ansible_connection': 'underlay.network.netns',
                                                   'ansible_python_interpreter': str(PYTHON)}}}}
        (self.path / 'inventory.yml').write_text(yaml.safe_dump(inventory))
        (self.path / 'library' / 'noop.py').write_text(NOOP_MODULE)

    def write_batch(self, name, lines):
        path = self.path / 'batch' / (name + '.batch')
        path.write_text('\n'.join(lines) + '\n')
        return path

    def write_json(self, name, data):
        path = self.path / 'batch' / (name + '.json')
        path.write_text(json.dumps(data))
        return path

    def play(self, tasks, label, recap=True):
        """Write a playbook with ``tasks``, run it and time the whole ansible-playbook process.

        ``recap=False``: the tasks give no host result (meta tasks), so the recap has no line for the host.
        """
        self.count += 1
        playbook = self.path / ('%03d-%s.yml' % (self.count, label))
        play = [{'name': label, 'hosts': self.host, 'gather_facts': False, 'tasks': tasks}]
        playbook.write_text(yaml.dump(play, Dumper=PlainDumper, sort_keys=False, width=1000))
        argv = [VENV_BIN / 'ansible-playbook', '-i', self.path / 'inventory.yml', playbook]
        start = time.perf_counter()
        proc = subprocess.run(argv, cwd=self.path, env=ansible_env(self), capture_output=True, text=True)
        seconds = time.perf_counter() - start
        stats = {m['host']: m for m in RECAP.finditer(proc.stdout)}.get(self.host)
        if proc.returncode or (stats is None if recap else stats is not None) or (
                stats and (int(stats['failed']) or int(stats['unreachable']))):
            raise BenchmarkError('ansible-playbook %s failed (exit %d):\n%s%s'
                                 % (label, proc.returncode, tail(proc.stdout), tail(proc.stderr)))
        return PlayRun(seconds, int(stats['changed']) if stats else 0)


def ansible_env(workdir):
    env = dict(os.environ)
    env.update({
        'PATH': '%s:%s' % (VENV_BIN, env.get('PATH', '')),
        'ANSIBLE_CONFIG': str(workdir.path / 'ansible.cfg'),
        'ANSIBLE_HOME': str(workdir.path / 'ansible-home'),
        'ANSIBLE_COLLECTIONS_PATH': str(workdir.collections),
        'ANSIBLE_PIPELINING': 'True',
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_RETRY_FILES_ENABLED': 'False',
    })
    return env


def tail(text, lines=40):
    return '\n'.join(text.splitlines()[-lines:]) + '\n' if text else ''


# ---------------------------------------------------------------------------------------------------------------
# Measurements
# ---------------------------------------------------------------------------------------------------------------

def expect_changed(run, phase, label):
    """A rerun must report nothing changed; a first converge and a delete must report a change."""
    if phase == 'rerun' and run.changed:
        raise BenchmarkError('%s: the no-change re-run reported changed=%d' % (label, run.changed))
    if phase != 'rerun' and not run.changed:
        raise BenchmarkError('%s: reported changed=0, expected a change' % label)


def run_sequence(lab, workdir, variant, n, rep, record):
    """From a clean namespace, run the variant's phases in order (first, rerun, delete), verifying each."""
    lab.reset()
    if 'first' not in variant.phases:  # start from the converged state, made without Ansible
        lab.batch(workdir.write_batch('converge-%d' % n, ip_create_lines(n)))
        lab.verify(links(n), 'converging for %s' % variant.name)
    for phase in variant.phases:
        label = '%s-%s-%d' % (variant.name, phase, n)
        run = workdir.play(variant.tasks(phase, n, workdir), label)
        expect_changed(run, phase, label)
        lab.verify([] if phase == 'delete' else links(n), label)
        log('  N=%-4d rep %d  %-12s %-7s %8.3f s' % (n, rep + 1, variant.name, phase, run.seconds))
        record.append({'variant': variant.name, 'phase': phase, 'n': n, 'rep': rep, 'seconds': run.seconds,
                       'loadavg_1min': os.getloadavg()[0]})


def runs_for(variant, n, runs, loop_runs, loop_max):
    if not variant.loop:
        return runs
    if n > loop_max:
        return 0
    return min(runs, loop_runs[1] if n >= LARGE_N else loop_runs[0])


def measure_links(lab, workdir, sizes, runs, loop_runs, loop_max):
    """Every variant and phase for every N; the variants interleaved within each repetition."""
    record = []
    for n in sizes:
        for rep in range(runs):
            log('N=%d, repetition %d/%d' % (n, rep + 1, runs))
            for variant in VARIANTS:
                if rep < runs_for(variant, n, runs, loop_runs, loop_max):
                    run_sequence(lab, workdir, variant, n, rep, record)
    lab.delete()
    return record


SINGLE_CASES = {
    'startup': [{'name': 'nothing', 'ansible.builtin.meta': 'noop'}],
    'noop': [{'name': 'noop', 'noop': {}}] * SINGLE_K,
    'macvlan_link': [{'name': 'macvlan_link, no change', 'underlay.network.macvlan_link': {
        'name': SINGLE_LINK['name'], 'parent': PARENT, 'addresses': [SINGLE_LINK['address']]}}] * SINGLE_K,
}


def measure_single_task(lab, workdir):
    """Playbooks of 0 tasks, K noop tasks and K no-change macvlan_link tasks on one existing link."""
    lab.reset()
    workdir.play(SINGLE_CASES['macvlan_link'][:1], 'single-setup')
    lab.verify([SINGLE_LINK], 'single-setup')
    record = []
    for rep in range(SINGLE_RUNS):
        for case, tasks in SINGLE_CASES.items():
            run = workdir.play(tasks, 'single-%s' % case, recap=case != 'startup')
            expect_changed(run, 'rerun', 'single-%s' % case)
            lab.verify([SINGLE_LINK], 'single-%s' % case)
            log('  single-task rep %d  %-12s %8.3f s' % (rep + 1, case, run.seconds))
            record.append({'case': case, 'tasks': len(tasks) if case != 'startup' else 0, 'rep': rep,
                           'seconds': run.seconds})
    lab.delete()
    return record


# ---------------------------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------------------------

def medians(record):
    """{(variant, phase, n): median seconds}"""
    groups = {}
    for run in record:
        groups.setdefault((run['variant'], run['phase'], run['n']), []).append(run['seconds'])
    return {key: statistics.median(values) for key, values in groups.items()}


def single_task_costs(record):
    """Median playbook time per case and the per-task cost (T_K - T_0) / K of noop and macvlan_link."""
    med = {case: statistics.median(r['seconds'] for r in record if r['case'] == case) for case in SINGLE_CASES}
    per_task = {case: (med[case] - med['startup']) / SINGLE_K for case in ('noop', 'macvlan_link')}
    return med, per_task


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt(value, digits=2, suffix=''):
    return '-' if value is None else '%.*f%s' % (digits, value, suffix)


PHASE_TITLES = {
    'first': 'First converge (from a clean namespace)',
    'rerun': 'No-change re-run (on the converged state)',
    'delete': 'Delete all N links (from the converged state)',
}


def phase_table(med, phase, sizes):
    variants = list(MAIN_VARIANTS) + (['floor_group'] if phase == 'delete' else [])
    head = ['N'] + ['%s (s)' % v for v in variants] + ['aggregate/floor', 'module_loop/aggregate', 'ip_loop/aggregate']
    if phase == 'delete':
        head.append('aggregate/floor_group')
    rows = []
    for n in sizes:
        t = {v: med.get((v, phase, n)) for v in variants}
        cells = [str(n)] + [fmt(t[v], 3) for v in variants]
        cells += [fmt(ratio(t['aggregate'], t['floor'])), fmt(ratio(t['module_loop'], t['aggregate'])),
                  fmt(ratio(t['ip_loop'], t['aggregate']))]
        if phase == 'delete':
            cells.append(fmt(ratio(t['aggregate'], t['floor_group'])))
        rows.append(cells)
    return markdown_table(head, rows)


def markdown_table(head, rows):
    """A markdown table, the first column left-aligned and the others right-aligned."""
    lines = ['| ' + ' | '.join(head) + ' |', '|:---|' + '|'.join('---:' for _ in head[1:]) + '|']
    return '\n'.join(lines + ['| ' + ' | '.join(row) + ' |' for row in rows])


def targets(med, per_task):
    """[(description, measured ratio or None, limit, 'max' or 'min')]"""
    def agg_over(other_variant, phase, n):
        return ratio(med.get(('aggregate', phase, n)), med.get((other_variant, phase, n)))

    def loop_over_agg(phase):
        return ratio(med.get(('module_loop', phase, 64)), med.get(('aggregate', phase, 64)))

    return [
        ('aggregate first converge, N=256, vs floor', agg_over('floor', 'first', 256), 1.5, 'max'),
        ('aggregate no-change re-run, N=256, vs floor', agg_over('floor', 'rerun', 256), 1.3, 'max'),
        ('module_loop / aggregate, N=64, first converge', loop_over_agg('first'), 20, 'min'),
        ('module_loop / aggregate, N=64, re-run (shown, no target)', loop_over_agg('rerun'), None, None),
        ('aggregate first converge, N=2048, vs floor', agg_over('floor', 'first', 2048), 3, 'max'),
        ('aggregate no-change re-run, N=2048, vs floor (shown, no target)', agg_over('floor', 'rerun', 2048), None,
         None),
        ('aggregate delete, N=256, vs floor (per-link deletes)', agg_over('floor', 'delete', 256), 2, 'max'),
        ('one macvlan_link task vs one do-nothing task (per-task cost)',
         ratio(per_task.get('macvlan_link'), per_task.get('noop')), 1.5, 'max'),
    ]


def verdict(measured, limit, kind):
    if limit is None:
        return 'info'
    if measured is None:
        return 'not measured'
    ok = measured <= limit if kind == 'max' else measured >= limit
    return 'PASS' if ok else 'MISS'


def render_report(meta, record, single, breakdown):
    med = medians(record)
    sizes = meta['sizes']
    out = ['# underlay.network: links benchmark', '',
           '- Date: %s' % meta['date'],
           '- Kernel: %s, %d CPUs' % (meta['kernel'], meta['cpus']),
           '- ansible-core %s, pyroute2 %s, Python %s' % (meta['ansible_core'], meta['pyroute2'], meta['python']),
           '- Collection: %s' % meta['collection'],
           '- Runs: median of %d per cell; ip_loop and module_loop: %d below N = %d, %d from there on, none above '
           'N = %d' % (meta['runs'], meta['loop_runs'][0], LARGE_N, meta['loop_runs'][1],
                       meta.get('loop_max', LARGE_N)),
           '- Figures: wall time of the whole ansible-playbook process, in seconds (startup included)',
           '- Machine load (1-minute load average after each run, the benchmark itself counts for about 1): '
           'median %s, max %s' % load_summary(record), '']
    for phase in PHASES:
        out += ['## %s' % PHASE_TITLES[phase], '', phase_table(med, phase, sizes), '']
    per_task = {}
    if single:
        case_med, per_task = single_task_costs(single)
        out += ['## Single-task cost (K = %d identical tasks, median of %d)' % (SINGLE_K, SINGLE_RUNS), '',
                markdown_table(['Playbook', 'seconds', 'per task (s)'], [
                    ['one meta: noop task (startup)', fmt(case_med['startup'], 3), '-'],
                    ['%d x noop module' % SINGLE_K, fmt(case_med['noop'], 3), fmt(per_task['noop'], 4)],
                    ['%d x macvlan_link, no change' % SINGLE_K, fmt(case_med['macvlan_link'], 3),
                     fmt(per_task['macvlan_link'], 4)],
                ]), '']
    rows = []
    for what, measured, limit, kind in targets(med, per_task):
        limit_text = '-' if limit is None else ('<= %g' if kind == 'max' else '>= %g') % limit
        rows.append([what, fmt(measured, 2, ' x'), limit_text, verdict(measured, limit, kind)])
    out += ['## Targets', '', markdown_table(['Target', 'Measured', 'Limit', 'Result'], rows), '']
    out += breakdown_section(med, breakdown)
    return '\n'.join(out)


def breakdown_section(med, breakdown):
    """Where the aggregate's seconds above the floor go, at the largest N (links_breakdown.py, same run)."""
    n = breakdown['n']
    rows = []
    for phase in ('first', 'rerun'):  # deleting, the floor pays an RCU wait per link: nothing to break down
        agg, flo = med.get(('aggregate', phase, n)), med.get(('floor', phase, n))
        if agg is None or flo is None:
            continue
        module = breakdown['links_module_utils'] + breakdown['validate'] + sum(breakdown[phase].values())
        rows.append([phase, fmt(agg, 3), fmt(flo, 3), fmt(agg - flo, 3), fmt(breakdown['links_module_utils'], 3),
                     fmt(breakdown['validate'], 3), fmt(breakdown[phase]['plan'], 3),
                     fmt(breakdown[phase]['apply'], 3), fmt(breakdown[phase]['report'], 3),
                     fmt(agg - flo - module, 3)])
    return ['## Where the aggregate spends its time (N = %d)' % n, '',
            'Measured in the same run by links_breakdown.py, inside a lab namespace without Ansible around it. '
            'The floor pays Python, AnsibleModule (%.3f s in a fresh interpreter) and the task itself too; the '
            'last column is the rest: Ansible around the module (the controller templating the N-entry '
            'arguments, the module payload, the arguments and the result as JSON).' %
            breakdown['python_and_ansible_module'], '',
            markdown_table(['phase', 'aggregate', 'floor', 'difference', 'module_utils import',
                            'argument validation', 'plan (read, diff)', 'apply (netlink)', 'report (read back)',
                            'controller and the rest'], rows), '']


def measure_breakdown(lab, workdir, n):
    """Run links_breakdown.py in a clean lab namespace with the installed collection."""
    lab.reset()
    env = dict(ansible_env(workdir), PYTHONPATH=str(workdir.collections))
    proc = run_cmd(['ip', 'netns', 'exec', lab.name, PYTHON, REPO / 'benchmarks' / 'links_breakdown.py', str(n)],
                   env=env)
    lab.delete()
    return json.loads(proc.stdout)


def load_summary(record):
    loads = [run['loadavg_1min'] for run in record]
    return (fmt(statistics.median(loads)), fmt(max(loads))) if loads else ('-', '-')


def collection_revision():
    """'git REV', with ' plus uncommitted changes' when the tree differs from it (the results themselves aside)."""
    git = subprocess.run(['git', '-C', str(REPO), 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True)
    dirty = subprocess.run(['git', '-C', str(REPO), 'status', '--porcelain', '--', '.', ':!benchmarks/results'],
                           capture_output=True, text=True)
    return 'git %s%s' % (git.stdout.strip() or '?', ' plus uncommitted changes' if dirty.stdout else '')


def metadata(args):
    ansible_core = subprocess.run([PYTHON, '-c', 'import ansible.release; print(ansible.release.__version__)'],
                                  capture_output=True, text=True).stdout.strip()
    return {
        'date': datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC'),
        'kernel': platform.release(),
        'cpus': os.cpu_count(),
        'ansible_core': ansible_core,
        'pyroute2': pyroute2.__version__,
        'python': platform.python_version(),
        'collection': collection_revision(),
        'sizes': args.sizes,
        'runs': args.runs,
        'loop_runs': [min(args.runs, args.loop_runs), min(args.runs, args.large_loop_runs)],
        'loop_max': args.loop_max,
    }


# ---------------------------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------------------------

def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--sizes', default='16,64,256', type=lambda s: [int(x) for x in s.split(',')],
                        help='numbers of links, comma-separated (default: 16,64,256)')
    parser.add_argument('--runs', type=int, default=5,
                        help='repetitions per cell, the median is reported (default 5)')
    parser.add_argument('--loop-runs', type=int, default=LOOP_RUNS,
                        help='repetitions of the loop variants below N = %d (default %d)' % (LARGE_N, LOOP_RUNS))
    parser.add_argument('--large-loop-runs', type=int, default=LOOP_RUNS_LARGE,
                        help='repetitions of the loop variants from N = %d on (default %d)'
                             % (LARGE_N, LOOP_RUNS_LARGE))
    parser.add_argument('--loop-max', type=int, default=LARGE_N,
                        help='the loop variants (one task per link) only up to this N (default %d): at 2,048 links '
                             'one run of them would take about 40 min' % LARGE_N)
    parser.add_argument('--output', type=Path, default=REPO / 'benchmarks' / 'results' / 'links.md',
                        help='markdown report; the raw timings go next to it with the suffix .json '
                             '(default: benchmarks/results/links.md)')
    parser.add_argument('--skip-single', action='store_true', help='do not measure the single-task cost')
    return parser.parse_args(argv)


def raise_interrupt(signum, frame):
    """SIGTERM and SIGHUP clean up as Ctrl-C does, in this process only.

    pyroute2 opens a socket in another namespace from a forked child, which it ends with SIGTERM: such a child
    must die at once, never unwind a copy of this process's stack (and so remove the lab under its feet).
    """
    if os.getpid() != MAIN_PID:
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    raise KeyboardInterrupt('signal %d' % signum)


def remove_own_namespaces():
    """Whatever happened: remove every namespace of this process (ulbench-<pid>-*), and only those."""
    for path in NETNS_DIR.glob(NS_PREFIX + '*') if NETNS_DIR.is_dir() else ():
        subprocess.run(['ip', 'netns', 'del', path.name], check=False)


def main(argv=None):
    args = parse_args(argv)
    if os.geteuid() != 0:
        sys.exit('links_benchmark: needs root (network namespaces)')
    signal.signal(signal.SIGTERM, raise_interrupt)
    signal.signal(signal.SIGHUP, raise_interrupt)
    os.environ['PATH'] = '%s:%s' % (VENV_BIN, os.environ.get('PATH', ''))
    meta = metadata(args)
    lab = Lab(NS_PREFIX + 'h')
    try:
        with tempfile.TemporaryDirectory(prefix='ulbench-') as tmp:
            workdir = Workdir(tmp, lab.name)
            log('building and installing the collection in %s' % tmp)
            workdir.setup()
            single = [] if args.skip_single else measure_single_task(lab, workdir)
            record = measure_links(lab, workdir, args.sizes, args.runs, meta['loop_runs'], args.loop_max)
            breakdown = measure_breakdown(lab, workdir, max(args.sizes))
    except BenchmarkError as exc:
        log('links_benchmark: ABORTED, nothing reported: %s' % exc)
        return 1
    except KeyboardInterrupt as exc:
        log('links_benchmark: interrupted (%s), nothing reported' % (exc or 'SIGINT'))
        return 130
    finally:
        if os.getpid() == MAIN_PID:
            remove_own_namespaces()
    report = render_report(meta, record, single, breakdown)
    print(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report)
    raw = {'meta': meta, 'runs': record, 'single_task': single, 'breakdown': breakdown,
           'medians': [{'variant': v, 'phase': p, 'n': n, 'seconds': s} for (v, p, n), s in medians(record).items()]}
    args.output.with_suffix('.json').write_text(json.dumps(raw, indent=1) + '\n')
    log('wrote %s and %s' % (args.output, args.output.with_suffix('.json')))
    return 0


if __name__ == '__main__':
    sys.exit(main())
