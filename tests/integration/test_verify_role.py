"""The verify role: a playbook run for real (ansible-runner) against two lab hosts as inventory hosts.

Lab: a switch, lab hosts h1 and h2 (their eth0 on the switch) and a "container" namespace on each (c1 on h1,
c2 on h2, a macvlan bridge link of the host's eth0), no shims. The inventory hosts are the two lab host
namespaces, reached through the netns connection; the role is found as underlay.network.verify in the installed
collection. Addresses are the lab's own 172.28.231.0/24; nothing leaves the lab.
"""

from __future__ import annotations

import os
import sys

import ansible_runner
import pytest
import yaml
from test_reachability import add_container
from underlay_dev.testing.harness import VENV_BIN, PlayRun

H1, H2, C1, C2 = '172.28.231.1', '172.28.231.2', '172.28.231.11', '172.28.231.12'
PLAN_TASK = 'Plan the probes once for the play (every pair, or a sample linear in the endpoints)'
PROBE_TASK = "Ping from this host's endpoints, all at once"
CONSOLE_TASK = 'Show the summary per segment block and every mismatch'
WRITE_TASK = 'Write the HTML report on the controller'
ASSERT_TASK = 'Fail unless every probe behaved as expected'


@pytest.fixture
def fleet(lab):
    lab.up_switch()
    h1 = lab.add_host('h1', address=H1 + '/24')
    h2 = lab.add_host('h2', address=H2 + '/24')
    c1 = add_container(lab, h1, 'c1', C1 + '/24')
    c2 = add_container(lab, h2, 'c2', C2 + '/24')
    endpoints = [
        {'name': 'h1/lab', 'host': h1, 'segment': 'lab', 'kind': 'host', 'address': H1 + '/24', 'shim': False},
        {'name': 'h1/c1', 'host': h1, 'segment': 'lab', 'kind': 'container', 'address': C1, 'netns': c1},
        {'name': 'h2/lab', 'host': h2, 'segment': 'lab', 'address': H2},
        {'name': 'h2/c2', 'host': h2, 'segment': 'lab', 'kind': 'container', 'address': C2, 'netns': c2},
    ]
    return {'hosts': [h1, h2], 'endpoints': endpoints}


@pytest.fixture
def verify(collections_path, tmp_path, fleet):
    """Run a playbook applying the role to both lab hosts, with ``role_vars``; returns the PlayRun."""
    runs = []

    def verify(**role_vars):
        pdd = tmp_path / ('run%d' % (len(runs) + 1))
        (pdd / 'project').mkdir(parents=True)
        (pdd / 'inventory').mkdir()
        hosts = {host: {'ansible_connection': 'underlay.network.netns', 'ansible_python_interpreter': sys.executable}
                 for host in fleet['hosts']}
        (pdd / 'inventory' / 'hosts.yml').write_text(yaml.safe_dump({'all': {'hosts': hosts}}))
        role_vars.setdefault('verify_report_path', str(pdd / 'report.html'))
        play = [{'name': 'Verify the lab', 'hosts': 'all', 'gather_facts': False,
                 'roles': [{'role': 'underlay.network.verify', 'vars': role_vars}]}]
        (pdd / 'project' / 'verify.yml').write_text(yaml.safe_dump(play, sort_keys=False))
        runner = ansible_runner.run(
            private_data_dir=str(pdd), playbook='verify.yml', quiet=True,
            envvars={'ANSIBLE_COLLECTIONS_PATH': str(collections_path), 'ANSIBLE_PIPELINING': 'True',
                     'ANSIBLE_NOCOLOR': '1', 'PATH': '%s:%s' % (VENV_BIN, os.environ.get('PATH', ''))})
        runs.append(PlayRun(runner))
        return runs[-1]
    return verify


def task_result(run, name):
    found = [r for r in run.results if r['_task'] == name]
    assert len(found) == 1, run.stdout
    return found[0]


def block_line(line):
    """A console block line as (from -> to, {count name: value})."""
    label, numbers = line.split(' probes ', 1)
    words = ('probes ' + numbers).replace('not run', 'not_run').replace('not probed', 'not_probed').split()
    return label.strip(), {words[n]: int(words[n + 1]) for n in range(0, len(words), 2)}


def test_a_matching_fleet_passes_prints_one_line_per_block_and_writes_the_page(fleet, verify, tmp_path):
    run = verify(verify_endpoints=fleet['endpoints'])
    assert run.status == 'successful', run.stdout
    probed = [r for r in run.results if r['_task'] == PROBE_TASK]
    # One reachability task per host, each with the probes of its own endpoints only: 4 endpoints, full mode.
    assert sorted(r['_host'] for r in probed) == sorted(fleet['hosts'])
    by_host = {r['_host']: sorted(p['name'] for p in r['results']) for r in probed}
    assert by_host[fleet['hosts'][0]] == ['h1/c1 -> h1/lab', 'h1/c1 -> h2/c2', 'h1/c1 -> h2/lab',
                                          'h1/lab -> h1/c1', 'h1/lab -> h2/c2', 'h1/lab -> h2/lab']
    h1_results = next(r['results'] for r in probed if r['_host'] == fleet['hosts'][0])
    h1_sources = {p['name'].split(' -> ')[0]: p['source'] for p in h1_results}
    assert h1_sources == {'h1/lab': {'netns': None, 'container': None, 'docker_host': None},
                          'h1/c1': {'netns': fleet['endpoints'][1]['netns'], 'container': None, 'docker_host': None}}
    console = task_result(run, CONSOLE_TASK)['msg']
    assert console[0] == '4 endpoints, 12 pairs (full): 12 probes, 0 mismatches.'
    # Without shims a host and its own container are isolated (4 probes); every other pair reaches (8).
    assert [block_line(line) for line in console[1:]] == [('lab -> lab', {
        'probes': 12, 'reached': 8, 'isolated': 4, 'any': 0, 'mismatches': 0, 'not_run': 0, 'not_probed': 0})]
    assert task_result(run, ASSERT_TASK)['msg'] == 'All 12 probes behaved as expected.'
    written = task_result(run, WRITE_TASK)
    assert not written['changed'], 'writing the report counts as a change to the fleet'
    page = (tmp_path / 'run1' / 'report.html').read_text()
    assert page.startswith('<!DOCTYPE html>') and 'h2/c2' in page and 'No mismatches' in page


