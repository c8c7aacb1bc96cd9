#!/usr/bin/env python3
"""Fleet benchmark: playbooks/site.yml on a lab fleet of 10 hosts, forks 10, as the segments grow.

    .venv/bin/python benchmarks/fleet_benchmark.py                         # 10 hosts, 1/4/8 segments, 3 runs
    .venv/bin/python benchmarks/fleet_benchmark.py --segments 1,2 --runs 1  # a quick look

For each number of segments S (VLANs on every host's trunk, a shim each), the
embedded lab (.venv/bin/labctl, lab name ``ulfleet``) is built afresh with the
hosts, then site.yml runs twice: the first converge and the no-change re-run.
Timed is the whole ``labctl run -- ansible-playbook`` command (in the kernel box
when this kernel has no VLAN, which includes handing the job to the box, about
0.4 s). Building the lab is not timed. The reachability matrix is left out
(``underlay_verify: false``): it grows with the square of the endpoints, and
what is measured here is converging.

Checks, without which nothing is reported: every run exits 0 with no failed
host; the first converge changes every host, the re-run none; afterwards every
lab host has exactly S VLAN sub-interfaces and S shims, read back with raw
pyroute2 inside the lab. The report gives the medians, the tasks per host (from
the recap: they must not grow with S) and per-host time.

The lab is removed at the end, also on failure or Ctrl-C.

Host-kernel mode (``--lab host``): the fleet grows instead of the segments.

    .venv/bin/python benchmarks/fleet_benchmark.py --lab host                      # 10/50/100/200 hosts, forks 10/25
    .venv/bin/python benchmarks/fleet_benchmark.py --lab host --hosts 2,3 --forks 5 --runs 1 --output /tmp/s.md

This kernel has macvlan but no 802.1Q VLAN and no ipvlan, so the fleet has ONE untagged macvlan segment
(no ``vlan_id``: the shim and the workloads sit on the trunk ``eth0`` itself), network namespace workloads
(``underlay_workloads: netns``), ``underlay_persistence: none`` and no report page (``verify_report_path: ''``),
as tests/integration/test_site_playbook.py runs it. The lab is built directly with underlay_dev.lab.topology on this
kernel (namespace prefix ``ulbench-fleet-PID-``): a switch namespace whose bridge carries the lab router
172.28.0.1/24, N host namespaces with eth0 on that bridge and a default route through the router. It is built
afresh for every (N, forks) variant (not timed) and removed afterwards, also on failure; the benchmark then
checks that ``ip netns list`` holds none of its namespaces. Variants are interleaved: every repetition runs
each (N, forks) once, in turn, and the report gives medians.

Per variant: the first converge and the no-change re-run of site.yml (the whole ``ansible-playbook`` command,
timed), verification included (site.yml verifies reachability with the verify role). The verification's own
time is read from the same runs, not from extra ones: ``ansible.posix.profile_tasks`` (installed with the
``ansible`` bundle) is enabled next to the default output with its summary in execution order, and the
verification is the sum of its tasks' wall times: "Gather the fleet's endpoints for the verification, once",
the include of the verify role and every task of that role (plan once, ping per host, report). profile_tasks
counts a task from its start to the next task's start, so this is the wall time the playbook spends from the
verification's first task to its end, as a user waits for it. Timing a run with ``underlay_verify: false`` and
subtracting was rejected: it needs twice the runs and subtracts two noisy totals; a verification-only run would
not be the same work (no converge before it, other caches). Controller peak memory is ``ru_maxrss`` of the
``ansible-playbook`` process tree, from ``os.wait4`` on that one child: the largest resident set of any single
process in the tree (the controller's main process, its forked workers, and here also the module processes,
which run on this machine because the "hosts" are namespaces), not the sum of the workers. Tasks per host come
from the recap (ok + skipped), seconds per host are run seconds / N.

Checks without which nothing is reported: every run exits 0 with no failed or unreachable host and a recap
line for every host; the first converge changes every host, the re-run none (changed=0); the verification's
tasks were found in the timing summary. Targets (MET/MISSED), each a ratio within one repetition and forks
value, then the median over repetitions: seconds per host of the first converge at the largest N within 1.25x
of the smallest N; the same for the re-run; re-run <= 0.7x first converge at every N; verification seconds per
host at the largest N under 2x of the smallest N; controller peak memory at the largest N (the highest of all
its runs) under 1 GiB. Results: benchmarks/results/fleet_host.md and .json (``--output`` to write elsewhere).

The lab hosts share this kernel's one IPv4 neighbour table, whose limit (``gc_thresh3``, 1,024 entries by
default) counts every namespace's entries together and can be set in the initial namespace only: from about 100
lab hosts probing at once, pings fail with "neighbor table overflow" (a real fleet has a table per host). The
host mode raises ``gc_thresh2``/``gc_thresh3`` to 8,192/16,384 for its run and writes the old values back at the
end, also on failure or Ctrl-C; nothing else of the machine's is changed.

The host mode takes ``/tmp/underlay-heavy.lock`` (fcntl.flock) for the whole benchmark, so that another heavy job
on this machine does not run alongside: do not wrap it in ``flock`` on the same file yourself (it would wait
for itself). The kernel-box mode is unchanged and takes no lock.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import yaml
from links_benchmark import RECAP, BenchmarkError, collection_revision, log, markdown_table, tail
from underlay_dev.lab.topology import Lab, remove_leftovers

REPO = Path(__file__).resolve().parent.parent
PYTHON = REPO / '.venv' / 'bin' / 'python'
LABCTL = [str(REPO / '.venv' / 'bin' / 'labctl'), '--name', 'ulfleet']
WORKDIR = REPO / '.cache' / 'bench-fleet'
HEAVY_LOCK = '/tmp/underlay-heavy.lock'
TOP_TASKS = 12  # the report's "where the time goes" names this many tasks, the rest in one line
SKIPPED = re.compile(r'^(?P<host>\S+)\s+:.*\sskipped=(?P<skipped>\d+)', re.MULTILINE)

# Read back inside the lab: per namespace, how many VLAN and macvlan links it has.
COUNT_LINKS = '''
import json, sys
from pyroute2 import IPRoute
counts = {}
for ns in sys.argv[1:]:
    with IPRoute(netns=ns, flags=0) as ipr:
        kinds = [m.get_nested('IFLA_LINKINFO', 'IFLA_INFO_KIND') for m in ipr.get_links()]
    counts[ns] = {'vlan': kinds.count('vlan'), 'macvlan': kinds.count('macvlan')}
print(json.dumps(counts))
'''


def segment(number):
    return {'name': 'seg%d' % number, 'vlan_id': 100 + number, 'subnet': '172.29.%d.0/24' % number,
            'gateway': '172.29.%d.1' % number, 'container_pool': '172.29.%d.128/25' % number, 'host_range_size': 8}


def write_inventory(path, hosts, segments):
    """The lab fleet: ``hosts`` lab hosts on one trunk network, ``segments`` VLAN segments with a shim each."""
    (path / 'group_vars' / 'all').mkdir(parents=True, exist_ok=True)
    inventory = {'all': {'children': {'underlay_hosts': {
        'vars': {'ansible_connection': 'underlay.network.netns',
                 'ansible_netns_name': 'ulfleet-{{ inventory_hostname }}',
                 'ansible_python_interpreter': str(PYTHON)},
        'hosts': {'host%d' % i: {'lab_uplink_address': '172.28.0.%d/24' % (10 + i)} for i in range(1, hosts + 1)},
    }}}}
    (path / 'hosts.yml').write_text(yaml.safe_dump(inventory, sort_keys=False))
    fleet = {'underlay_fleet': {'trunk': 'eth0', 'segments': [segment(i) for i in range(1, segments + 1)]},
             'underlay_verify': False, 'underlay_persistence': 'none'}
    (path / 'group_vars' / 'all' / 'underlay.yml').write_text(yaml.safe_dump(fleet, sort_keys=False))


def labctl(*args, check=True):
    proc = subprocess.run(LABCTL + list(args), capture_output=True, text=True, cwd=REPO)
    if check and proc.returncode:
        raise BenchmarkError('labctl %s failed (%d):\n%s%s' % (' '.join(args), proc.returncode, tail(proc.stdout),
                                                               tail(proc.stderr)))
    return proc


def site(inventory, forks):
    """One timed site.yml run in the lab: (seconds, {host: recap counts})."""
    argv = LABCTL + ['run', '--env', 'ANSIBLE_NOCOLOR=1', '--', str(REPO / '.venv' / 'bin' / 'ansible-playbook'),
                     '-i', str(inventory), '-f', str(forks), str(REPO / 'playbooks' / 'site.yml')]
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=REPO)
    seconds = time.perf_counter() - start
    recap = {m['host']: {k: int(m[k]) for k in ('ok', 'changed', 'unreachable', 'failed')}
             for m in RECAP.finditer(proc.stdout)}
    for m in SKIPPED.finditer(proc.stdout):
        if m['host'] in recap:
            recap[m['host']]['skipped'] = int(m['skipped'])
    if proc.returncode or not recap or any(r['failed'] or r['unreachable'] for r in recap.values()):
        raise BenchmarkError('site.yml failed (%d):\n%s%s' % (proc.returncode, tail(proc.stdout), tail(proc.stderr)))
    return seconds, recap


def check_links(hosts, segments):
    namespaces = ['ulfleet-host%d' % i for i in range(1, hosts + 1)]
    proc = labctl('run', '--', str(PYTHON), '-c', COUNT_LINKS, *namespaces)
    counts = json.loads(proc.stdout.strip().splitlines()[-1])
    wrong = {ns: c for ns, c in counts.items() if c != {'vlan': segments, 'macvlan': segments}}
    if wrong:
        raise BenchmarkError('after the converge with %d segments, hosts have other links: %s' % (segments, wrong))


def measure(hosts, forks, sizes, runs):
    """Every size once per repetition, in turn, so that the machine's noise hits them alike."""
    record = []
    for segments in sizes:
        write_inventory(WORKDIR / ('inventory-%d' % segments), hosts, segments)
    for rep in range(runs):
        for segments in sizes:
            inventory = WORKDIR / ('inventory-%d' % segments)
            labctl('down')
            up = labctl('up', '--inventory', str(inventory))
            line = next((line for line in up.stdout.splitlines() if ' is up ' in line), '')
            # "labctl: lab ulfleet is up in the kernel box (...), because ... (15.9s)": where, not how fast.
            where = re.sub(r'^labctl: lab \S+ is up |\s*\([0-9.]+s\)$', '', line.strip())
            for phase in ('first', 'rerun'):
                seconds, recap = site(inventory, forks)
                changed = [host for host, counts in recap.items() if counts['changed']]
                if phase == 'first' and len(changed) != hosts:
                    raise BenchmarkError('the first converge changed only %s' % changed)
                if phase == 'rerun' and changed:
                    raise BenchmarkError('the re-run changed %s' % changed)
                tasks = sorted({counts['ok'] + counts.get('skipped', 0) for counts in recap.values()})
                record.append({'segments': segments, 'phase': phase, 'rep': rep, 'seconds': seconds,
                               'tasks_per_host': tasks, 'where': where})
                log('segments %d, run %d, %s: %.1f s, tasks per host %s' % (segments, rep + 1, phase, seconds, tasks))
            check_links(hosts, segments)
    return record


