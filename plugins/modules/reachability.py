#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: reachability
short_description: Ping addresses from a host, its network namespaces or its Docker containers, many at once
version_added: 0.1.0
description:
  - Runs real pings, one probe per entry of O(probes), from the host the task runs on, from a named network
    namespace there, or from inside a Docker container there. It reports for each probe whether the target
    answered, and whether that is what was expected.
  - It changes nothing, so it reports C(changed=false), and in check mode it runs the probes as well (they only
    read).
  - Probes run concurrently (O(parallel) at once), so a matrix of unreachable pairs costs about one O(timeout),
    not one per pair.
  - The whole input is checked before the first ping. That covers addresses, sources, expectations, the
    namespaces, the engines and whether the containers run. A mistake fails the task with a message naming
    the probe and the fix.
  - A probe that does not behave as expected does not fail the task unless O(fail_on_mismatch=true). RV(results)
    and RV(mismatches) say what happened, for the caller (the role P(underlay.network.verify#role)) to decide.
  - From the host or a namespace it runs the system C(ping) (C(ping -c COUNT -W TIMEOUT -n ADDRESS), under
    C(nsenter --net=/run/netns/NAME) for a namespace). In a container it runs the container's own C(ping)
    through the engine's exec API (C(ping -c COUNT -W TIMEOUT ADDRESS), which busybox's ping understands too).
    All probes from one container go in one exec, a small C(sh) script pinging every target at once (an
    exec costs much more than a ping); a container without C(sh) gets one exec per probe.
author:
  - underlay.network contributors (@underlay-network)
options:
  probes:
    description:
      - The probes, each a row of RV(results) in the same order.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - Required. The probe's label in RV(results), for example V(host1/apps -> host2/apps).
        type: str
      source:
        description:
          - Where the ping runs. Empty or not set, in the namespace the task runs in.
        type: dict
        suboptions:
          netns:
            description:
              - A named network namespace on this host (as C(ip netns list) shows it). It must exist.
            type: str
          container:
            description:
              - A running Docker container on this host (name or id), whose own C(ping) runs the probe.
              - Not together with O(probes[].source.netns).
            type: str
          docker_host:
            description:
              - The API endpoint of the engine that runs O(probes[].source.container), as
                O(underlay.network.docker_vlan_network#module:docker_host). Only with O(probes[].source.container).
              - Defaults to V(unix:///var/run/docker.sock).
            type: str
      target:
        description:
          - Required. The IP address (IPv4 or IPv6, without a prefix length) to ping.
        type: str
      expect:
        description:
          - What should happen. V(reach), the target must answer. V(isolated), it must not. V(any), no
            expectation, the result is only reported.
        type: str
        default: any
  count:
    description:
      - Pings per probe. A probe reaches its target when any of them is answered.
    type: int
    default: 1
  timeout:
    description:
      - Seconds to wait for each answer (C(ping -W)).
    type: int
    default: 1
  retries:
    description:
      - How many more times a probe that must reach (O(probes[].expect=reach)) and did not is run again.
        A first ping can be lost while the target's neighbour entry is being resolved on a busy host. A retry
        can only turn "not reached" into "reached", so probes that must stay isolated are never retried;
        RV(results[].detail) says when a probe was answered on a retry.
    type: int
    default: 1
  parallel:
    description:
      - How many probes run at once. Probes on one Docker engine run at most 10 at once (the connections the
        Docker SDK keeps).
    type: int
    default: 32
  fail_on_mismatch:
    description:
      - Fail the task when a probe does not behave as expected (or could not run), naming those probes.
        RV(results) are returned either way.
    type: bool
    default: false
requirements:
  - ping (iputils-ping) and, for namespaces, nsenter (util-linux) on the managed host
  - docker (the Docker SDK for Python) >= 7.1 on the managed host, for probes from containers
  - a C(ping) inside each container probed from
attributes:
  check_mode:
    support: full
    description: The probes only read, so they run in check mode as well.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to show.
notes:
  - Probes from namespaces need root (C(CAP_SYS_ADMIN) to enter them).
  - A probe's target may answer from any interface; the probe says whether the address answered, not which path
    the packets took.
seealso:
  - module: underlay.network.links_info
'''

EXAMPLES = r'''
- name: From the host, from a container namespace and from a Docker container
  underlay.network.reachability:
    probes:
      - name: host1 -> host2
        target: 172.28.10.3
        expect: reach
      - name: host1/web1 -> host1 (no shim, so the kernel keeps them apart)
        source: {netns: web1}
        target: 172.28.10.2
        expect: isolated
      - name: host1/app -> gateway
        source: {container: app, docker_host: unix:///run/docker.sock}
        target: 172.28.10.1
        expect: reach
  register: reachability

- name: The same, failing on the first mismatch
  underlay.network.reachability:
    probes: "{{ my_probes }}"
    count: 2
    timeout: 2
    fail_on_mismatch: true
'''

RETURN = r'''
results:
  description: One entry per probe, in the order of O(probes).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The probe's label.
      type: str
    source:
      description: Where the ping ran; all null for the task's own namespace.
      type: dict
      sample: {netns: web1, container: null, docker_host: null}
    target:
      description: The address pinged.
      type: str
    reached:
      description: Whether the target answered; null when the probe could not run at all (RV(results[].detail)
        says why).
      type: bool
    expected:
      description: The probe's O(probes[].expect).
      type: str
    ok:
      description: Whether the probe behaved as expected (always true with V(any), unless it could not run).
      type: bool
    detail:
      description: What ping said, its statistics line (and round-trip times) or its error.
      type: str
      sample: 1 packets transmitted, 0 received, 100% packet loss, time 0ms
  sample:
    - {name: host1 -> host2, source: {netns: null, container: null, docker_host: null}, target: 172.28.10.3,
       reached: true, expected: reach, ok: true,
       detail: '1 packets transmitted, 1 received, 0% packet loss, time 0ms; rtt min/avg/max/mdev = ...'}
mismatches:
  description: How many probes did not behave as expected (or could not run).
  returned: always
  type: int
  sample: 0
summary:
  description: How many probes ran, reached, did not reach, could not run, and did not behave as expected.
  returned: always
  type: dict
  sample: {total: 12, reached: 8, not_reached: 4, not_run: 0, mismatches: 0}
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.underlay.network.plugins.module_utils._common.errors import UnderlayError, fail_from
from ansible_collections.underlay.network.plugins.module_utils._probes.probes import REACHABILITY_ARGUMENT_SPEC
from ansible_collections.underlay.network.plugins.module_utils._probes.run import mismatch_message, probe_all


def main():
    module = AnsibleModule(argument_spec=REACHABILITY_ARGUMENT_SPEC, supports_check_mode=True)
    try:
        result = probe_all(module)
    except UnderlayError as exc:
        fail_from(module, exc)
    if module.params['fail_on_mismatch'] and result['mismatches']:
        module.fail_json(msg=mismatch_message(result), **result)
    module.exit_json(changed=False, **result)


if __name__ == '__main__':
    main()