def test_a_wrong_expectation_fails_the_play_naming_the_probe(fleet, verify):
    wrong = [{'from': 'h1/lab', 'to': 'h1/c1', 'expect': 'reach'}]
    run = verify(verify_endpoints=fleet['endpoints'], verify_overrides=wrong)
    assert run.status == 'failed', run.stdout
    console = task_result(run, CONSOLE_TASK)['msg']
    assert console[0] == '4 endpoints, 12 pairs (full): 12 probes, 1 mismatch.'
    assert console[2].startswith('MISMATCH h1/lab -> h1/c1 (%s): not reached, expected reached [1 packets '
                                 'transmitted, 0 received' % C1), console
    assert len(console) == 3
    failed = task_result(run, ASSERT_TASK)
    assert failed.failed, failed
    assert failed['msg'] == ('1 probe of 12 did not behave as expected (1 mismatch): h1/lab -> h1/c1: not reached, '
                             'expected reached'), failed['msg']


def test_probes_of_a_host_outside_the_play_are_said_and_verify_fail_false_only_reports(fleet, verify):
    """An endpoint whose host is not in the play: its probes never run, which counts as a failure."""
    ghost = {'name': 'far/away', 'host': 'elsewhere', 'segment': 'other', 'address': '172.28.232.1'}
    run = verify(verify_endpoints=fleet['endpoints'] + [ghost], verify_fail=False)
    assert run.status == 'successful', run.stdout
    console = task_result(run, CONSOLE_TASK)['msg']
    assert console[0] == '5 endpoints, 20 pairs (full): 20 probes, 0 mismatches.'
    assert console[-1] == '4 probes of 1 host never ran (not in the play, or failed before probing): elsewhere (4).'
    # Probes to it do run (another segment: expected not reached, and nothing answers).
    blocks = dict(block_line(line) for line in console[1:-1])
    assert blocks['lab -> other'] == {'probes': 4, 'reached': 0, 'isolated': 4, 'any': 0, 'mismatches': 0,
                                      'not_run': 0, 'not_probed': 0}
    assert blocks['other -> lab']['not_probed'] == 4
    assert task_result(run, ASSERT_TASK)['_event'] == 'runner_on_skipped', 'verify_fail: false still asserted'


def test_sampled_mode_runs_its_sample_and_says_what_it_left_out(fleet, verify):
    run = verify(verify_endpoints=fleet['endpoints'], verify_mode='sampled', verify_sample=1, verify_seed='7',
                 verify_report_path='')
    assert run.status == 'successful', run.stdout
    probed = sum(len(r['results']) for r in run.results if r['_task'] == PROBE_TASK)
    console = task_result(run, CONSOLE_TASK)['msg']
    assert console[0] == ('4 endpoints, 12 pairs (sampled, seed 7, 1 target per endpoint and segment): %d probes, '
                          '0 mismatches.' % probed)
    assert probed < 12
    assert console[-1].startswith('Sampled: %d of 12 pairs were probed, the other %d were not' % (probed, 12 - probed))
    assert task_result(run, WRITE_TASK)['_event'] == 'runner_on_skipped'


def test_bad_endpoints_fail_before_any_probe(fleet, verify):
    typo = dict(fleet['endpoints'][0], adress='172.28.231.1')
    run = verify(verify_endpoints=[typo] + fleet['endpoints'][1:])
    assert run.status == 'failed', run.stdout
    failed = [r for r in run.results if r.failed]
    assert [r['_task'] for r in failed] == [PLAN_TASK], run.stdout
    assert 'verification_plan: endpoint 0 (h1/lab): unknown key adress' in failed[0]['msg']
    assert [r['_task'] for r in run.results if r['_task'] == PROBE_TASK] == [], 'probes ran despite the typo'


def test_the_fleet_wide_variables_are_checked_once_for_the_play_not_per_host(fleet, verify):
    """Each host checking the whole fleet's endpoints against an argument spec would cost the square of the fleet
    (the role's validation templates and copies them on every host); the entry point plan, run on one host,
    checks them once."""
    run = verify(verify_endpoints=fleet['endpoints'])
    assert run.status == 'successful', run.stdout
    checks = [r for r in run.results if r['_task'].startswith('Validating arguments against arg spec')]
    assert sorted(r['_task'].split(' - ')[0] for r in checks) == [
        "Validating arguments against arg spec 'main'", "Validating arguments against arg spec 'main'",
        "Validating arguments against arg spec 'plan'"], run.stdout
    # A wrong type is refused once, by that one check, before any probe.
    run = verify(verify_endpoints='h1/lab')
    assert run.status == 'failed', run.stdout
    failed = [r for r in run.results if r.failed]
    assert [r['_task'].split(' - ')[0] for r in failed] == ["Validating arguments against arg spec 'plan'"], \
        run.stdout
    assert 'verify_endpoints' in failed[0]['msg'], failed[0]['msg']
    assert [r for r in run.results if r['_task'] == PROBE_TASK] == [], 'probes ran despite the wrong type'