def report(meta, record, sizes):
    rows = []
    for segments in sizes:
        cells = [str(segments), str(segments * meta['hosts'])]
        for phase in ('first', 'rerun'):
            times = [r['seconds'] for r in record if r['segments'] == segments and r['phase'] == phase]
            cells.append('%.1f' % statistics.median(times))
        tasks = sorted({t for r in record if r['segments'] == segments for t in r['tasks_per_host']})
        cells.append(', '.join(map(str, tasks)))
        cells.append('%.2f' % (statistics.median(r['seconds'] for r in record if r['segments'] == segments
                                                 and r['phase'] == 'first') / meta['hosts']))
        rows.append(cells)
    table = markdown_table(['segments', 'VLANs + shims in the fleet (each)', 'first converge (s)',
                            'no-change re-run (s)', 'tasks per host', 'first converge per host (s)'], rows)
    where = sorted({r['where'] for r in record})
    return '\n'.join([
        '# underlay.network: fleet benchmark (site.yml)', '',
        '- Date: %s' % meta['date'],
        '- Machine: %s CPUs, kernel %s; the lab: %s' % (meta['cpus'], meta['kernel'], '; '.join(where)),
        '- %d lab hosts, forks %d, site.yml without the reachability matrix; median of %d runs per cell'
        % (meta['hosts'], meta['forks'], meta['runs']),
        '- Collection: %s' % meta['collection'], '',
        table, '',
        'Tasks per host are counted from the play recap (ok + skipped; the host that runs the plan once for the '
        'fleet has one more). They stay the same as the segments grow: every host converges its VLANs in one task '
        'and its shims in one task, whatever the number of segments.',
        '',
    ])


