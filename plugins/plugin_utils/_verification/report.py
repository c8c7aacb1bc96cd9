# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The reachability verification's report: the plan's probes with what the hosts' pings said.

``verification_report(results, plan, ...)`` joins the probes of a plan (plan.py)
with the results of the hosts' reachability tasks, by probe name, and returns the report: its counts, one
summary per (segment, segment) block, every probe that did not behave as expected, the console lines, and the
HTML page (html.py). Linear in probes + endpoints + plan; pure.
"""

from __future__ import annotations

from collections.abc import Mapping

from ansible_collections.underlay.network.plugins.plugin_utils._filters import FilterError
from ansible_collections.underlay.network.plugins.plugin_utils._verification.html import render_html
from ansible_collections.underlay.network.plugins.plugin_utils._verification.plan import SEPARATOR, plural

WORDS = {'reach': 'reached', 'isolated': 'not reached', 'any': 'any'}
COUNT_KEYS = ('reached_ok', 'isolated_ok', 'any', 'mismatches', 'not_run', 'not_probed')
NOT_PROBED = 'not probed'
NOT_RUN = 'not run'


def _result_of(result):
    """(result word, ok, detail) of one planned probe and its result (None: its host never ran it)."""
    if result is None:
        return NOT_PROBED, False, ''
    reached = result.get('reached')
    word = NOT_RUN if reached is None else ('reached' if reached else 'not reached')
    return word, bool(result.get('ok')), result.get('detail') or ''


def _tally(counts, entry):
    if entry['result'] == NOT_PROBED:
        counts['not_probed'] += 1
    elif entry['result'] == NOT_RUN:
        counts['not_run'] += 1
    elif not entry['ok']:
        counts['mismatches'] += 1
    else:
        counts[{'reach': 'reached_ok', 'isolated': 'isolated_ok'}.get(entry['expect'], 'any')] += 1


def _plan_rows(fleet_plan):
    """The address plan as rows: host x segment, for the page's plan table."""
    rows = []
    for host, host_plan in sorted((fleet_plan or {}).items()):
        for segment in host_plan.get('segments') or []:
            shim = segment.get('shim') or {}
            rows.append({'host': host, 'index': host_plan.get('index'), 'trunk': host_plan.get('trunk'),
                         'segment': segment.get('name'), 'vlan_id': segment.get('vlan_id'),
                         'interface': segment.get('interface'), 'host_address': segment.get('host_address'),
                         'ip_range': segment.get('ip_range'), 'shim': shim.get('address')})
    return rows


def _check(results, plan, fleet_plan):
    who = 'verification_report'
    if not isinstance(results, (list, tuple)) or not all(isinstance(item, Mapping) for item in results):
        raise FilterError('%s: the input must be the list of the reachability results (each host\'s '
                          'registered results, flattened)' % who)
    if not isinstance(plan, Mapping) or not isinstance(plan.get('probes'), Mapping) \
            or not isinstance(plan.get('endpoints'), list):
        raise FilterError('%s: plan must be the result of the verification_plan filter' % who)
    if fleet_plan is not None and not isinstance(fleet_plan, Mapping):
        raise FilterError('%s: fleet_plan must be the result of the fleet_plan filter (host -> plan), '
                          'not a %s' % (who, type(fleet_plan).__name__))


def verification_report(results, plan, fleet_plan=None, title='underlay.network reachability', generated=''):
    """The report of one verification run (see the module's docstring)."""
    _check(results, plan, fleet_plan)
    by_name = {result.get('name'): result for result in results}
    endpoint_of = {endpoint['name']: endpoint for endpoint in plan['endpoints']}
    segments = list(plan.get('segments') or [])
    counts = dict.fromkeys(COUNT_KEYS, 0)
    blocks, probes, missing_hosts = {}, [], {}
    for host in sorted(plan['probes']):
        for probe in plan['probes'][host]:
            source_name, target_name = probe['name'].split(SEPARATOR, 1)
            source, target = endpoint_of[source_name], endpoint_of[target_name]
            word, ok, detail = _result_of(by_name.get(probe['name']))
            if word == NOT_PROBED:
                missing_hosts[host] = missing_hosts.get(host, 0) + 1
            entry = {'from': source_name, 'to': target_name, 'address': probe['target'],
                     'from_segment': source['segment'], 'to_segment': target['segment'], 'expect': probe['expect'],
                     'result': word, 'ok': ok, 'detail': detail}
            probes.append(entry)
            _tally(counts, entry)
            block = blocks.setdefault((source['segment'], target['segment']), dict.fromkeys(COUNT_KEYS, 0))
            _tally(block, entry)
    order = {segment: position for position, segment in enumerate(segments)}
    block_rows = [dict(counts_, from_segment=pair[0], to_segment=pair[1], planned=sum(counts_.values()),
                       probed=sum(counts_.values()) - counts_['not_run'] - counts_['not_probed'])
                  for pair, counts_ in sorted(blocks.items(), key=lambda item: (order.get(item[0][0], 0),
                                                                                order.get(item[0][1], 0)))]
    # planned: every probe of the plan; probed: those that ran and gave a verdict.
    counts.update(endpoints=plan['counts']['endpoints'], pairs=plan['counts']['pairs'], planned=len(probes),
                  probed=len(probes) - counts['not_run'] - counts['not_probed'])
    failed = [entry for entry in probes if not entry['ok'] and entry['result'] != NOT_PROBED]
    note = _note(plan, counts, missing_hosts)
    model = {'title': title, 'generated': generated, 'mode': plan['mode'], 'seed': plan.get('seed'),
             'sample': plan.get('sample'), 'counts': counts, 'not_probed_note': note, 'segments': segments,
             'plan': _plan_rows(fleet_plan), 'blocks': block_rows, 'endpoints': plan['endpoints'],
             'probes': probes}
    problems = counts['mismatches'] + counts['not_run'] + counts['not_probed']
    return {
        'ok': problems == 0,
        'counts': counts,
        'blocks': block_rows,
        'mismatches': failed,
        'not_probed_hosts': missing_hosts,
        'console': _console(plan, counts, block_rows, failed, note),
        'summary': _summary(counts, problems, failed, missing_hosts),
        'html': render_html(model),
    }


