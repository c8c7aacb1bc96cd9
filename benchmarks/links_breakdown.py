"""Where the links module's time goes, measured inside one namespace (run by links_benchmark.py).

Usage: ip netns exec NS python benchmarks/links_breakdown.py N   (with the collection on PYTHONPATH)

Prints JSON: the import cost of the module's code (AnsibleModule alone, then the links module's
module_utils on top, each in a fresh interpreter), the module's own argument validation for N
links, and for N macvlan links on ``trunk`` the plan / apply / report seconds of a first converge,
a no-change re-run and a deletion of all of them: the module's work without Ansible around it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

IMPORT_BASIC = 'from ansible.module_utils.basic import AnsibleModule'
IMPORT_LINKS = IMPORT_BASIC + '; import ansible_collections.underlay.network.plugins.module_utils._links.host'
RUNS = 5


def import_seconds(statement):
    """Median wall time of a fresh interpreter running ``statement``."""
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run([sys.executable, '-c', statement], check=True)
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def main(n):
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
    from ansible_collections.underlay.network.plugins.module_utils._common.gc_passes import fewer_gc_passes
    from ansible_collections.underlay.network.plugins.module_utils._links.host_apply import apply_host
    from ansible_collections.underlay.network.plugins.module_utils._links.host_plan import host_options, plan_host
    from ansible_collections.underlay.network.plugins.module_utils._links.host_report import report
    from ansible_collections.underlay.network.plugins.module_utils._links.sessions import Sessions
    from ansible_collections.underlay.network.plugins.module_utils._links.spec import AGGREGATE_ARGUMENT_SPEC

    entries = [{'kind': 'macvlan', 'name': 'b%d' % i, 'parent': 'trunk', 'mode': 'bridge',
                'addresses': ['10.66.%d.%d/32' % (i // 250, i % 250 + 1)]} for i in range(n)]
    start = time.perf_counter()
    validated = ArgumentSpecValidator(AGGREGATE_ARGUMENT_SPEC).validate({'config': {'links': entries}})
    result = {'n': n, 'validate': time.perf_counter() - start,
              'python_and_ansible_module': import_seconds(IMPORT_BASIC)}
    result['links_module_utils'] = import_seconds(IMPORT_LINKS) - result['python_and_ansible_module']
    config = validated.validated_parameters['config']
    for phase, state, phase_config in (('first', 'merged', config), ('rerun', 'merged', config),
                                       ('delete', 'deleted', {})):
        times = {}
        with fewer_gc_passes(), Sessions(whole=True) as sessions:  # as converge_host runs them
            start = time.perf_counter()
            plan = plan_host(sessions, phase_config, state, host_options(state))
            times['plan'] = time.perf_counter() - start
            start = time.perf_counter()
            actions = apply_host(sessions, plan) if plan.changed else []
            times['apply'] = time.perf_counter() - start
            start = time.perf_counter()
            report(sessions, plan, actions, False)
            times['report'] = time.perf_counter() - start
        result[phase] = times
    print(json.dumps(result))


if __name__ == '__main__':
    main(int(sys.argv[1]))