# ---------------------------------------------------------------------------------------------------------------
# Host-kernel mode: N lab hosts as namespaces on this kernel, one untagged macvlan segment
# ---------------------------------------------------------------------------------------------------------------

HOST_PREFIX = 'ulbench-fleet-%d-' % os.getpid()
HOST_WORKDIR = REPO / '.cache' / 'bench-fleet-host'
ROUTER = '172.28.0.1'
MAX_HOSTS = 244  # uplinks 172.28.0.10 to .253 on the router's /24
# All the lab's hosts share this one kernel, and with it ONE IPv4 neighbour (ARP) table: gc_thresh3 (1,024 by
# default) counts the entries of every namespace together, and only the initial namespace can set it. 100 lab
# hosts probing each other at once exceed it ("neighbor table overflow": pings fail); 100 real hosts have a
# table each. So the benchmark raises the two limits for its own run and puts the old values back afterwards.
NEIGH_LIMITS = {'/proc/sys/net/ipv4/neigh/default/gc_thresh2': 8192,
                '/proc/sys/net/ipv4/neigh/default/gc_thresh3': 16384}
# Untagged: no vlan_id. A /20 with a /21 pool in slices of 8: room for 256 hosts' ranges and shims.
LAN = {'name': 'lan', 'subnet': '172.28.64.0/20', 'gateway': '172.28.64.1', 'container_pool': '172.28.72.0/21',
       'host_range_size': 8}
