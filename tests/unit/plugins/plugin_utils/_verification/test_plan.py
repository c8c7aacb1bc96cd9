"""The verification_plan filter: full mode equals the whole matrix, sampled mode covers every host, segment,
shim and isolation boundary in a size linear in the endpoints, deterministically (pure)."""

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.underlay.network.plugins.filter.expected_reachability import expected_reachability
from ansible_collections.underlay.network.plugins.filter.verification import FilterModule
from ansible_collections.underlay.network.plugins.plugin_utils._verification.plan import FULL_LIMIT, Topology

verification_plan = FilterModule().filters()['verification_plan']


def fleet(hosts, segments=3, containers=1, shim_every=2, untagged_host_segments=()):
    """A generated fleet: on each segment, each host has its own address (a shim on every shim_every-th host)
    and ``containers`` containers."""
    endpoints = []
    for h in range(hosts):
        host = 'host%04d' % h
        for s in range(segments):
            segment = 'seg%d' % s
            if s not in untagged_host_segments:
                endpoints.append({'name': '%s/%s' % (host, segment), 'host': host, 'segment': segment,
                                  'address': '10.%d.%d.%d' % (s, h // 250, h % 250 + 1),
                                  'shim': h % shim_every == 0})
            for c in range(containers):
                endpoints.append({'name': '%s/%s-c%d' % (host, segment, c), 'host': host, 'segment': segment,
                                  'kind': 'container', 'netns': '%s-c%d' % (segment, c),
                                  'address': '10.%d.%d.%d' % (100 + s, h // 250, (h % 250) * 0 + 1 + c)})
    return endpoints


def pairs_of(plan):
    """Every probe of the plan as (from, to, address, expect)."""
    found = []
    for probes in plan['probes'].values():
        for probe in probes:
            source, target = probe['name'].split(' -> ')
            found.append((source, target, probe['target'], probe['expect']))
    return found


def assert_covers(endpoints, plan):
    """The pingmesh promise: every host probes and is probed, every segment has a probe between hosts,
    every shim path is probed both ways, every endpoint with peers on other hosts is one's target, and
    every isolation boundary (segment A -> segment B that the rule isolates) has a probe."""
    by_name = {e['name']: dict(e, kind=e.get('kind', 'host'), shim=e.get('shim', False)) for e in endpoints}
    checked = list(by_name.values())
    probes = pairs_of(plan)
    sources = {by_name[s]['host'] for s, _t, _a, _e in probes}
    targets = {by_name[t]['host'] for _s, t, _a, _e in probes}
    hosts = {e['host'] for e in checked}
    assert sources == hosts and targets == hosts

    cross = {(by_name[s]['segment']) for s, t, _a, e in probes
             if by_name[s]['host'] != by_name[t]['host'] and by_name[s]['segment'] == by_name[t]['segment']}
    assert cross == {e['segment'] for e in checked}, 'a segment without a probe between two hosts'

    pair_set = {(s, t) for s, t, _a, _e in probes}
    for shim in (e for e in checked if e['shim']):
        for container in (e for e in checked if e['kind'] == 'container' and e['host'] == shim['host']
                          and e['segment'] == shim['segment']):
            assert (shim['name'], container['name']) in pair_set and (container['name'], shim['name']) in pair_set

    hosts_on = {}
    for e in checked:
        hosts_on.setdefault(e['segment'], set()).add(e['host'])
    cross_targets = {t for s, t, _a, _e in probes if by_name[s]['host'] != by_name[t]['host']
                     and by_name[s]['segment'] == by_name[t]['segment']}
    for e in checked:
        if len(hosts_on[e['segment']]) > 1:
            assert e['name'] in cross_targets, '%s is nobody\'s target from another host' % e['name']

    topology = Topology([dict(e, source={}) for e in checked])
    segments = sorted(hosts_on)
    boundaries = {(e['segment'], other) for e in checked for other in topology.isolated_segments(e, segments)}
    probed = {(by_name[s]['segment'], by_name[t]['segment']) for s, t, _a, expect in probes if expect == 'isolated'
              and by_name[s]['segment'] != by_name[t]['segment']}
    assert boundaries <= probed, 'boundaries without a probe: %s' % sorted(boundaries - probed)


@pytest.mark.parametrize('hosts', [10, 50, 200, 1000])
def test_sampled_mode_covers_every_host_segment_shim_and_boundary(hosts):
    endpoints = fleet(hosts)
    plan = verification_plan(endpoints, mode='sampled')
    assert plan['mode'] == 'sampled'
    assert_covers(endpoints, plan)


def test_coverage_holds_with_many_segments_several_containers_and_hosts_off_some_segments():
    endpoints = fleet(40, segments=8, containers=3, shim_every=3, untagged_host_segments=(5, 6))
    assert_covers(endpoints, verification_plan(endpoints, mode='sampled', sample=1))


def test_a_segment_where_one_host_holds_almost_every_endpoint_is_still_covered():
    endpoints = [{'name': 'big/c%d' % n, 'host': 'big', 'segment': 'apps', 'kind': 'container',
                  'address': '10.0.0.%d' % (n + 10)} for n in range(60)]
    endpoints += [{'name': 'small/apps', 'host': 'small', 'segment': 'apps', 'address': '10.0.0.2'},
                  {'name': 'big/apps', 'host': 'big', 'segment': 'apps', 'address': '10.0.0.3'}]
    assert_covers(endpoints, verification_plan(endpoints, mode='sampled', sample=2))


def test_sampled_size_is_linear_in_the_endpoints():
    """Probes per endpoint stay flat from 10 to 1,000 hosts (the whole matrix would grow 100-fold)."""
    per_endpoint = {}
    for hosts in (10, 100, 1000):
        endpoints = fleet(hosts)
        plan = verification_plan(endpoints, mode='sampled')
        assert plan['counts']['probes'] == len(pairs_of(plan))
        assert plan['counts']['pairs'] == len(endpoints) * (len(endpoints) - 1)
        per_endpoint[hosts] = plan['counts']['probes'] / len(endpoints)
    # own host: 5 others; ring: 3; isolation: 1 and the fix-ups
    assert per_endpoint[1000] <= 1.1 * per_endpoint[10]
    assert per_endpoint[1000] <= 10


def test_full_mode_is_the_whole_matrix_pair_for_pair():
    endpoints = fleet(4)
    overrides = [{'from': 'host0001/*', 'to': 'host0002/seg1', 'expect': 'any'}]
    plan = verification_plan(endpoints, overrides, mode='full')
    matrix = expected_reachability(endpoints, overrides)
    assert sorted(pairs_of(plan)) == sorted((r['from'], r['to'], r['address'], r['expect']) for r in matrix)
    assert plan['counts']['probes'] == plan['counts']['pairs'] == len(matrix)


def test_auto_is_full_up_to_the_documented_size_and_sampled_above():
    small = fleet(FULL_LIMIT // 6)
    assert len(small) <= FULL_LIMIT
    assert verification_plan(small)['mode'] == 'full'
    large = fleet(FULL_LIMIT // 6 + 1)
    assert len(large) > FULL_LIMIT
    assert verification_plan(large)['mode'] == 'sampled'


def test_each_host_gets_only_the_probes_from_its_own_endpoints_in_the_module_shape():
    endpoints = fleet(20)
    plan = verification_plan(endpoints, mode='sampled')
    host_of = {e['name']: e['host'] for e in endpoints}
    for host, probes in plan['probes'].items():
        for probe in probes:
            assert set(probe) == {'name', 'target', 'expect', 'source'}
            assert host_of[probe['name'].split(' -> ')[0]] == host
            assert set(probe['source']) == {'netns', 'container', 'docker_host'}
    netns_probe = next(p for p in plan['probes']['host0003'] if p['name'].startswith('host0003/seg0-c0 -> '))
    assert netns_probe['source'] == {'netns': 'seg0-c0', 'container': None, 'docker_host': None}


def test_the_sample_is_deterministic_independent_of_input_order_and_rotates_with_a_seed():
    endpoints = fleet(30)
    first = verification_plan(endpoints, mode='sampled')
    assert verification_plan(list(reversed(endpoints)), mode='sampled')['seed'] == first['seed']
    assert sorted(pairs_of(verification_plan(list(reversed(endpoints)), mode='sampled'))) == sorted(pairs_of(first))
    rotated = verification_plan(endpoints, mode='sampled', seed='monday')
    assert rotated['seed'] == 'monday'
    assert set(pairs_of(rotated)) != set(pairs_of(first))
    assert_covers(endpoints, rotated)
    assert pairs_of(verification_plan(endpoints, mode='sampled', seed='monday')) == pairs_of(rotated)


def test_an_exact_override_is_always_probed_and_patterns_apply_to_the_sample():
    endpoints = fleet(30)
    overrides = [{'from': 'host0001/seg0', 'to': 'host0029/seg2-c0', 'expect': 'any'},
                 {'from': '*-c0', 'to': 'host0002/*', 'expect': 'any'}]
    plan = verification_plan(endpoints, overrides, mode='sampled')
    probes = {(s, t): e for s, t, _a, e in pairs_of(plan)}
    assert probes[('host0001/seg0', 'host0029/seg2-c0')] == 'any'
    matched = [e for (s, t), e in probes.items() if s.endswith('-c0') and t.startswith('host0002/')]
    assert matched and set(matched) == {'any'}


def test_gateways_are_probed_from_every_endpoint_of_their_segment():
    endpoints = fleet(12)
    plan = verification_plan(endpoints, mode='sampled', gateways=[{'segment': 'seg1', 'address': '10.1.0.254/24'}])
    to_gateway = [(s, a, e) for s, t, a, e in pairs_of(plan) if t == 'gateway/seg1']
    assert sorted(s for s, _a, _e in to_gateway) == sorted(e['name'] for e in endpoints if e['segment'] == 'seg1')
    assert {(a, e) for _s, a, e in to_gateway} == {('10.1.0.254', 'reach')}
    assert {'name': 'gateway/seg1', 'host': None, 'segment': 'seg1', 'kind': 'gateway',
            'address': '10.1.0.254'} in plan['endpoints']


@pytest.mark.parametrize('kwargs, message', [
    ({'mode': 'most'}, "mode 'most' is not one of auto, full, sampled"),
    ({'sample': 0}, 'sample must be a whole number of at least 1'),
    ({'sample': True}, 'sample must be a whole number'),
    ({'seed': ['x']}, 'seed must be a string or a number'),
    ({'gateways': [{'segment': 'nope', 'address': '10.0.0.1'}]}, "gateway 0: segment 'nope' has no endpoints"),
    ({'gateways': [{'segment': 'seg0', 'address': 'router'}]}, "gateway 0 \\(seg0\\): address 'router' is not"),
    ({'gateways': [{'segment': 'seg0', 'address': '10.0.0.1', 'via': 1}]}, 'gateway 0: unknown key via'),
    ({'overrides': [{'from': 'host0000/seg0', 'to': 'host0000/seg0', 'expect': 'any'}]},
     r'override 0 \(host0000/seg0 -> host0000/seg0\) matches no pair'),
    ({'overrides': [{'from': 'hots*', 'to': '*', 'expect': 'any'}]}, r'override 0 \(hots\* -> \*\) matches no pair'),
])
def test_bad_settings_fail_naming_the_setting(kwargs, message):
    with pytest.raises(AnsibleFilterError, match='^verification_plan: ' + message):
        verification_plan(fleet(2), **kwargs)


def test_a_name_with_the_probe_separator_is_refused():
    endpoints = fleet(2)
    endpoints[0]['name'] = 'a -> b'
    with pytest.raises(AnsibleFilterError, match=r"endpoint 0 \(a -> b\): the name contains ' -> '"):
        verification_plan(endpoints)


def with_vms(endpoints):
    """One VM per host and segment next to each container (a VM is probed, never probes)."""
    vms = [dict(e, name=e['name'] + '-vm', kind='vm', netns=None, address=e['address'].replace('10.1', '10.2', 1))
           for e in endpoints if e.get('kind') == 'container']
    return endpoints + vms


@pytest.mark.parametrize('hosts', [3, 200])
def test_vms_are_targets_never_sources_and_each_is_probed_from_another_host(hosts):
    endpoints = with_vms(fleet(hosts))
    plan = verification_plan(endpoints)
    kind = {e['name']: e.get('kind', 'host') for e in endpoints}
    host = {e['name']: e['host'] for e in endpoints}
    probes = pairs_of(plan)
    assert not [p for p in probes if kind[p[0]] == 'vm']
    targeted = {t for s, t, _a, _e in probes if host[s] != host[t]}
    assert all(e['name'] in targeted for e in endpoints if e.get('kind') == 'vm')
    sources = sum(1 for e in endpoints if kind[e['name']] != 'vm')
    assert plan['counts']['pairs'] == sources * (len(endpoints) - 1)
    assert_covers([e for e in endpoints if e.get('kind') != 'vm'],
                  dict(plan, probes={h: [p for p in ps if kind[p['name'].split(' -> ')[1]] != 'vm']
                                     for h, ps in plan['probes'].items()}))
