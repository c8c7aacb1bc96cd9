# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The reachability verification's plan: which endpoint pings which, and what it should see.

The rule (``Topology.expect``) says, for an ordered pair of endpoints, whether the first should reach the
second; overrides change it. ``expected_matrix`` applies it to every ordered pair (the filter
expected_reachability). ``verification_plan`` chooses the pairs to probe, every pair (full mode) or a sample
linear in the endpoints (sampled mode), and hands each host its own probes, in the shape the reachability
module takes. Pure: no network, the same output for the same input.

Sampled mode, pingmesh-style. Per segment, the endpoints stand in a ring, shuffled by a seeded random order.
Each endpoint probes:

* every other endpoint on its own host (its own addresses, and its shim paths: a host and its containers);
* the next ``sample`` endpoints of its ring that live on other hosts (so each endpoint is also a target about
  ``sample`` times);
* one endpoint it must not reach, on another segment, the segments taken in turn along the ring;
* its segment's gateway, when ``gateways`` names one.

A VM (kind ``vm``) is a target like a container, never a source: nothing runs inside a guest for the
verification, so the pairs it would probe are left out (and not counted among the pairs).

Then a fix-up adds a probe wherever an endpoint is nobody's target from another host or a (segment, segment)
isolation boundary has no probe yet. So every host, segment, shim and boundary is covered, in
O(endpoints x (sample + per-host endpoints + segments)) probes.
"""

from __future__ import annotations

import hashlib
import ipaddress
import random
from collections.abc import Mapping
from fnmatch import fnmatchcase

from ansible_collections.underlay.network.plugins.module_utils._common.vocabulary import EXPECTATIONS
from ansible_collections.underlay.network.plugins.plugin_utils._filters import FilterError

ENDPOINT_KEYS = ('name', 'host', 'segment', 'kind', 'address', 'netns', 'container', 'docker_host', 'shim')
REQUIRED_KEYS = ('name', 'host', 'segment', 'address')
KINDS = ('host', 'container', 'vm')
# A VM is probed, never probes: nothing runs inside a guest for the verification.
TARGET_ONLY = ('vm',)
OVERRIDE_KEYS = ('from', 'to', 'expect')
GATEWAY_KEYS = ('segment', 'address', 'name')
MODES = ('auto', 'full', 'sampled')
FULL_LIMIT = 64  # endpoints: mode auto probes every pair up to this many, a sample above
DEFAULT_SAMPLE = 3
SEPARATOR = ' -> '  # a probe's name is SOURCE -> TARGET
SOURCE_KEYS = ('netns', 'container', 'docker_host')


def _fail(who, message):
    raise FilterError('%s: %s' % (who, message))


def plural(count, word, many=None):
    """'1 probe', '1,024 probes': a count and its noun, for messages and reports."""
    return '{:,} {}'.format(count, word if count == 1 else (many or word + 's'))


def _unknown_keys(who, label, mapping, keys, names=None):
    """Fail naming the keys of ``mapping`` that are not in ``keys`` (spelt ``names`` in the message)."""
    unknown = sorted(str(key) for key in mapping if key not in keys)
    if unknown:
        _fail(who, '%s: unknown key%s %s; the keys are %s' % (
            label, 's' if len(unknown) > 1 else '', ', '.join(unknown), names or ', '.join(keys)))


def _endpoint(who, position, endpoint):
    """One endpoint, checked and with its defaults."""
    if not isinstance(endpoint, Mapping):
        _fail(who, 'endpoint %d is a %s, not a dictionary' % (position, type(endpoint).__name__))
    name = endpoint.get('name')
    label = 'endpoint %d%s' % (position, ' (%s)' % name if isinstance(name, str) and name else '')

    def fail(msg):
        _fail(who, '%s: %s' % (label, msg))

    _unknown_keys(who, label, endpoint, ENDPOINT_KEYS)
    for key in REQUIRED_KEYS:
        value = endpoint.get(key)
        if not isinstance(value, str) or not value.strip():
            fail('%s is required (a non-empty string)%s' % (key, '' if value is None else ', got %r' % (value,)))
    if SEPARATOR in endpoint['name']:
        fail("the name contains '%s', which separates source and target in a probe's name; rename it"
             % SEPARATOR)
    try:
        address = str(ipaddress.ip_interface(endpoint['address'].strip()).ip)
    except ValueError:
        fail("address '%s' is not an IP address" % endpoint['address'])
    kind = endpoint.get('kind') or 'host'
    if kind not in KINDS:
        fail("kind '%s' is not host, container or vm" % kind)
    if endpoint.get('netns') and endpoint.get('container'):
        fail('netns and container are both set; its probes run in one place: keep one')
    if endpoint.get('docker_host') and not endpoint.get('container'):
        fail('docker_host goes with container only (the engine of that container)')
    shim = endpoint.get('shim')
    if shim is not None and not isinstance(shim, bool):
        fail('shim must be true or false, got %r' % (shim,))
    if shim and kind != 'host':
        fail('shim applies to kind host only (the host has a shim on the segment); drop it or fix kind')
    checked = dict(name=endpoint['name'], host=endpoint['host'], segment=endpoint['segment'], kind=kind,
                   address=address, shim=bool(shim))
    checked['source'] = {key: endpoint.get(key) or None for key in SOURCE_KEYS}
    return checked


def check_endpoints(endpoints, who):
    """The endpoints, each checked (see _endpoint), names unique."""
    if not isinstance(endpoints, (list, tuple)):
        _fail(who, 'the input must be the list of endpoints, not a %s' % type(endpoints).__name__)
    checked, seen = [], {}
    for position, endpoint in enumerate(endpoints):
        item = _endpoint(who, position, endpoint)
        if item['name'] in seen:
            _fail(who, 'endpoints %d and %d are both named %s; names must be unique'
                  % (seen[item['name']], position, item['name']))
        seen[item['name']] = position
        checked.append(item)
    return checked


def check_overrides(overrides, names, who):
    """The overrides, each checked; one that can match no pair of ``names`` fails (a misspelt name would
    otherwise change nothing). Linear in names x overrides: a pattern pair matches some pair of distinct
    endpoints unless both sides match the same single endpoint."""
    if not isinstance(overrides or [], (list, tuple)):
        _fail(who, 'overrides must be a list of {from, to, expect}, not a %s' % type(overrides).__name__)
    rules, unused = [], []
    for position, override in enumerate(overrides or []):
        label = 'override %d' % position
        if not isinstance(override, Mapping):
            _fail(who, '%s is a %s, not a dictionary' % (label, type(override).__name__))
        _unknown_keys(who, label, override, OVERRIDE_KEYS, 'from, to and expect')
        for key in ('from', 'to'):
            if not isinstance(override.get(key), str) or not override[key]:
                _fail(who, '%s: %s is required, an endpoint name or a pattern (host1/*)' % (label, key))
        if override.get('expect') not in EXPECTATIONS:
            _fail(who, "%s (%s -> %s): expect '%s' is not one of %s" % (
                label, override['from'], override['to'], override.get('expect'), ', '.join(EXPECTATIONS)))
        sources = [name for name in names if fnmatchcase(name, override['from'])]
        targets = [name for name in names if fnmatchcase(name, override['to'])]
        if not sources or not targets or (len(sources) == 1 and sources == targets):
            unused.append(position)
        rules.append(dict(override))
    if unused:
        _fail(who, '%s match%s no pair of endpoints; fix the names or patterns (the endpoints are %s)' % (
            ', '.join('override %d (%s -> %s)' % (p, rules[p]['from'], rules[p]['to']) for p in unused),
            'es' if len(unused) == 1 else '', ', '.join(sorted(names))))
    return rules


def _is_pattern(text):
    return any(char in text for char in '*?[')


class Topology:
    """Who is on which segment: a host's own namespace is on every segment it has a kind host endpoint on."""

    def __init__(self, endpoints):
        self.joined, self.shims = {}, set()
        for endpoint in endpoints:
            if endpoint['kind'] == 'host':
                self.joined.setdefault(endpoint['host'], set()).add(endpoint['segment'])
                if endpoint['shim']:
                    self.shims.add((endpoint['host'], endpoint['segment']))

    def expect(self, source, target):
        """The rule, before overrides (see the filter expected_reachability's documentation)."""
        if source['kind'] == 'host':
            if target['host'] == source['host']:
                if target['kind'] == 'host':
                    return 'reach'  # one of its own addresses
                return 'reach' if (source['host'], target['segment']) in self.shims else 'isolated'
            return 'reach' if target['segment'] in self.joined.get(source['host'], ()) else 'isolated'
        # A container is on its own segment only.
        if source['segment'] != target['segment']:
            return 'isolated'
        if target['host'] == source['host'] and target['kind'] == 'host':
            return 'reach' if (target['host'], target['segment']) in self.shims else 'isolated'
        return 'reach'

    def isolated_segments(self, source, segments):
        """The segments none of whose endpoints ``source`` reaches by the rule (its isolation boundaries)."""
        if source['kind'] == 'host':
            joined = self.joined.get(source['host'], ())
            return [segment for segment in segments if segment not in joined]
        return [segment for segment in segments if segment != source['segment']]