VERIFY_TASKS = ("Gather the fleet's endpoints for the verification, once",
                "Ping between the fleet's endpoints and compare with what the plan expects")
# profile_tasks' summary line: "<task name> ------- 1.23s" (the dashes fill to the terminal's width).
TASK_TIME = re.compile(r'^(?P<name>.*?) -* (?P<seconds>\d+\.\d\d)s$')


def host_names(hosts):
    return ['h%d' % i for i in range(1, hosts + 1)]


def build_host_lab(hosts):
    """The switch (bridge br0 with the router's address) and ``hosts`` lab hosts with a default route via it."""
    lab = Lab(HOST_PREFIX)
    try:
        lab.up_switch(address='%s/24' % ROUTER)
        for number, name in enumerate(host_names(hosts), start=10):
            lab.add_host(name, address='172.28.0.%d/24' % number, gateway=ROUTER)
    except BaseException:
        lab.teardown()
        raise
    return lab


def write_host_inventory(path, lab):
    """As tests/integration/test_site_playbook.py's ``inventory()``: the hosts are the namespaces' names."""
    path.mkdir(parents=True, exist_ok=True)
    hosts = {namespace: {'underlay_workloads': 'netns'} for _, namespace in sorted(lab.hosts.items())}
    inventory = {'all': {'vars': {'ansible_connection': 'underlay.network.netns',
                                  'ansible_python_interpreter': str(PYTHON),
                                  'underlay_fleet': {'trunk': 'eth0', 'segments': [LAN]},
                                  'underlay_persistence': 'none', 'verify_report_path': ''},
                         'children': {'underlay_hosts': {'hosts': hosts}}}}
    (path / 'hosts.yml').write_text(yaml.safe_dump(inventory, sort_keys=False))
    return path / 'hosts.yml'


