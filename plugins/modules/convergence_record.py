#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: convergence_record
short_description: Record that a host is converged to a plan, so that a run of the same plan can skip converging it
version_added: 0.1.0
description:
  - Writes the host's convergence record, after a run has converged the host to a plan. The record holds the plan's
    digest (O(plan)), the namespaces the plan puts workloads in (O(namespaces)) and a digest of the host's state
    now. M(underlay.network.links_info) with O(underlay.network.links_info#module:convergence) reads it back and
    tells whether the host is still in that state.
  - A run of the same plan on a host found in that state has nothing to converge, so its converge tasks can be
    skipped. The site playbook does so (see C(underlay_reconverge) in the README).
  - The state covered is every link of the task's namespace (physical devices included) with its kind settings,
    parent, MAC address, MTU, admin state, marker, addresses and routes, and, for each namespace of
    O(namespaces), whether it exists, its links in the same detail, its loopback and the sysctls listed. Any
    change to any of these, by anyone, makes the record stale. Counters, carrier and operational state are not
    covered.
  - The record is a file below C(/run/underlay.network/converged), one per network namespace. C(/run) is a tmpfs, so
    a reboot clears it and the first run after a reboot converges the host.
  - Writing the record changes nothing on the network, so the module never reports a change. A check run
    reports the record it would write and writes nothing.
author:
  - underlay.network contributors (@underlay-network)
options:
  plan:
    description:
      - The digest of the plan the host was converged to, as the caller computes it (the site playbook uses
        P(underlay.network.plan_digest#filter)). Required with O(state=present).
    type: str
  namespaces:
    description:
      - The namespaces the plan puts workloads in, with the sysctls it sets in each, in the shape
        M(underlay.network.links) takes as O(underlay.network.links#module:config.namespaces). Their state is part
        of the record.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The namespace's name, as C(ip netns list) shows it.
        type: str
        required: true
      sysctls:
        description: Sysctls the plan sets in it, as for M(underlay.network.netns). Only the keys count here.
        type: dict
        default: {}
  state:
    description:
      - V(present) writes the record of the host's state now.
      - V(absent) removes the record, so that the next run converges the host whatever its state.
    type: str
    choices: [present, absent]
    default: present
requirements:
  - pyroute2 >= 0.9
attributes:
  check_mode:
    support: full
    description: Reports the record it would write, and writes or removes nothing.
  diff_mode:
    support: none
    description: The record is bookkeeping, not configuration.
notes:
  - Needs root, to write below C(/run) and to read the sysctls inside the namespaces.
seealso:
  - module: underlay.network.links_info
  - module: underlay.network.links
'''

EXAMPLES = r'''
- name: Record that the host is converged to its plan
  underlay.network.convergence_record:
    plan: "{{ underlay_host_plan | underlay.network.plan_digest }}"

- name: Make the next run converge the host whatever it finds
  underlay.network.convergence_record:
    state: absent
'''

RETURN = r'''
record:
  description: The record written (or, in check mode, that would be written); null with O(state=absent).
  returned: always
  type: dict
  contains:
    plan:
      description: O(plan).
      type: str
    namespaces:
      description: O(namespaces).
      type: list
      elements: dict
    state:
      description: The digest of the host's state.
      type: str
  sample: {plan: 5f0c...e1, namespaces: [{name: web, sysctls: {}}], state: 9a41...07}
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.underlay.network.plugins.module_utils._common.errors import UnderlayError, fail_from
from ansible_collections.underlay.network.plugins.module_utils._kernel.pyroute2_import import require_pyroute2
from ansible_collections.underlay.network.plugins.module_utils._links.host_record import (
    RECORD_MODULE,
    record_convergence,
)


def main():
    module = AnsibleModule(supports_check_mode=True, **RECORD_MODULE)
    require_pyroute2(module)
    try:
        record = record_convergence(module.params, module.check_mode)
    except UnderlayError as exc:
        fail_from(module, exc)
    module.exit_json(changed=False, record=record)


if __name__ == '__main__':
    main()
