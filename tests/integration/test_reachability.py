"""The reachability module on this machine's kernel: real pings from a lab host, from "container" namespaces
and from a Docker container, concurrently, changing nothing.

Lab: a switch and two lab hosts h1, h2 (eth0 on the switch), each with a "container" namespace (c1, c2) on a
macvlan bridge link of its eth0, and no shim: a host and its own container cannot reach each other (the kernel
does not pass traffic between a macvlan parent and its children), everything else can. The module runs on h1
through the netns connection. Every address below is in the lab's own 172.28.230.0/24; nothing leaves the lab.
"""

from __future__ import annotations

import ipaddress

import pytest
from pyroute2 import IPRoute
from underlay_dev.testing.docker_tier import IMAGE, run_container
from underlay_dev.testing.harness import netlink_dump

MODULE = 'underlay.network.reachability'
H1, H2, C1, C2 = '172.28.230.1', '172.28.230.2', '172.28.230.11', '172.28.230.12'
H1_V6, H2_V6 = 'fd00:230::1', 'fd00:230::2'
NOBODY = '172.28.230.99'  # on the lab's subnet, but no one has it: no answer to ARP
IFA_F_NODAD = 0x02
NO_SOURCE = {'netns': None, 'container': None, 'docker_host': None}


def add_address(ns, ifname, cidr):
    iface = ipaddress.ip_interface(cidr)
    with IPRoute(netns=ns, flags=0) as ipr:
        ipr.addr('add', index=ipr.link_lookup(ifname=ifname)[0], address=str(iface.ip),
                 prefixlen=iface.network.prefixlen, **({'flags': IFA_F_NODAD} if iface.version == 6 else {}))


def add_container(lab, host, name, cidr):
    """A "container": a namespace whose eth0 is a macvlan bridge link of ``host``'s eth0 (raw pyroute2)."""
    ns = lab.add_namespace(name)
    with IPRoute(netns=host, flags=0) as ipr:
        ipr.link('add', ifname='mv-' + name, kind='macvlan', link=ipr.link_lookup(ifname='eth0')[0],
                 macvlan_mode='bridge')
        ipr.link('set', index=ipr.link_lookup(ifname='mv-' + name)[0], net_ns_fd=ns)
    with IPRoute(netns=ns, flags=0) as ipr:
        index = ipr.link_lookup(ifname='mv-' + name)[0]
        ipr.link('set', index=index, ifname='eth0', state='up')
    add_address(ns, 'eth0', cidr)
    return ns


@pytest.fixture
def fleet(lab):
    lab.up_switch()
    h1 = lab.add_host('h1', address=H1 + '/24')
    h2 = lab.add_host('h2', address=H2 + '/24')
    add_address(h1, 'eth0', H1_V6 + '/64')
    add_address(h2, 'eth0', H2_V6 + '/64')
    c1 = add_container(lab, h1, 'c1', C1 + '/24')
    c2 = add_container(lab, h2, 'c2', C2 + '/24')
    return {'h1': h1, 'h2': h2, 'c1': c1, 'c2': c2}


@pytest.fixture
def on_h1(ansible, fleet):
    def play(tasks, check=False):
        return ansible.play(tasks, hosts={fleet['h1']: {'ansible_connection': 'underlay.network.netns'}}, check=check)
    return play


def task(probes, **options):
    return {'name': 'probe', MODULE: dict(options, probes=probes), 'ignore_errors': True}


def durations(run):
    """Seconds each task took, as ansible-runner measured it."""
    return [e['event_data']['duration'] for e in run.runner.events
            if e.get('event') in ('runner_on_ok', 'runner_on_failed')]