def task_times(stdout):
    """profile_tasks' summary (in execution order): [(task name, seconds)]."""
    _, sep, summary = stdout.rpartition('TASKS RECAP')
    if not sep:
        raise BenchmarkError('no profile_tasks summary in the output:\n%s' % tail(stdout))
    return [(m['name'], float(m['seconds'])) for m in map(TASK_TIME.match, summary.splitlines()) if m]


def verification_seconds(times):
    tasks = [(name, seconds) for name, seconds in times
             if name in VERIFY_TASKS or name.split(' : ')[0].endswith('verify')]
    found = {name for name, _ in tasks}
    if not all(name in found for name in VERIFY_TASKS) or len(tasks) <= len(VERIFY_TASKS):
        raise BenchmarkError('the verification tasks are not all in the timing summary: %s' % sorted(found))
    return sum(seconds for _, seconds in tasks)


def host_site(inventory, forks, log_path):
    """One timed site.yml run on this kernel: seconds, recap, verification seconds, peak RSS (bytes), task times."""
    env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_PIPELINING='True', ANSIBLE_RETRY_FILES_ENABLED='False',
               ANSIBLE_CALLBACKS_ENABLED='ansible.posix.profile_tasks', PROFILE_TASKS_SORT_ORDER='none',
               PROFILE_TASKS_TASK_OUTPUT_LIMIT='all',
               PATH='%s:%s' % (PYTHON.parent, os.environ.get('PATH', '')))
    argv = [str(PYTHON.parent / 'ansible-playbook'), '-i', str(inventory), '-f', str(forks),
            str(REPO / 'playbooks' / 'site.yml')]
    with open(log_path, 'w+') as out:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=REPO, env=env)
        try:
            # wait4 on this one child: its rusage covers the whole tree it waited for (ru_maxrss in KiB).
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        stdout = out.read()
    recap = {m['host']: {k: int(m[k]) for k in ('ok', 'changed', 'unreachable', 'failed')}
             for m in RECAP.finditer(stdout)}
    for m in SKIPPED.finditer(stdout):
        if m['host'] in recap:
            recap[m['host']]['skipped'] = int(m['skipped'])
    if proc.returncode or not recap or any(r['failed'] or r['unreachable'] for r in recap.values()):
        raise BenchmarkError('site.yml failed (%d), output in %s:\n%s' % (proc.returncode, log_path, tail(stdout)))
    times = task_times(stdout)
    return seconds, recap, verification_seconds(times), usage.ru_maxrss * 1024, times


def our_namespaces():
    return sorted(name for name in subprocess.run(['ip', 'netns', 'list'], capture_output=True, text=True,
                                                  check=True).stdout.split() if name.startswith(HOST_PREFIX))


class NeighbourLimits:
    """The kernel's neighbour table limits raised to NEIGH_LIMITS while the block runs (never lowered), then back."""

    def __enter__(self):
        self.saved = {path: Path(path).read_text().strip() for path in NEIGH_LIMITS}
        for path, value in NEIGH_LIMITS.items():
            if int(self.saved[path]) < value:
                Path(path).write_text('%d\n' % value)
        log('fleet_benchmark: neighbour table limits %s for this run (were %s)' % (
            ', '.join('%s %d' % (Path(p).name, v) for p, v in NEIGH_LIMITS.items()),
            ', '.join('%s %s' % (Path(p).name, v) for p, v in self.saved.items())))
        return self

    def __exit__(self, *_exc):
        # thresh3 must stay >= thresh2: put thresh2 back first when lowering.
        for path in sorted(self.saved):
            Path(path).write_text(self.saved[path] + '\n')
        restored = {path: Path(path).read_text().strip() for path in self.saved}
        if restored != self.saved:
            log('fleet_benchmark: the neighbour table limits are %s, not %s as before' % (restored, self.saved))


