# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: expected_reachability
short_description: Which endpoints of a fleet should reach which, as a matrix of expectations
version_added: 0.1.0
description:
  - Takes every endpoint of a fleet (hosts and containers on their segments) and returns one row per ordered
    pair of distinct endpoints, saying whether the first should reach the second's address.
  - The rule. A host probes from its own namespace, which is on every segment the host joins (those of its
    endpoints of kind V(host)), so it reaches every endpoint on those segments and none on others. A container is
    on its own segment only and reaches the endpoints there. The exception is a host and a container on that
    same host, which reach each other only where the host has a shim on the container's segment. The kernel does
    not pass traffic between a macvlan or ipvlan parent and its own links; the shim is the way around it.
  - O(overrides) then change single rows or, with wildcards, many. The rows feed the probes of
    M(underlay.network.reachability) (the role P(underlay.network.verify#role) does that).
  - It looks at nothing but its input (a pure function). Mistakes in the input (an unknown key, a missing name or
    address, two endpoints of the same name, an override matching no row) fail with a message naming the entry.
author:
  - underlay.network contributors (@underlay-network)
positional: overrides
options:
  _input:
    description:
      - The endpoints. Each is a dictionary with the keys below; no others.
      - C(name) (required) names the endpoint, unique, for example V(host1/apps).
      - C(host) (required) is the inventory host the endpoint lives on, where its probes run.
      - C(segment) (required) is the network segment (VLAN) it is on.
      - C(address) (required) is its IP address. A prefix length (V(172.28.10.2/24), as plans carry host addresses)
        is dropped.
      - C(kind) is V(host) (the default, the host itself, or its shim, on the segment), V(container), or V(vm) (a
        VM on a macvtap of the host, which the rule treats as a container).
      - C(netns) and C(container) say where its probes run, a named network namespace or a Docker container on
        C(host) (not both; neither is the host's own namespace). C(docker_host) is the engine of C(container).
      - C(shim) (kind V(host) only, default V(false)) says the host has a shim on the segment, so it and its own
        containers reach each other.
    type: list
    elements: dict
    required: true
  overrides:
    description:
      - Changes to the rule, applied after it in order, the last matching one winning.
      - Each is a dictionary with C(from) and C(to), endpoint names where C(*), C(?) and C([...]) match as in
        shell patterns, and C(expect), V(reach), V(isolated) or V(any) (no expectation).
      - An override that matches no row fails, as a misspelt name would otherwise change nothing.
    type: list
    elements: dict
    default: []
'''

EXAMPLES = r'''
- name: The matrix of a small fleet, a shim on host1 only
  ansible.builtin.debug:
    msg: "{{ endpoints | underlay.network.expected_reachability }}"
  vars:
    endpoints:
      - {name: host1/apps, host: host1, segment: apps, address: 172.28.10.2, shim: true}
      - {name: host1/web1, host: host1, segment: apps, kind: container, netns: web1, address: 172.28.10.130}
      - {name: host2/apps, host: host2, segment: apps, address: 172.28.10.3}
      - {name: host2/db1, host: host2, segment: apps, kind: container, container: db1, address: 172.28.10.146}
  # host2/apps and host2/db1 are expected isolated (no shim on host2); every other pair reaches.

- name: A gateway that drops pings from containers, and a pair nobody cares about
  ansible.builtin.set_fact:
    matrix: "{{ endpoints | underlay.network.expected_reachability(overrides) }}"
  vars:
    overrides:
      - {from: '*/db*', to: gw/*, expect: isolated}
      - {from: host1/apps, to: host2/db1, expect: any}
'''

RETURN = r'''
_value:
  description:
    - One row per ordered pair of distinct endpoints, in the order of the input (every row of the first endpoint,
      then of the second, and so on).
    - C(from) and C(to) are endpoint names, C(address) is the address of C(to) (the one to ping), C(expect) is
      V(reach), V(isolated) or V(any).
  type: list
  elements: dict
  sample:
    - {from: host1/apps, to: host1/web1, address: 172.28.10.130, expect: reach}
    - {from: host1/apps, to: host2/apps, address: 172.28.10.3, expect: reach}
'''

from ansible_collections.underlay.network.plugins.plugin_utils._filters import ansible_filter
from ansible_collections.underlay.network.plugins.plugin_utils._verification.plan import expected_matrix


def expected_reachability(endpoints, overrides=None):
    """Every ordered pair of distinct endpoints: {from, to, address, expect} (the rule lives in
    plugin_utils/_verification/plan.py, with the verification's plan)."""
    return expected_matrix(endpoints, overrides)


class FilterModule:
    def filters(self):
        return {'expected_reachability': ansible_filter(expected_reachability)}
