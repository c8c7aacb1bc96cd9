# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: expected_reachability
short_description: Which endpoints of a fleet should reach which, as a matrix of expectations
version_added: 0.3.0
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
      - C(kind) is V(host) (the default, the host itself, or its shim, on the segment) or V(container).
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

import ipaddress
from collections.abc import Mapping
from fnmatch import fnmatchcase

from ansible.errors import AnsibleFilterError

ENDPOINT_KEYS = ('name', 'host', 'segment', 'kind', 'address', 'netns', 'container', 'docker_host', 'shim')
REQUIRED_KEYS = ('name', 'host', 'segment', 'address')
KINDS = ('host', 'container')
OVERRIDE_KEYS = ('from', 'to', 'expect')
EXPECTATIONS = ('reach', 'isolated', 'any')


def _endpoint(position, endpoint):
    """One endpoint, checked and with its defaults."""
    if not isinstance(endpoint, Mapping):
        raise AnsibleFilterError('expected_reachability: endpoint %d is a %s, not a dictionary'
                                 % (position, type(endpoint).__name__))
    name = endpoint.get('name')
    label = 'endpoint %d%s' % (position, ' (%s)' % name if isinstance(name, str) and name else '')

    def fail(msg):
        raise AnsibleFilterError('expected_reachability: %s: %s' % (label, msg))

    unknown = sorted(str(key) for key in endpoint if key not in ENDPOINT_KEYS)
    if unknown:
        plural = 's' if len(unknown) > 1 else ''
        fail('unknown key%s %s; the keys are %s' % (plural, ', '.join(unknown), ', '.join(ENDPOINT_KEYS)))
    for key in REQUIRED_KEYS:
        value = endpoint.get(key)
        if not isinstance(value, str) or not value.strip():
            fail('%s is required (a non-empty string)%s' % (key, '' if value is None else ', got %r' % (value,)))
    try:
        address = str(ipaddress.ip_interface(endpoint['address'].strip()).ip)
    except ValueError:
        fail("address '%s' is not an IP address" % endpoint['address'])
    kind = endpoint.get('kind') or 'host'
    if kind not in KINDS:
        fail("kind '%s' is not host or container" % kind)
    if endpoint.get('netns') and endpoint.get('container'):
        fail('netns and container are both set; its probes run in one place: keep one')
    if endpoint.get('docker_host') and not endpoint.get('container'):
        fail('docker_host goes with container only (the engine of that container)')
    shim = endpoint.get('shim')
    if shim is not None and not isinstance(shim, bool):
        fail('shim must be true or false, got %r' % (shim,))
    if shim and kind != 'host':
        fail('shim applies to kind host only (the host has a shim on the segment); drop it or fix kind')
    return dict(name=endpoint['name'], host=endpoint['host'], segment=endpoint['segment'], kind=kind,
                address=address, shim=bool(shim))


def _override(position, override):
    label = 'override %d' % position
    if not isinstance(override, Mapping):
        raise AnsibleFilterError('expected_reachability: %s is a %s, not a dictionary'
                                 % (label, type(override).__name__))
    unknown = sorted(str(key) for key in override if key not in OVERRIDE_KEYS)
    if unknown:
        raise AnsibleFilterError('expected_reachability: %s: unknown key%s %s; the keys are from, to and expect'
                                 % (label, 's' if len(unknown) > 1 else '', ', '.join(unknown)))
    for key in ('from', 'to'):
        if not isinstance(override.get(key), str) or not override[key]:
            raise AnsibleFilterError('expected_reachability: %s: %s is required, an endpoint name or a pattern '
                                     '(host1/*)' % (label, key))
    if override.get('expect') not in EXPECTATIONS:
        raise AnsibleFilterError("expected_reachability: %s (%s -> %s): expect '%s' is not one of %s"
                                 % (label, override['from'], override['to'], override.get('expect'),
                                    ', '.join(EXPECTATIONS)))
    return override


def default_expectation(source, target, joined, shims):
    """The rule (see DOCUMENTATION); ``joined``: host -> the segments it is on (its kind host endpoints),
    ``shims``: the (host, segment) pairs where the host has a shim."""
    if source['kind'] == 'host':
        # A host probes from its own namespace, which is on every segment the host joins.
        if target['host'] == source['host']:
            if target['kind'] == 'host':
                return 'reach'  # one of its own addresses
            return 'reach' if (source['host'], target['segment']) in shims else 'isolated'
        return 'reach' if target['segment'] in joined.get(source['host'], ()) else 'isolated'
    # A container is on its own segment only.
    if source['segment'] != target['segment']:
        return 'isolated'
    if target['host'] == source['host'] and target['kind'] == 'host':
        return 'reach' if (target['host'], target['segment']) in shims else 'isolated'
    return 'reach'


def expected_reachability(endpoints, overrides=None):
    """Every ordered pair of distinct endpoints: {from, to, address, expect}."""
    if not isinstance(endpoints, (list, tuple)):
        raise AnsibleFilterError('expected_reachability: the input must be the list of endpoints, not a %s'
                                 % type(endpoints).__name__)
    if not isinstance(overrides or [], (list, tuple)):
        raise AnsibleFilterError('expected_reachability: overrides must be a list of {from, to, expect}, not a %s'
                                 % type(overrides).__name__)
    checked, seen = [], {}
    for position, endpoint in enumerate(endpoints):
        item = _endpoint(position, endpoint)
        if item['name'] in seen:
            raise AnsibleFilterError('expected_reachability: endpoints %d and %d are both named %s; names must be '
                                     'unique' % (seen[item['name']], position, item['name']))
        seen[item['name']] = position
        checked.append(item)
    rules = [_override(position, o) for position, o in enumerate(overrides or [])]

    joined, shims = {}, set()
    for endpoint in checked:
        if endpoint['kind'] == 'host':
            joined.setdefault(endpoint['host'], set()).add(endpoint['segment'])
            if endpoint['shim']:
                shims.add((endpoint['host'], endpoint['segment']))
    rows, used = [], set()
    for source in checked:
        for target in checked:
            if source is target:
                continue
            expect = default_expectation(source, target, joined, shims)
            for position, rule in enumerate(rules):
                if fnmatchcase(source['name'], rule['from']) and fnmatchcase(target['name'], rule['to']):
                    expect = rule['expect']
                    used.add(position)
            rows.append({'from': source['name'], 'to': target['name'], 'address': target['address'],
                         'expect': expect})
    unused = [position for position in range(len(rules)) if position not in used]
    if unused:
        raise AnsibleFilterError('expected_reachability: %s match%s no pair of endpoints; fix the names or '
                                 'patterns (the endpoints are %s)' % (
                                     ', '.join('override %d (%s -> %s)' % (p, rules[p]['from'], rules[p]['to'])
                                               for p in unused), 'es' if len(unused) == 1 else '',
                                     ', '.join(sorted(seen))))
    return rows


class FilterModule:
    def filters(self):
        return {'expected_reachability': expected_reachability}