def _apply(rules, source_name, target_name, expect):
    for rule in rules:
        if fnmatchcase(source_name, rule['from']) and fnmatchcase(target_name, rule['to']):
            expect = rule['expect']
    return expect


def expected_matrix(endpoints, overrides=None, who='expected_reachability'):
    """Every ordered pair of distinct endpoints: {from, to, address, expect}, in input order."""
    checked = check_endpoints(endpoints, who)
    rules = check_overrides(overrides, [endpoint['name'] for endpoint in checked], who)
    topology = Topology(checked)
    return [{'from': source['name'], 'to': target['name'], 'address': target['address'],
             'expect': _apply(rules, source['name'], target['name'], topology.expect(source, target))}
            for source in checked for target in checked if source is not target]


def _gateways(gateways, segments, names, who):
    """The gateways, checked: {name, segment, address}, one per segment at most."""
    if not isinstance(gateways or [], (list, tuple)):
        _fail(who, 'gateways must be a list of {segment, address, name}, not a %s' % type(gateways).__name__)
    checked = {}
    for position, gateway in enumerate(gateways or []):
        label = 'gateway %d' % position
        if not isinstance(gateway, Mapping):
            _fail(who, '%s is a %s, not a dictionary' % (label, type(gateway).__name__))
        _unknown_keys(who, label, gateway, GATEWAY_KEYS)
        segment = gateway.get('segment')
        if segment not in segments:
            _fail(who, "%s: segment %r has no endpoints; the segments are %s"
                  % (label, segment, ', '.join(segments)))
        if segment in checked:
            _fail(who, '%s: segment %s has a gateway already; one per segment' % (label, segment))
        try:
            address = str(ipaddress.ip_interface(str(gateway.get('address')).strip()).ip)
        except ValueError:
            _fail(who, "%s (%s): address %r is not an IP address" % (label, segment, gateway.get('address')))
        name = gateway.get('name') or 'gateway/%s' % segment
        if name in names or SEPARATOR in name:
            _fail(who, '%s (%s): the name %s is taken by an endpoint or contains %r; set another name'
                  % (label, segment, name, SEPARATOR))
        checked[segment] = {'name': name, 'host': None, 'segment': segment, 'kind': 'gateway',
                            'address': address, 'shim': False}
    return checked