def test_probes_from_the_host_and_its_namespaces_report_exactly_what_answered(fleet, on_h1):
    c1 = fleet['c1']
    probes = [
        {'name': 'h1 -> h2', 'target': H2, 'expect': 'reach'},
        {'name': 'h1 -> c2', 'target': C2, 'expect': 'reach'},
        {'name': 'h1 -> c1', 'target': C1, 'expect': 'isolated'},  # its own macvlan child, no shim
        {'name': 'c1 -> h2', 'source': {'netns': c1}, 'target': H2, 'expect': 'reach'},
        {'name': 'c1 -> h1', 'source': {'netns': c1}, 'target': H1, 'expect': 'isolated'},
        {'name': 'c1 -> c2', 'source': {'netns': c1}, 'target': C2},  # expect: any
        {'name': 'h1 -> nobody', 'target': NOBODY, 'expect': 'isolated'},
        {'name': 'h1 -> off the map', 'target': '10.255.255.1', 'expect': 'isolated'},  # no route at all
        {'name': 'h1 -> h2 (IPv6)', 'target': H2_V6, 'expect': 'reach'},
        {'name': 'wrong on purpose', 'source': {'netns': c1}, 'target': H1, 'expect': 'reach'},
    ]
    before = {name: netlink_dump(ns) for name, ns in fleet.items()}
    run, checked = on_h1([task(probes)]), on_h1([task(probes)], check=True)
    result = run.last
    assert not result.failed and not result.changed, result
    got = [(r['name'], r['source'], r['target'], r['reached'], r['expected'], r['ok']) for r in result['results']]
    in_c1 = {'netns': c1, 'container': None, 'docker_host': None}
    assert got == [
        ('h1 -> h2', NO_SOURCE, H2, True, 'reach', True),
        ('h1 -> c2', NO_SOURCE, C2, True, 'reach', True),
        ('h1 -> c1', NO_SOURCE, C1, False, 'isolated', True),
        ('c1 -> h2', in_c1, H2, True, 'reach', True),
        ('c1 -> h1', in_c1, H1, False, 'isolated', True),
        ('c1 -> c2', in_c1, C2, True, 'any', True),
        ('h1 -> nobody', NO_SOURCE, NOBODY, False, 'isolated', True),
        ('h1 -> off the map', NO_SOURCE, '10.255.255.1', False, 'isolated', True),
        ('h1 -> h2 (IPv6)', NO_SOURCE, H2_V6, True, 'reach', True),
        ('wrong on purpose', in_c1, H1, False, 'reach', False),
    ]
    details = {r['name']: r['detail'] for r in result['results']}
    assert details['h1 -> h2'].startswith('1 packets transmitted, 1 received') and 'rtt' in details['h1 -> h2']
    assert details['h1 -> nobody'].startswith('1 packets transmitted, 0 received')
    assert 'Network is unreachable' in details['h1 -> off the map']
    assert result['mismatches'] == 1
    assert result['summary'] == {'total': 10, 'reached': 5, 'not_reached': 5, 'not_run': 0, 'mismatches': 1}

    # Check mode runs the probes too (they only read), with the same outcome.
    assert not checked.last.failed and not checked.last.changed, checked.last
    again = [(r['name'], r['reached'], r['ok']) for r in checked.last['results']]
    assert again == [(name, reached, ok) for name, _source, _target, reached, _expected, ok in got]
    assert {name: netlink_dump(ns) for name, ns in fleet.items()} == before, 'a probe changed something'


def test_fail_on_mismatch_fails_naming_the_probes_and_still_returns_the_results(fleet, on_h1):
    probes = [{'name': 'h1 -> h2', 'target': H2, 'expect': 'reach'},
              {'name': 'h1 -> c1', 'target': C1, 'expect': 'reach'},
              {'name': 'h1 -> nobody', 'target': NOBODY, 'expect': 'any'}]
    result = on_h1([task(probes, fail_on_mismatch=True)]).last
    assert result.failed, result
    assert result['msg'] == '1 of 3 probes did not behave as expected: h1 -> c1 (%s): not reached, expected ' \
                            'reached' % C1
    assert [r['ok'] for r in result['results']] == [True, False, True] and result['mismatches'] == 1

    clean = on_h1([task(probes[:1], fail_on_mismatch=True)]).last
    assert not clean.failed and clean['mismatches'] == 0, clean


def test_probes_run_concurrently(fleet, on_h1):
    """20 unanswered probes of 1 s each take about 1 s, not 20; one at a time, 3 of them take 3 s."""
    silent = ['172.28.230.%d' % n for n in range(100, 120)]
    many = [{'name': 'h1 -> %s' % address, 'target': address, 'expect': 'isolated'} for address in silent]
    run = on_h1([task(many, timeout=1), task(many[:3], timeout=1, parallel=1)])
    together, one_by_one = run.results
    assert not together.failed and [r['ok'] for r in together['results']] == [True] * 20, together
    assert [r['reached'] for r in together['results']] == [False] * 20
    assert not one_by_one.failed, one_by_one
    parallel_time, serial_time = durations(run)
    assert parallel_time < 8, 'the 20 probes took %.1f s: they did not run concurrently' % parallel_time
    # ping's 1 s deadline can end a hair early: 3 waits measure 2.99 s, while running together would take ~1 s.
    assert serial_time >= 2.5, 'three 1 s probes one at a time took %.2f s: they did not wait' % serial_time


