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
from harness import VENV_BIN, PlayRun
from test_reachability import add_container

H1, H2, C1, C2 = '172.28.231.1', '172.28.231.2', '172.28.231.11', '172.28.231.12'
FORMAT = '%-14s -> %-14s %-15s %-12s %-12s %s'
TABLE_TASK = 'Show the reachability matrix'
ASSERT_TASK = 'Fail unless every pair behaved as expected'
PROBE_TASK = "Ping every other endpoint from this host's endpoints, all at once"


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


def table(rows):
    return [FORMAT % ('from', 'to', 'address', 'result', 'expected', 'check')] + [FORMAT % row for row in rows]


# Without shims a host and its own container are isolated; every other pair reaches.
MATRIX = [
    ('h1/lab', 'h1/c1', C1, 'not reached', 'not reached', 'ok'),
    ('h1/lab', 'h2/lab', H2, 'reached', 'reached', 'ok'),
    ('h1/lab', 'h2/c2', C2, 'reached', 'reached', 'ok'),
    ('h1/c1', 'h1/lab', H1, 'not reached', 'not reached', 'ok'),
    ('h1/c1', 'h2/lab', H2, 'reached', 'reached', 'ok'),
    ('h1/c1', 'h2/c2', C2, 'reached', 'reached', 'ok'),
    ('h2/lab', 'h1/lab', H1, 'reached', 'reached', 'ok'),
    ('h2/lab', 'h1/c1', C1, 'reached', 'reached', 'ok'),
    ('h2/lab', 'h2/c2', C2, 'not reached', 'not reached', 'ok'),
    ('h2/c2', 'h1/lab', H1, 'reached', 'reached', 'ok'),
    ('h2/c2', 'h1/c1', C1, 'reached', 'reached', 'ok'),
    ('h2/c2', 'h2/lab', H2, 'not reached', 'not reached', 'ok'),
]


def test_a_matching_fleet_passes_and_prints_the_whole_matrix(fleet, verify):
    run = verify(verify_endpoints=fleet['endpoints'])
    assert run.status == 'successful', run.stdout
    probed = [r for r in run.results if r['_task'] == PROBE_TASK]
    # One reachability task per host, each with the rows of its own endpoints only.
    assert sorted(r['_host'] for r in probed) == sorted(fleet['hosts'])
    by_host = {r['_host']: [p['name'] for p in r['results']] for r in probed}
    assert by_host[fleet['hosts'][0]] == ['h1/lab -> h1/c1', 'h1/lab -> h2/lab', 'h1/lab -> h2/c2',
                                          'h1/c1 -> h1/lab', 'h1/c1 -> h2/lab', 'h1/c1 -> h2/c2']
    h1_results = next(r['results'] for r in probed if r['_host'] == fleet['hosts'][0])
    assert [r['source'] for r in h1_results] == [{'netns': None, 'container': None, 'docker_host': None}] * 3 + [
        {'netns': fleet['endpoints'][1]['netns'], 'container': None, 'docker_host': None}] * 3
    assert task_result(run, TABLE_TASK)['msg'] == table(MATRIX)
    assert FORMAT % MATRIX[0] in run.stdout
    assert task_result(run, ASSERT_TASK)['msg'] == 'All 12 pairs behaved as expected'


def test_a_wrong_expectation_fails_the_play_naming_the_row(fleet, verify):
    wrong = [{'from': 'h1/lab', 'to': 'h1/c1', 'expect': 'reach'}]
    run = verify(verify_endpoints=fleet['endpoints'], verify_overrides=wrong)
    assert run.status == 'failed', run.stdout
    rows = [list(row) for row in MATRIX]
    rows[0][4:] = ['reached', 'MISMATCH']
    assert task_result(run, TABLE_TASK)['msg'] == table([tuple(row) for row in rows])
    failed = task_result(run, ASSERT_TASK)
    assert failed.failed, failed
    assert failed['msg'].startswith('1 of 12 pairs did not behave as expected: h1/lab -> h1/c1 (%s): not reached, '
                                    'expected reached [1 packets transmitted, 0 received' % C1), failed['msg']


def test_unprobed_rows_show_and_verify_fail_false_only_reports(fleet, verify):
    """An endpoint whose host is not in the play: its rows are not probed, which is a mismatch."""
    ghost = {'name': 'far/away', 'host': 'elsewhere', 'segment': 'other', 'address': '172.28.232.1'}
    run = verify(verify_endpoints=fleet['endpoints'] + [ghost], verify_fail=False)
    assert run.status == 'successful', run.stdout
    lines = task_result(run, TABLE_TASK)['msg']
    assert len(lines) == 1 + 20
    assert FORMAT % ('far/away', 'h1/lab', H1, 'not probed', 'not reached', 'MISMATCH') in lines
    # Rows to it are probed (other segment: expected not reached, and it answers nothing).
    assert FORMAT % ('h1/c1', 'far/away', '172.28.232.1', 'not reached', 'not reached', 'ok') in lines
    assert task_result(run, ASSERT_TASK)['_event'] == 'runner_on_skipped', 'verify_fail: false still asserted'


def test_bad_endpoints_fail_before_any_probe(fleet, verify):
    typo = dict(fleet['endpoints'][0], adress='172.28.231.1')
    run = verify(verify_endpoints=[typo] + fleet['endpoints'][1:])
    assert run.status == 'failed', run.stdout
    failed = [r for r in run.results if r.failed]
    assert len(failed) == 2 and all(r['_task'].startswith('Validating arguments') for r in failed), run.stdout
    assert failed[0]['argument_errors'] == ['verify_endpoints.adress. Supported parameters include: address, '
                                            'container, docker_host, host, kind, name, netns, segment, shim.']
    assert [r['_task'] for r in run.results if r['_task'] == PROBE_TASK] == [], 'probes ran despite the typo'