def measure_host(sizes, forks_list, runs):
    """Every (N, forks) once per repetition, in turn; the lab is built afresh for each (not timed)."""
    if max(sizes) > MAX_HOSTS:
        raise BenchmarkError('at most %d lab hosts (the uplinks share one /24)' % MAX_HOSTS)
    HOST_WORKDIR.mkdir(parents=True, exist_ok=True)
    record = []
    for rep in range(runs):
        for hosts in sizes:
            for forks in forks_list:
                build = time.perf_counter()
                lab = build_host_lab(hosts)
                try:
                    built = time.perf_counter() - build
                    log('hosts %d, forks %d, run %d: lab built in %.1f s' % (hosts, forks, rep + 1, built))
                    inventory = write_host_inventory(HOST_WORKDIR / ('inventory-%d' % hosts), lab)
                    for phase in ('first', 'rerun'):
                        log_path = HOST_WORKDIR / ('site-%d-%d-%s.log' % (hosts, forks, phase))
                        seconds, recap, verify, rss, times = host_site(inventory, forks, log_path)
                        if set(recap) != set(lab.hosts.values()):
                            raise BenchmarkError('the recap has hosts %s, the lab %s'
                                                 % (sorted(recap), sorted(lab.hosts.values())))
                        changed = sorted(host for host, counts in recap.items() if counts['changed'])
                        if phase == 'first' and len(changed) != hosts:
                            raise BenchmarkError('the first converge changed only %s' % changed)
                        if phase == 'rerun' and changed:
                            raise BenchmarkError('the re-run changed %s' % changed)
                        tasks = sorted({counts['ok'] + counts.get('skipped', 0) for counts in recap.values()})
                        record.append({'hosts': hosts, 'forks': forks, 'phase': phase, 'rep': rep,
                                       'seconds': seconds, 'verify_seconds': verify, 'peak_rss_bytes': rss,
                                       'tasks_per_host': tasks, 'task_seconds': times})
                        log('hosts %d, forks %d, run %d, %s: %.1f s (%.3f s per host), verification %.1f s, '
                            'peak RSS %.0f MiB, tasks per host %s' % (hosts, forks, rep + 1, phase, seconds,
                                                                      seconds / hosts, verify, rss / 2**20, tasks))
                finally:
                    lab.teardown()
    return record


def host_ratios(record, forks, phase, key, top, bottom):
    """Per repetition: (key per host at N=top) / (key per host at N=bottom); their median."""
    ratios = []
    for rep in sorted({r['rep'] for r in record}):
        cell = {r['hosts']: r[key] / r['hosts'] for r in record
                if r['rep'] == rep and r['forks'] == forks and r['phase'] == phase}
        ratios.append(cell[top] / cell[bottom])
    return statistics.median(ratios)


def host_targets(record, sizes, forks_list):
    small, large = min(sizes), max(sizes)
    targets = []
    for forks in forks_list:
        for phase, what in (('first', 'first converge'), ('rerun', 're-run')):
            ratio = host_ratios(record, forks, phase, 'seconds', large, small)
            targets.append(('forks %d: %s seconds per host at %d hosts within 1.25x of %d hosts'
                            % (forks, what, large, small), '%.2fx' % ratio, ratio <= 1.25))
        for hosts in sizes:
            ratio = statistics.median(
                next(r['seconds'] for r in record if r['rep'] == rep and r['forks'] == forks
                     and r['hosts'] == hosts and r['phase'] == 'rerun')
                / next(r['seconds'] for r in record if r['rep'] == rep and r['forks'] == forks
                       and r['hosts'] == hosts and r['phase'] == 'first')
                for rep in sorted({r['rep'] for r in record}))
            targets.append(('forks %d: re-run <= 0.7x first converge at %d hosts' % (forks, hosts),
                            '%.2fx' % ratio, ratio <= 0.7))
        ratio = host_ratios(record, forks, 'first', 'verify_seconds', large, small)
        targets.append(('forks %d: verification (first converge) per host at %d hosts under 2x of %d hosts'
                        % (forks, large, small), '%.2fx' % ratio, ratio < 2))
    peak = max(r['peak_rss_bytes'] for r in record if r['hosts'] == large)
    targets.append(('controller peak memory at %d hosts under 1 GiB' % large, '%.0f MiB' % (peak / 2**20),
                    peak < 2**30))
    return targets


