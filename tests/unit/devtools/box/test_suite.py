"""The kernel suite (dev/underlay_dev/box/suite.py, .venv/bin/kernel-suite) is split over the boxes by measured
run time, not by file size."""

from __future__ import annotations

import pytest
from underlay_dev.box import suite as kernel_suite


def files(tmp_path, sizes):
    paths = []
    for name, size in sizes.items():
        path = tmp_path / name
        path.write_text('x' * size)
        paths.append(path)
    return paths


def names(groups):
    return [sorted(path.name for path in group) for group, _load in groups]


def test_measured_seconds_decide_over_size(tmp_path):
    # By size, the big file would go alone; by measured time, the two slow small files balance the big fast one.
    paths = files(tmp_path, {'test_big.py': 9000, 'test_slow1.py': 1000, 'test_slow2.py': 1000})
    groups = kernel_suite.split(paths, 2, {'test_big.py': 100, 'test_slow1.py': 500, 'test_slow2.py': 450})
    assert names(groups) == [['test_slow1.py'], ['test_big.py', 'test_slow2.py']]
    assert [load for _group, load in groups] == [500.0, 550.0]


def test_a_new_file_is_weighed_by_size_at_the_measured_rate(tmp_path):
    paths = files(tmp_path, {'test_a.py': 1000, 'test_b.py': 1000, 'test_new.py': 3000})
    weight = kernel_suite.weights(paths, {'test_a.py': 100, 'test_b.py': 100})
    assert weight[paths[2]] == 300.0


def test_nothing_measured_falls_back_to_size(tmp_path):
    paths = files(tmp_path, {'test_a.py': 300, 'test_b.py': 200, 'test_c.py': 100})
    groups = kernel_suite.split(paths, 2, {})
    assert names(groups) == [['test_a.py'], ['test_b.py', 'test_c.py']]


def test_seconds_per_file_from_junit_xml(tmp_path):
    report = tmp_path / 'suite.xml'
    report.write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="tests.kernel.test_box" name="test_one" time="12.5"/>'
        '<testcase classname="tests.kernel.test_box" name="test_two" time="7.5"/>'
        '<testcase classname="tests.kernel.test_links.TestGroup" name="test_three" time="3"/>'
        '</testsuite></testsuites>')
    assert kernel_suite.measured_seconds(report) == {'test_box.py': 20.0, 'test_links.py': 3.0}


def test_record_refuses_a_partial_run_before_any_box_starts(capsys):
    with pytest.raises(SystemExit) as exit_info:
        kernel_suite.main(['--record', '--', '-k', 'shim'])
    assert exit_info.value.code == 2
    assert '--record measures the whole suite' in capsys.readouterr().err


@pytest.mark.parametrize(('statuses', 'recorded'), [([0, 0], True), ([0, 1], False), ([5, 0], False)])
def test_record_writes_only_when_every_box_passed(tmp_path, monkeypatch, statuses, recorded):
    monkeypatch.setattr(kernel_suite, 'ROOT', tmp_path)
    monkeypatch.setattr(kernel_suite, 'DURATIONS', tmp_path / 'durations.json')
    monkeypatch.setattr(kernel_suite, 'MEASURED', tmp_path / 'cache' / 'durations.json')
    kernel_suite.write_measured({'test_box.py': 12.4}, True, statuses)
    assert (tmp_path / 'cache' / 'durations.json').read_text() == '{\n "test_box.py": 12\n}\n'
    assert (tmp_path / 'durations.json').exists() is recorded