def _note(plan, counts, missing_hosts):
    """What was not probed, in words: the pairs the sample left out, and the hosts that never probed."""
    sentences = []
    if plan['mode'] == 'sampled':
        sentences.append('Sampled: %s of %s were probed, the other %s were not (verify_mode: full probes every '
                         'pair; verify_seed draws another sample).' % (
                             '{:,}'.format(counts['planned']), plural(counts['pairs'], 'pair'),
                             '{:,}'.format(max(counts['pairs'] - counts['planned'], 0))))
    if missing_hosts:
        sentences.append('%s of %s never ran (not in the play, or failed before probing): %s.' % (
            plural(sum(missing_hosts.values()), 'probe'), plural(len(missing_hosts), 'host'),
            ', '.join('%s (%d)' % (host, count) for host, count in sorted(missing_hosts.items()))))
    return ' '.join(sentences)


def _console(plan, counts, blocks, failed, note):
    """The console: a headline, one line per block, every failed probe in full, and the note."""
    mode = plan['mode']
    if mode == 'sampled':
        mode = 'sampled, seed %s, %s per endpoint and segment' % (plan.get('seed'),
                                                                  plural(plan.get('sample') or 0, 'target'))
    lines = ['%s, %s (%s): %s, %s.' % (
        plural(counts['endpoints'], 'endpoint'), plural(counts['pairs'], 'pair'), mode,
        plural(counts['planned'], 'probe'), plural(counts['mismatches'], 'mismatch', 'mismatches'))]
    width = max([len(block['from_segment']) + len(block['to_segment']) for block in blocks] + [10]) + 4
    for block in blocks:
        lines.append('%-*s probes %6d  reached %6d  isolated %6d  any %4d  mismatches %4d  not run %4d  '
                     'not probed %4d' % (width, '%s -> %s' % (block['from_segment'], block['to_segment']),
                                         block['planned'], block['reached_ok'], block['isolated_ok'], block['any'],
                                         block['mismatches'], block['not_run'], block['not_probed']))
    for entry in failed:
        lines.append('%s %s -> %s (%s): %s, expected %s%s' % (
            'MISMATCH' if entry['result'] != NOT_RUN else 'NOT RUN', entry['from'], entry['to'], entry['address'],
            entry['result'], WORDS[entry['expect']], ' [%s]' % entry['detail'] if entry['detail'] else ''))
    if note:
        lines.append(note)
    return lines


def _summary(counts, problems, failed, missing_hosts):
    """One sentence for the play's verdict."""
    if not problems:
        return 'All %s behaved as expected.' % plural(counts['planned'], 'probe')
    parts = []
    if counts['mismatches']:
        parts.append(plural(counts['mismatches'], 'mismatch', 'mismatches'))
    if counts['not_run']:
        parts.append('%d could not run' % counts['not_run'])
    if counts['not_probed']:
        parts.append('%d never ran on %s' % (counts['not_probed'], ', '.join(sorted(missing_hosts))))
    first = '; '.join('%s -> %s: %s, expected %s' % (
        entry['from'], entry['to'], entry['result'], WORDS[entry['expect']]) for entry in failed[:5])
    return '%s of %s did not behave as expected (%s)%s' % (
        plural(problems, 'probe'), '{:,}'.format(counts['planned']), ', '.join(parts),
        ': %s%s' % (first, '; ...' if len(failed) > 5 else '') if first else '')
