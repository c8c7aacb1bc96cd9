#!/usr/bin/env python3
"""Planner benchmark: the fleet_plan filter on fleets of 250 to 2,000 hosts, 8 segments each.

    .venv/bin/python benchmarks/planner_benchmark.py                                  # 250/500/1000/2000 hosts, 5 runs
    .venv/bin/python benchmarks/planner_benchmark.py --sizes 250 --runs 1 --output /tmp/planner.md  # a quick look

Every host joins every segment (a /18 with a /19 pool, host_range_size 4, a host address and a shim per
host). Three inputs per fleet size N, all planned through the filter plugin as a playbook calls it:

    empty     nothing reserved: the infrastructure addresses of a segment are two ranges
    reserved  every host carries a connected address on each segment (an interface this collection did not
              make), spread over the whole subnet: N reserved addresses cut each segment into about N ranges
    deployed  as reserved, and every host also reports the addresses of its plan as observed, as on a re-run:
              the planner looks each one up to find where the host is deployed

Timed is the filter call alone (building its input is not), in process. Every plan is checked, or nothing is
reported: every host is planned on every segment; host addresses and shims are distinct within a segment and
none is a reserved address; the deployed input gives the same plan as the reserved one. Every size and input
runs once per repetition, in turn, so that the machine's noise hits them alike.

The report gives the median seconds, the seconds per host, and per input the ratio of the per-host time at
the largest N to the one at the smallest: planning is linear when it stays within 1.5.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from links_benchmark import BenchmarkError, collection_revision, log, markdown_table

REPO = Path(__file__).resolve().parent.parent
# The collection is importable from the venv's Python as scripts/bootstrap.sh installs it (.cache/collections).
import netaddr  # noqa: E402

from ansible_collections.underlay.network.plugins.filter.fleet_plan import FilterModule  # noqa: E402

INPUTS = ('empty', 'reserved', 'deployed')
RATIO_TARGET = 1.5
# The reserved addresses are spread over the lower 8,000 addresses of each /18 (the pool is the upper /19).
SPREAD = 8000


def segment(number):
    return {'name': 'seg%d' % number, 'vlan_id': 100 + number, 'subnet': '10.%d.0.0/18' % (64 + number),
            'gateway': '10.%d.0.1' % (64 + number), 'container_pool': '10.%d.32.0/19' % (64 + number),
            'host_range_size': 4}


def connected(number, host, hosts):
    """Host ``host``'s own address on segment ``number``: one every SPREAD // hosts addresses from .0.2 up."""
    offset = 2 + host * (SPREAD // hosts)
    return '10.%d.%d.%d/18' % (64 + number, offset // 256, offset % 256)


def planner_inputs(hosts, segments, plan):
    """{input: (fleet, hosts argument)} for a fleet of ``hosts`` hosts; ``plan`` plans the reserved one."""
    fleet = {'trunk': 'eth0', 'segments': [segment(number) for number in range(segments)]}
    names = ['host%04d' % host for host in range(hosts)]
    empty = {name: {} for name in names}
    reserved = {name: {'connected': [connected(number, host, hosts) for number in range(segments)]}
                for host, name in enumerate(names)}
    planned = plan(fleet, reserved)
    deployed = {name: dict(entry, observed=[address for planned_segment in planned[name]['segments']
                                            for address in (planned_segment['host_address'],
                                                            planned_segment['shim']['address'])])
                for name, entry in reserved.items()}
    return {'empty': (fleet, empty), 'reserved': (fleet, reserved), 'deployed': (fleet, deployed)}, planned


def check(plan, fleet, hosts, what):
    """Fail unless every host is planned on every segment with distinct addresses, none of them reserved."""
    wanted = len(fleet['segments'])
    if sorted(plan) != sorted(hosts) or any(len(entry['segments']) != wanted for entry in plan.values()):
        raise BenchmarkError('%s: not every host is planned on every segment' % what)
    reserved = {address.split('/')[0] for entry in hosts.values() for address in entry.get('connected', ())}
    for position, described in enumerate(fleet['segments']):
        for key in ('host_address', 'shim'):
            addresses = [entry['segments'][position][key] for entry in plan.values()]
            addresses = [(address['address'] if key == 'shim' else address).split('/')[0] for address in addresses]
            if len(set(addresses)) != len(addresses) or reserved & set(addresses):
                raise BenchmarkError('%s, segment %s: the %s addresses are not distinct, or one is reserved'
                                     % (what, described['name'], key))


def measure(sizes, segments, runs):
    plan = FilterModule().filters()['fleet_plan']
    inputs, expected = {}, {}
    for hosts in sizes:
        inputs[hosts], expected[hosts] = planner_inputs(hosts, segments, plan)
    record = []
    for rep in range(runs):
        for hosts in sizes:
            for what in INPUTS:
                fleet, hosts_argument = inputs[hosts][what]
                start = time.perf_counter()
                result = plan(fleet, hosts_argument)
                seconds = time.perf_counter() - start
                label = '%s, %d hosts' % (what, hosts)
                check(result, fleet, hosts_argument, label)
                if what == 'deployed' and result != expected[hosts]:
                    raise BenchmarkError('%s: the plan differs from the one the hosts are deployed at' % label)
                record.append({'input': what, 'hosts': hosts, 'rep': rep, 'seconds': seconds})
                log('run %d, %s: %.3f s' % (rep + 1, label, seconds))
    return record


def medians(record):
    groups = {}
    for run in record:
        groups.setdefault((run['input'], run['hosts']), []).append(run['seconds'])
    return {key: statistics.median(values) for key, values in groups.items()}


def report(meta, record, sizes):
    med = medians(record)
    rows = [[what, str(hosts), '%.3f' % med[what, hosts], '%.3f' % (1000 * med[what, hosts] / hosts)]
            for what in INPUTS for hosts in sizes]
    small, large = min(sizes), max(sizes)
    targets = []
    for what in INPUTS:
        ratio = (med[what, large] / large) / (med[what, small] / small)
        verdict = 'info' if small == large else 'PASS' if ratio <= RATIO_TARGET else 'MISS'
        targets.append([what, '%.2f x' % ratio, '<= %g' % RATIO_TARGET, verdict])
    return '\n'.join([
        '# underlay.network: planner benchmark (fleet_plan filter)', '',
        '- Date: %s' % meta['date'],
        '- Machine: %s CPUs, Python %s, netaddr %s' % (meta['cpus'], meta['python'], meta['netaddr']),
        '- %d segments, every host on each; median of %d runs per cell' % (meta['segments'], meta['runs']),
        '- Collection: %s' % meta['collection'], '',
        markdown_table(['input', 'hosts', 'plan (s)', 'per host (ms)'], rows), '',
        '## Per-host time, %d hosts against %d' % (large, small), '',
        markdown_table(['input', 'ratio', 'target', 'result'], targets), '',
        'empty: nothing reserved; reserved: every host has a connected address on each segment, spread over the '
        'subnet (about as many ranges of infrastructure addresses as hosts); deployed: as reserved, and every host '
        'reports its planned addresses as observed.',
        '',
    ])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--sizes', default='250,500,1000,2000', type=lambda s: [int(x) for x in s.split(',')],
                        help='numbers of hosts, comma-separated (default: 250,500,1000,2000; at most 2000)')
    parser.add_argument('--segments', type=int, default=8, help='segments of the fleet (default 8)')
    parser.add_argument('--runs', type=int, default=5, help='repetitions per cell, the median is reported (default 5)')
    parser.add_argument('--output', type=Path, default=REPO / 'benchmarks' / 'results' / 'planner.md',
                        help='markdown report; the raw timings go next to it with the suffix .json '
                             '(default: benchmarks/results/planner.md)')
    args = parser.parse_args(argv)
    if max(args.sizes) > 2000:
        parser.error('--sizes: at most 2000 hosts fit the segments (a /19 pool in slices of 4, and host addresses '
                     'and shims around the reserved ones)')
    meta = {'date': datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC'), 'cpus': os.cpu_count(),
            'python': platform.python_version(), 'netaddr': netaddr.__version__, 'segments': args.segments,
            'runs': args.runs, 'sizes': args.sizes,
            'collection': collection_revision()}
    try:
        record = measure(args.sizes, args.segments, args.runs)
    except BenchmarkError as exc:
        log('planner_benchmark: ABORTED, nothing reported: %s' % exc)
        return 1
    except KeyboardInterrupt:
        log('planner_benchmark: interrupted, nothing reported')
        return 130
    text = report(meta, record, args.sizes)
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    raw = {'meta': meta, 'runs': record,
           'medians': [{'input': what, 'hosts': hosts, 'seconds': seconds}
                       for (what, hosts), seconds in medians(record).items()]}
    args.output.with_suffix('.json').write_text(json.dumps(raw, indent=1) + '\n')
    log('wrote %s and %s' % (args.output, args.output.with_suffix('.json')))
    return 0


if __name__ == '__main__':
    sys.exit(main())
