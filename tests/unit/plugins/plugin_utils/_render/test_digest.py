"""plan_digest: one digest for one plan, inputs and code; another for any change to any of them."""

from __future__ import annotations

import pytest

from ansible_collections.underlay.network.plugins.plugin_utils._filters import FilterError
from ansible_collections.underlay.network.plugins.plugin_utils._render.digest import code_digest, plan_digest

PLAN = {'trunk': 'eth0', 'segments': [{'name': 'lan', 'index': 0, 'ip_range': '172.28.40.128/28'}]}


def test_the_same_plan_and_inputs_give_the_same_digest_whatever_the_key_order():
    reordered = {'segments': [{'ip_range': '172.28.40.128/28', 'index': 0, 'name': 'lan'}], 'trunk': 'eth0'}
    assert plan_digest(PLAN, {'a': 1, 'b': None}) == plan_digest(reordered, {'b': None, 'a': 1})
    assert len(plan_digest(PLAN)) == 64


@pytest.mark.parametrize(('plan', 'inputs'), [
    (dict(PLAN, trunk='eth1'), None),
    ({'trunk': 'eth0', 'segments': [dict(PLAN['segments'][0], index=1)]}, None),
    (PLAN, {'netns_lab_state': 'absent'}),
])
def test_any_change_of_plan_or_inputs_gives_another_digest(plan, inputs):
    assert plan_digest(plan, inputs) != plan_digest(PLAN)


def test_the_code_is_part_of_the_digest(tmp_path):
    (tmp_path / 'plugins').mkdir()
    (tmp_path / 'roles' / 'r' / 'tasks').mkdir(parents=True)
    task = tmp_path / 'roles' / 'r' / 'tasks' / 'main.yml'
    task.write_text('- name: one\n')
    (tmp_path / 'roles' / 'README.md').write_text('prose is not code')
    before = code_digest.__wrapped__(tmp_path)
    (tmp_path / 'roles' / 'README.md').write_text('other prose')
    assert code_digest.__wrapped__(tmp_path) == before
    task.write_text('- name: two\n')
    assert code_digest.__wrapped__(tmp_path) != before


def test_values_that_are_not_plain_data_are_refused():
    with pytest.raises(FilterError, match='plan_digest: the plan and inputs must be plain data'):
        plan_digest(PLAN, {'x': object()})