def time_by_task(record, hosts, forks):
    """Where the time goes at (hosts, forks): per task (profile_tasks' name, repeats summed), the median seconds
    of the first converge and of the re-run, largest first."""
    def medians(phase):
        runs = []
        for r in record:
            if (r['hosts'], r['forks'], r['phase']) == (hosts, forks, phase):
                per_task = {}
                for name, seconds in r['task_seconds']:
                    per_task[name] = per_task.get(name, 0.0) + seconds
                runs.append(per_task)
        return {name: statistics.median(run.get(name, 0.0) for run in runs) for name in set().union(*runs)}

    first, rerun = medians('first'), medians('rerun')
    names = sorted(set(first) | set(rerun), key=lambda name: -(first.get(name, 0) + rerun.get(name, 0)))
    rows = [[name, '%.1f' % first.get(name, 0), '%.1f' % rerun.get(name, 0)] for name in names[:TOP_TASKS]]
    rest = names[TOP_TASKS:]
    if rest:
        rows.append(['the %d other tasks' % len(rest), '%.1f' % sum(first.get(name, 0) for name in rest),
                     '%.1f' % sum(rerun.get(name, 0) for name in rest)])
    return rows


def host_report(meta, record, sizes, forks_list):
    def median(hosts, forks, phase, key):
        return statistics.median(r[key] for r in record
                                 if r['hosts'] == hosts and r['forks'] == forks and r['phase'] == phase)

    rows = []
    for hosts in sizes:
        for forks in forks_list:
            first, rerun = median(hosts, forks, 'first', 'seconds'), median(hosts, forks, 'rerun', 'seconds')
            verify_first = median(hosts, forks, 'first', 'verify_seconds')
            verify_rerun = median(hosts, forks, 'rerun', 'verify_seconds')
            tasks = sorted({t for r in record if r['hosts'] == hosts and r['forks'] == forks
                            for t in r['tasks_per_host']})
            peak = max(r['peak_rss_bytes'] for r in record if r['hosts'] == hosts and r['forks'] == forks)
            rows.append([str(hosts), str(forks), '%.1f' % first, '%.1f' % rerun,
                         '%.1f / %.1f' % (verify_first, verify_rerun), '%.3f' % (first / hosts),
                         '%.3f' % (rerun / hosts), '%.3f' % (verify_first / hosts), '%.0f' % (peak / 2**20),
                         ', '.join(map(str, tasks))])
    table = markdown_table(['hosts', 'forks', 'first converge (s)', 'no-change re-run (s)',
                            'verification, first / re-run (s)', 'first per host (s)', 're-run per host (s)',
                            'verification per host (s)', 'controller peak RSS (MiB)', 'tasks per host'], rows)
    targets = host_targets(record, sizes, forks_list)
    target_rows = [[name, value, 'MET' if met else 'MISSED'] for name, value, met in targets]
    return '\n'.join([
        '# underlay.network: fleet benchmark on the host kernel (site.yml)', '',
        '- Date: %s' % meta['date'],
        '- Machine: %s CPUs, kernel %s; the lab: network namespaces on this kernel (dev/underlay_dev/lab/topology.py)'
        % (meta['cpus'], meta['kernel']),
        '- One untagged macvlan segment, netns workloads, site.yml with its verification; hosts %s, forks %s; '
        'median of %d interleaved runs per cell' % (meta['hosts'], meta['forks'], meta['runs']),
        '- Collection: %s' % meta['collection'], '',
        table, '',
        'Verification: the wall time of its tasks (gather the endpoints once, the verify role: plan once, ping per '
        'host, report), from ansible.posix.profile_tasks in the same runs. Controller peak RSS: ru_maxrss of the '
        'ansible-playbook process tree (the largest single process), highest of the runs. Tasks per host: ok + '
        'skipped from the recap (the host that runs the run_once tasks has more).', '',
        markdown_table(['target (ratios within one run, median over runs)', 'value', 'result'], target_rows), '',
        '## Where the time goes at %d hosts, forks %d' % (max(sizes), max(forks_list)), '',
        'Per task, from ansible.posix.profile_tasks (a task counts from its start to the next task\'s start; '
        'the tasks of an included role are under the role\'s name), median seconds over the runs.', '',
        markdown_table(['task', 'first converge (s)', 'no-change re-run (s)'],
                       time_by_task(record, max(sizes), max(forks_list))), '',
    ])


