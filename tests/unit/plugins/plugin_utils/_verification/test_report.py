"""The verification_report filter: the plan's probes joined with the hosts' results, counted per block, every
failed probe named, what was not probed said, and the page rendered (pure)."""

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.underlay.network.plugins.filter.verification import FilterModule

FILTERS = FilterModule().filters()
verification_plan, verification_report = FILTERS['verification_plan'], FILTERS['verification_report']

ENDPOINTS = [
    {'name': 'h1/apps', 'host': 'h1', 'segment': 'apps', 'address': '10.0.10.2', 'shim': True},
    {'name': 'h1/web', 'host': 'h1', 'segment': 'apps', 'kind': 'container', 'netns': 'web', 'address': '10.0.10.130'},
    {'name': 'h1/db', 'host': 'h1', 'segment': 'db', 'address': '10.0.20.2'},
    {'name': 'h2/apps', 'host': 'h2', 'segment': 'apps', 'address': '10.0.10.3'},
    {'name': 'h2/db', 'host': 'h2', 'segment': 'db', 'address': '10.0.20.3'},
]
FLEET_PLAN = {'h1': {'index': 0, 'trunk': 'eth0', 'segments': [
    {'name': 'apps', 'vlan_id': 10, 'interface': 'eth0.10', 'host_address': '10.0.10.2/24',
     'ip_range': '10.0.10.128/28', 'shim': {'name': 'shim10', 'address': '10.0.10.127/32'}}]}}


def results_as_planned(plan, hosts=None, flip=(), not_run=()):
    """Each planned probe's result as if the kernel did what the plan expects, except ``flip`` (the other
    way) and ``not_run``; only the probes of ``hosts`` (default all) ran."""
    results = []
    for host, probes in plan['probes'].items():
        if hosts is not None and host not in hosts:
            continue
        for probe in probes:
            reached = probe['expect'] != 'isolated'
            if probe['name'] in flip:
                reached = not reached
            if probe['name'] in not_run:
                results.append({'name': probe['name'], 'reached': None, 'ok': False, 'detail': 'no ping'})
                continue
            ok = probe['expect'] == 'any' or reached == (probe['expect'] == 'reach')
            results.append({'name': probe['name'], 'reached': reached, 'ok': ok, 'detail': 'ping said so'})
    return results


def test_all_as_expected_counts_every_block_and_says_so():
    plan = verification_plan(ENDPOINTS, mode='full')
    report = verification_report(results_as_planned(plan), plan, FLEET_PLAN, generated='now')
    assert report['ok'] and report['mismatches'] == []
    counts = report['counts']
    assert counts['probed'] == counts['planned'] == counts['pairs'] == 20
    assert counts['reached_ok'] + counts['isolated_ok'] == 20
    assert {(b['from_segment'], b['to_segment']) for b in report['blocks']} == {
        ('apps', 'apps'), ('apps', 'db'), ('db', 'apps'), ('db', 'db')}
    assert sum(b['planned'] for b in report['blocks']) == 20
    assert len(report['console']) == 1 + 4
    assert report['summary'] == 'All 20 probes behaved as expected.'
    assert '10.0.10.127/32' in report['html'] and 'shim10' not in report['html']


def test_every_mismatch_and_unrun_probe_is_listed_in_full_and_fails():
    plan = verification_plan(ENDPOINTS, mode='full')
    flip, broken = 'h1/web -> h2/db', 'h2/apps -> h1/web'
    report = verification_report(results_as_planned(plan, flip={flip}, not_run={broken}), plan)
    assert not report['ok']
    assert report['counts']['mismatches'] == 1 and report['counts']['not_run'] == 1
    assert [(m['from'], m['to']) for m in report['mismatches']] == [('h1/web', 'h2/db'), ('h2/apps', 'h1/web')]
    lines = [line for line in report['console'] if line.startswith(('MISMATCH', 'NOT RUN'))]
    assert lines == ['MISMATCH h1/web -> h2/db (10.0.20.3): reached, expected not reached [ping said so]',
                     'NOT RUN h2/apps -> h1/web (10.0.10.130): not run, expected reached [no ping]']
    block = next(b for b in report['blocks'] if (b['from_segment'], b['to_segment']) == ('apps', 'db'))
    assert block['mismatches'] == 1
    assert report['summary'].startswith('2 probes of 20 did not behave as expected (1 mismatch, 1 could not run)')


def test_a_host_that_never_probed_is_said_and_fails():
    plan = verification_plan(ENDPOINTS, mode='full')
    report = verification_report(results_as_planned(plan, hosts={'h1'}), plan)
    assert not report['ok']
    assert report['counts']['not_probed'] == len(plan['probes']['h2']) == 8
    assert report['counts']['probed'] == 20 - 8 and report['counts']['planned'] == 20
    assert report['not_probed_hosts'] == {'h2': 8}
    assert report['console'][-1] == '8 probes of 1 host never ran (not in the play, or failed before probing): h2 (8).'


def test_a_sampled_run_says_how_many_pairs_it_left_out():
    endpoints = [{'name': 'h%d/apps' % n, 'host': 'h%d' % n, 'segment': 'apps', 'address': '10.0.10.%d' % (n + 2)}
                 for n in range(40)]
    plan = verification_plan(endpoints, mode='sampled', seed=5)
    report = verification_report(results_as_planned(plan), plan)
    assert report['ok']
    left_out = 40 * 39 - report['counts']['planned']
    assert left_out > 0
    assert report['console'][0].startswith('40 endpoints, 1,560 pairs (sampled, seed 5, 3 targets per endpoint')
    assert report['console'][-1] == ('Sampled: %d of 1,560 pairs were probed, the other %s were not (verify_mode: '
                                     'full probes every pair; verify_seed draws another sample).'
                                     % (report['counts']['planned'], f'{left_out:,}'))


def test_console_is_linear_one_line_per_block_not_per_pair():
    endpoints = [{'name': 'h%d/%s' % (n, s), 'host': 'h%d' % n, 'segment': s, 'address': '10.%d.0.%d' % (i, n + 2)}
                 for n in range(100) for i, s in enumerate(('apps', 'db', 'mgmt'))]
    plan = verification_plan(endpoints)
    report = verification_report(results_as_planned(plan), plan)
    assert len(report['console']) == 1 + 9 + 1  # headline, 3 x 3 blocks, the sampled note


@pytest.mark.parametrize('args, message', [
    (({'name': 'x'}, {}), 'the input must be the list of the reachability results'),
    (([], {'probes': []}), 'plan must be the result of the verification_plan filter'),
    (([], {'probes': {}, 'endpoints': []}, ['h1']), 'fleet_plan must be the result of the fleet_plan filter'),
])
def test_bad_input_fails_naming_it(args, message):
    with pytest.raises(AnsibleFilterError, match='^verification_report: ' + message):
        verification_report(*args)