def test_bad_input_fails_naming_the_probe_and_the_fix(lab, fleet, on_h1):
    c1, missing = fleet['c1'], lab.ns('nope')
    good = {'name': 'fine', 'target': H2}
    cases = [
        ([good, {'name': 'typo', 'target': '172.28.230.300'}],
         "probes[1] (typo): target '172.28.230.300' is not an IP address; give the address alone"),
        ([{'name': 'cidr', 'target': H2 + '/24'}], "probes[0] (cidr): target '%s/24' is not an IP address" % H2),
        ([{'name': 'two places', 'target': H2, 'source': {'netns': c1, 'container': 'web'}}],
         "probes[0] (two places): source has both netns '%s' and container 'web'; a probe runs from one place: "
         'keep one' % c1),
        ([{'name': 'hope', 'target': H2, 'expect': 'reached'}],
         "probes[0] (hope): expect 'reached' is not one of reach, isolated, any"),
        ([{'target': H2}], 'probes[0]: name is required'),
        ([{'name': 'nowhere'}], 'probes[0] (nowhere): target is required'),
        ([good, {'name': 'ghost', 'target': H2, 'source': {'netns': missing}}],
         "probes[1] (ghost): netns '%s' does not exist on this host" % missing),
        ([{'name': 'engine', 'target': H2, 'source': {'docker_host': 'unix:///run/docker.sock'}}],
         'probes[0] (engine): source.docker_host goes with source.container only'),
        ([{'name': 'slash', 'target': H2, 'source': {'netns': 'a/b'}}], 'probes[0] (slash): source.netns'),
    ]
    run = on_h1([task(probes) for probes, _message in cases] + [task([good], count=0)])
    assert len(run.results) == len(cases) + 1, run.stdout
    for (_probes, message), result in zip(cases, run.results[:-1], strict=True):
        assert result.failed and message in result['msg'], (message, result.get('msg'))
        assert 'results' not in result, 'a probe ran although the input was bad'
    assert run.last.failed and run.last['msg'] == 'count is 0; it is the number of pings per probe: use 1 or more'


@pytest.mark.docker
def test_probes_from_a_docker_container_run_inside_it(docker_host):
    docker_host.add_address('trunk', '172.28.60.3/24')
    docker_host.add_peer('peer', '172.28.60.4/24')
    made, = docker_host.play(docker_host.network_task({'name': 'rn', 'parent': 'trunk', 'ipam_config': [
        {'subnet': '172.28.60.0/24', 'ip_range': '172.28.60.128/27'}]}))
    assert not made.failed, made
    run_container(docker_host, 'web', 'rn')
    docker_host.client.containers.run(IMAGE, ['true'], name='stopped', network='rn', detach=True).wait()
    url = docker_host.engine.url
    source = {'container': 'web', 'docker_host': url}
    probes = [{'name': 'web -> peer', 'source': source, 'target': '172.28.60.4', 'expect': 'reach'},
              {'name': 'web -> its host', 'source': source, 'target': '172.28.60.3', 'expect': 'isolated'},
              {'name': 'web -> nobody', 'source': source, 'target': '172.28.60.99', 'expect': 'isolated'}]
    result, ghost, stopped = docker_host.play(
        {MODULE: {'probes': probes}},
        {MODULE: {'probes': [{'name': 'ghost', 'source': {'container': 'nosuch', 'docker_host': url},
                              'target': '172.28.60.4'}]}},
        {MODULE: {'probes': [{'name': 'down', 'source': {'container': 'stopped', 'docker_host': url},
                              'target': '172.28.60.4'}]}},
    )
    assert not result.failed and not result.changed, result
    assert [(r['reached'], r['ok']) for r in result['results']] == [(True, True), (False, True), (False, True)]
    assert result['results'][0]['source'] == {'netns': None, 'container': 'web', 'docker_host': url}
    # busybox's ping, the container's own
    assert result['results'][0]['detail'].startswith('1 packets transmitted, 1 packets received, 0% packet loss; '
                                                     'round-trip'), result['results'][0]
    assert result['results'][2]['detail'].startswith('1 packets transmitted, 0 packets received')
    assert ghost.failed and "probes[0] (ghost): container 'nosuch' does not exist on the Docker engine at %s" \
        % url in ghost['msg'], ghost
    assert stopped.failed and "container 'stopped' on the Docker engine at %s is not running" % url \
        in stopped['msg'], stopped