def default_seed(endpoints):
    """A seed derived from the endpoints' names: the same fleet samples the same pairs on every run."""
    digest = hashlib.sha256('\n'.join(sorted(endpoint['name'] for endpoint in endpoints)).encode('utf-8'))
    return digest.hexdigest()[:12]


def _rings(endpoints, seed):
    """Per segment (in the order segments first appear), its endpoints in a seeded random order. Each segment
    has its own random stream, so adding a segment does not reshuffle the others."""
    rings = {}
    for endpoint in endpoints:
        rings.setdefault(endpoint['segment'], []).append(endpoint)
    for segment, ring in rings.items():
        ring.sort(key=lambda endpoint: endpoint['name'])  # the input's order does not matter
        random.Random('%s/%s' % (seed, segment)).shuffle(ring)
    return rings


def _sampled_pairs(endpoints, topology, sample, seed):
    """The pairs sampled mode probes (see the module's docstring), in a deterministic order."""
    pairs = {}

    def add(source, target):
        if source['kind'] in TARGET_ONLY:
            return False
        pairs.setdefault((source['name'], target['name']), (source, target))
        return True

    by_host = {}
    for endpoint in endpoints:
        by_host.setdefault(endpoint['host'], []).append(endpoint)
    for members in by_host.values():
        for source in members:
            for target in members:
                if source is not target:
                    add(source, target)

    rings = _rings(endpoints, seed)
    segments = sorted(rings)  # not the input's order: the same fleet, the same sample
    for segment in segments:
        ring = rings[segment]
        size = len(ring)
        if len({endpoint['host'] for endpoint in ring}) < 2:
            continue  # one host only: its own-host probes cover the segment
        targeted = set()
        for position, source in enumerate(ring):
            if source['kind'] in TARGET_ONLY:
                continue
            found = 0
            for step in range(1, size):
                target = ring[(position + step) % size]
                if target['host'] != source['host']:
                    add(source, target)
                    targeted.add(target['name'])
                    found += 1
                    if found == sample:
                        break
        # An endpoint right after a long run of another host's endpoints can be nobody's pick: its nearest
        # predecessor on another host probes it.
        for position, target in enumerate(ring):
            if target['name'] in targeted:
                continue
            for step in range(1, size):
                source = ring[(position - step) % size]
                if source['host'] != target['host'] and add(source, target):
                    break

    covered = set()
    for segment in segments:
        for position, source in enumerate(rings[segment]):
            boundaries = topology.isolated_segments(source, segments)
            if boundaries:
                other = boundaries[position % len(boundaries)]
                if add(source, _pick(rings[other], position, source['host'])):
                    covered.add((segment, other))
    for segment in segments:
        for position, source in enumerate(rings[segment]):
            for other in topology.isolated_segments(source, segments):
                if (segment, other) not in covered and add(source, _pick(rings[other], position, source['host'])):
                    covered.add((segment, other))
    return list(pairs.values())


