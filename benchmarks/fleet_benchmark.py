#!/usr/bin/env python3
"""Fleet benchmark: playbooks/site.yml on a lab fleet of 10 hosts, forks 10, as the segments grow.

    .venv/bin/python benchmarks/fleet_benchmark.py                         # 10 hosts, 1/4/8 segments, 3 runs
    .venv/bin/python benchmarks/fleet_benchmark.py --segments 1,2 --runs 1  # a quick look

For each number of segments S (VLANs on every host's trunk, a shim each), the
embedded lab (lab/labctl.py, lab name ``ulfleet``) is built afresh with the
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
"""

from __future__ import annotations

import argparse
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
from links_benchmark import RECAP, BenchmarkError, log, markdown_table, tail

REPO = Path(__file__).resolve().parent.parent
PYTHON = REPO / '.venv' / 'bin' / 'python'
LABCTL = [str(PYTHON), str(REPO / 'lab' / 'labctl.py'), '--name', 'ulfleet']
WORKDIR = REPO / '.cache' / 'bench-fleet'
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--hosts', type=int, default=10)
    parser.add_argument('--forks', type=int, default=10)
    parser.add_argument('--segments', default='1,4,8', type=lambda s: [int(x) for x in s.split(',')])
    parser.add_argument('--runs', type=int, default=3)
    parser.add_argument('--output', type=Path, default=REPO / 'benchmarks' / 'results' / 'fleet.md')
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        sys.exit('fleet_benchmark: needs root (network namespaces)')
    git = subprocess.run(['git', '-C', str(REPO), 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True)
    meta = {'date': datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC'), 'cpus': os.cpu_count(),
            'kernel': platform.release(), 'hosts': args.hosts, 'forks': args.forks, 'runs': args.runs,
            'collection': 'git %s' % git.stdout.strip()}
    try:
        record = measure(args.hosts, args.forks, args.segments, args.runs)
    except BenchmarkError as exc:
        log('fleet_benchmark: ABORTED, nothing reported: %s' % exc)
        return 1
    except KeyboardInterrupt:
        log('fleet_benchmark: interrupted, nothing reported')
        return 130
    finally:
        labctl('down', check=False)
    text = report(meta, record, args.segments)
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    args.output.with_suffix('.json').write_text(json.dumps({'meta': meta, 'runs': record}, indent=1) + '\n')
    log('wrote %s and %s' % (args.output, args.output.with_suffix('.json')))
    return 0


if __name__ == '__main__':
    sys.exit(main())