def measured(measure_runs, clean_up):
    """(record, 0) from ``measure_runs()``, or (None, exit status) when it aborted; ``clean_up`` always runs."""
    try:
        return measure_runs(), 0
    except BenchmarkError as exc:
        log('fleet_benchmark: ABORTED, nothing reported: %s' % exc)
        return None, 1
    except KeyboardInterrupt:
        log('fleet_benchmark: interrupted, nothing reported')
        return None, 130
    finally:
        clean_up()


def write_results(text, output, meta, record):
    print(text)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)
    output.with_suffix('.json').write_text(json.dumps({'meta': meta, 'runs': record}, indent=1) + '\n')
    log('wrote %s and %s' % (output, output.with_suffix('.json')))


def main_host(args, meta):
    sizes, forks_list = args.hosts or [10, 50, 100, 200], args.forks or [10, 25]
    meta.update(hosts=sizes, forks=forks_list, lab='host')
    output = args.output or REPO / 'benchmarks' / 'results' / 'fleet_host.md'
    remove_leftovers(HOST_PREFIX)
    with open(HEAVY_LOCK, 'a') as lock:
        log('fleet_benchmark: waiting for %s' % HEAVY_LOCK)
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with NeighbourLimits():
                record, status = measured(lambda: measure_host(sizes, forks_list, args.runs),
                                          lambda: remove_leftovers(HOST_PREFIX))
            left = our_namespaces()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    if left:
        log('fleet_benchmark: namespaces left behind: %s' % left)
        return 1
    if status:
        return status
    write_results(host_report(meta, record, sizes, forks_list), output, meta, record)
    return 0


def numbers(text):
    return [int(x) for x in text.split(',')]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--lab', choices=('box', 'host'), default='box',
                        help='box: the embedded lab (labctl, the kernel box without VLANs here), segments grow; '
                             'host: namespaces on this kernel, one untagged segment, the fleet grows')
    parser.add_argument('--hosts', type=numbers, help='box: one number (10); host: a list (10,50,100,200)')
    parser.add_argument('--forks', type=numbers, help='box: one number (10); host: a list (10,25)')
    parser.add_argument('--segments', default='1,4,8', type=numbers, help='box mode only')
    parser.add_argument('--runs', type=int, default=3)
    parser.add_argument('--output', type=Path, help='the .md (the .json beside it); default benchmarks/results/'
                                                    'fleet.md (box) or fleet_host.md (host)')
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        sys.exit('fleet_benchmark: needs root (network namespaces)')
    meta = {'date': datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC'), 'cpus': os.cpu_count(),
            'kernel': platform.release(), 'runs': args.runs, 'collection': collection_revision()}
    if args.lab == 'host':
        return main_host(args, meta)
    for name in ('hosts', 'forks'):
        value = getattr(args, name) or [10]
        if len(value) != 1:
            parser.error('--%s takes one number with --lab box' % name)
        setattr(args, name, value[0])
    meta = {'date': meta['date'], 'cpus': meta['cpus'], 'kernel': meta['kernel'], 'hosts': args.hosts,
            'forks': args.forks, 'runs': args.runs, 'collection': meta['collection']}
    output = args.output or REPO / 'benchmarks' / 'results' / 'fleet.md'
    record, status = measured(lambda: measure(args.hosts, args.forks, args.segments, args.runs),
                              lambda: labctl('down', check=False))
    if status:
        return status
    write_results(report(meta, record, args.segments), output, meta, record)
    return 0

if __name__ == '__main__':
    sys.exit(main())
