# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Running many probes at once and the module's result: a thread pool (``run_probes``), retries of the
mismatches (``probe_with_retries``), and the report with every mismatch described."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from ansible_collections.underlay.network.plugins.module_utils._common.vocabulary import REACH
from ansible_collections.underlay.network.plugins.module_utils._docker.engine import require_docker
from ansible_collections.underlay.network.plugins.module_utils._probes.prober import Prober
from ansible_collections.underlay.network.plugins.module_utils._probes.probes import (
    EXPECTED_WORDS,
    normalize_probes,
    validate_settings,
)


def probe_with_retries(prober, probes, parallel, retries):
    """run_probes, then again, up to ``retries`` times, for the probes that had to reach and did not.

    A first ping can be lost while the neighbour is being resolved on a loaded host; a retry can only turn
    "not reached" into "reached", so it is never given to a probe that must stay isolated.
    """
    results = run_probes(prober, probes, parallel)
    for attempt in range(2, retries + 2):
        again = [i for i, row in enumerate(results) if row['expected'] == REACH and row['reached'] is False]
        if not again:
            break
        for position, row in zip(again, run_probes(prober, [probes[i] for i in again], parallel)):
            if row['reached']:
                row['detail'] = '%s (answered on try %d)' % (row['detail'], attempt)
            results[position] = row
    return results


def run_probes(prober, probes, parallel):
    """Every probe, at most ``parallel`` jobs at once (a container's probes are one job, one exec); the results
    in the order of ``probes``."""
    if not probes:
        return []
    jobs, by_container = [], {}
    for position, probe in enumerate(probes):
        source = probe['source']
        if source['container'] is None:
            jobs.append([position])
            continue
        key = (source['docker_host'], source['container'])
        if key not in by_container:
            by_container[key] = []
            jobs.append(by_container[key])
        by_container[key].append(position)
    results = [None] * len(probes)

    def run(positions):
        if probes[positions[0]]['source']['container'] is None:
            rows = [prober.probe(probes[positions[0]])]
        else:
            rows = prober.probe_from_container([probes[position] for position in positions])
        for position, row in zip(positions, rows):
            results[position] = row

    with ThreadPoolExecutor(max_workers=min(parallel, len(jobs))) as pool:
        list(pool.map(run, jobs))
    return results


def report(results):
    """The module's result (without ``changed``)."""
    mismatches = [r for r in results if not r['ok']]
    summary = {
        'total': len(results),
        'reached': sum(1 for r in results if r['reached']),
        'not_reached': sum(1 for r in results if r['reached'] is False),
        'not_run': sum(1 for r in results if r['reached'] is None),
        'mismatches': len(mismatches),
    }
    return {'results': results, 'mismatches': len(mismatches), 'summary': summary}


def describe_mismatch(result):
    """One mismatching result in a sentence, for messages."""
    if result['reached'] is None:
        got = 'could not run (%s)' % result['detail']
    else:
        got = 'reached' if result['reached'] else 'not reached'
    return '%s (%s): %s, expected %s' % (result['name'], result['target'], got, EXPECTED_WORDS[result['expected']])


def probe_all(module):
    """The reachability module's probes, checked and run: its result (``report``)."""
    params = module.params
    validate_settings(params['count'], params['timeout'], params['parallel'], params['retries'])
    probes = normalize_probes(params['probes'])
    if any(probe['source']['container'] for probe in probes):
        require_docker(module)
    with Prober(params['count'], params['timeout']) as prober:
        prober.prepare(probes)
        return report(probe_with_retries(prober, probes, params['parallel'], params['retries']))


def mismatch_message(result):
    """The failure message of fail_on_mismatch: every probe that did not behave as expected."""
    return '%d of %d probes did not behave as expected: %s' % (
        result['mismatches'], len(result['results']),
        '; '.join(describe_mismatch(row) for row in result['results'] if not row['ok']))