def _pick(ring, position, host):
    """An endpoint of ``ring`` for the source at ``position``, on another host than ``host`` if one is next."""
    target = ring[position % len(ring)]
    if target['host'] == host and len(ring) > 1:
        target = ring[(position + 1) % len(ring)]
    return target


def _check_settings(mode, sample, seed, who):
    if mode not in MODES:
        _fail(who, "mode %r is not one of %s" % (mode, ', '.join(MODES)))
    if isinstance(sample, bool) or not isinstance(sample, int) or sample < 1:
        _fail(who, 'sample must be a whole number of at least 1 (targets per endpoint and segment), got %r'
              % (sample,))
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (str, int)) or seed == ''):
        _fail(who, 'seed must be a string or a number (or unset for one derived from the endpoints), got %r'
              % (seed,))


def verification_plan(endpoints, overrides=None, mode='auto', sample=DEFAULT_SAMPLE, seed=None, gateways=None):
    """The probes of a verification run, per host, with what the report needs to read their results."""
    who = 'verification_plan'
    _check_settings(mode, sample, seed, who)
    checked = check_endpoints(endpoints, who)
    names = [endpoint['name'] for endpoint in checked]
    rules = check_overrides(overrides, names, who)
    segments = list(dict.fromkeys(endpoint['segment'] for endpoint in checked))
    gateway_of = _gateways(gateways, segments, set(names), who)
    topology = Topology(checked)
    if mode == 'auto':
        mode = 'full' if len(checked) <= FULL_LIMIT else 'sampled'
    seed = default_seed(checked) if seed is None else str(seed)

    if mode == 'full':
        pairs = [(source, target) for source in checked for target in checked
                 if source is not target and source['kind'] not in TARGET_ONLY]
    else:
        pairs = _sampled_pairs(checked, topology, sample, seed)
        chosen = {(source['name'], target['name']) for source, target in pairs}
        by_name = {endpoint['name']: endpoint for endpoint in checked}
        # An override naming one exact pair is a pair somebody cares about: always probed.
        for rule in rules:
            exact = (rule['from'], rule['to'])
            if exact not in chosen and not (_is_pattern(rule['from']) or _is_pattern(rule['to'])) \
                    and rule['from'] in by_name and rule['to'] in by_name \
                    and by_name[rule['from']]['kind'] not in TARGET_ONLY:
                pairs.append((by_name[rule['from']], by_name[rule['to']]))
                chosen.add(exact)

    probes = {}
    gateway_pairs = [(source, gateway_of[source['segment']]) for source in checked
                     if source['segment'] in gateway_of and source['kind'] not in TARGET_ONLY]
    for source, target in pairs + gateway_pairs:
        expect = 'reach' if target['kind'] == 'gateway' else topology.expect(source, target)
        probes.setdefault(source['host'], []).append({
            'name': source['name'] + SEPARATOR + target['name'], 'target': target['address'],
            'expect': _apply(rules, source['name'], target['name'], expect), 'source': dict(source['source'])})
    sources = sum(1 for endpoint in checked if endpoint['kind'] not in TARGET_ONLY)
    every_pair = sources * (len(checked) - 1) + len(gateway_pairs)
    probed = sum(len(host_probes) for host_probes in probes.values())
    return {
        'mode': mode, 'seed': seed, 'sample': sample,
        'counts': {'endpoints': len(checked), 'pairs': every_pair, 'probes': probed},
        'segments': segments,
        'hosts': sorted(probes),
        'endpoints': [{key: endpoint[key] for key in ('name', 'host', 'segment', 'kind', 'address')}
                      for endpoint in checked + list(gateway_of.values())],
        'probes': probes,
    }
