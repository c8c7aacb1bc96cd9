"""playbooks/site.yml, the main job, on lab hosts of this machine's kernel.

This kernel has no 802.1Q VLAN or ipvlan, so the fleet here has one untagged
macvlan segment on the hosts' trunk (their eth0) and network namespace
workloads; `make demo` runs the same playbook with VLANs, ipvlan and Docker
in the kernel box (the molecule scenarios `vlan` and `docker` test those
roles there). Lab hosts are namespaces on the lab switch, each with a default
route through the lab router, as a real fleet host has. Everything is read
back with raw pyroute2 or through the playbook's own verification (real pings).
"""

from __future__ import annotations

import concurrent.futures
import copy

import pytest
import yaml
from pyroute2 import IPRoute, netns
from underlay_dev.testing.harness import ROOT, convergence_record, netlink_dump, read_link

SITE = ROOT / 'playbooks' / 'site.yml'
ROUTER = '172.28.0.1'
LAN = {'name': 'lan', 'subnet': '172.28.40.0/24', 'gateway': '172.28.40.1', 'container_pool': '172.28.40.128/25'}
FLEET = {'trunk': 'eth0', 'segments': [LAN]}
DB_OVER_LAN = dict(LAN, name='db', vlan_id=20, subnet='172.28.40.0/25', container_pool='172.28.40.64/26', gateway=None)
OVERLAPPING = {'trunk': 'eth0', 'segments': [LAN, DB_OVER_LAN]}
# Segments around the lab's uplink network 172.28.0.0/24 (router .1, hosts .10 to .12).
AROUND_ROUTER = {'trunk': 'eth0', 'segments': [dict(LAN, subnet='172.28.0.0/24', gateway='172.28.0.254',
                                                    container_pool='172.28.0.0/25')]}
AROUND_ROUTER_TAGGED = {'trunk': 'eth0', 'segments': [dict(LAN, vlan_id=10, subnet='172.28.0.0/24', gateway=None,
                                                           container_pool='172.28.0.128/25')]}


@pytest.fixture
def fleet_lab(lab):
    """A lab switch with the lab router's address, and lab hosts h1, h2 (and h0 on demand)."""
    lab.up_switch()
    with IPRoute(netns=lab.switch, flags=0) as switch:
        switch.addr('add', index=switch.link_lookup(ifname='br0')[0], address=ROUTER, prefixlen=24)

    def add_host(name, number):
        namespace = lab.add_host(name, address='172.28.0.%d/24' % number)
        with IPRoute(netns=namespace, flags=0) as ipr:
            ipr.route('add', dst='default', gateway=ROUTER)
        return namespace

    lab.fleet_host = add_host
    for number, name in ((11, 'h1'), (12, 'h2')):
        add_host(name, number)
    return lab


def inventory(lab, fleet=None, **host_vars):
    hosts = {namespace: dict({'underlay_workloads': 'netns'}, **host_vars.get(name, {}))
             for name, namespace in sorted(lab.hosts.items())}
    # underlay_persistence none: lab hosts share this machine's /etc, which must stay untouched.
    # verify_report_path '': no report page in the repository's playbooks/ (the converge test writes one).
    return {'all': {'vars': {'ansible_connection': 'underlay.network.netns', 'underlay_fleet': fleet or FLEET,
                             'underlay_persistence': 'none', 'verify_report_path': ''},
                    'children': {'underlay_hosts': {'hosts': hosts}}}}


def recap(run, key='changed'):
    return {host: run.runner.stats[key].get(host, 0) for host in run.runner.stats['ok']}


# The tasks that converge a host, and the one that records it: a run of the same plan on a host found as the last
# complete run left it skips them all.
CONVERGE_TASKS = {
    'Converge the VLAN sub-interfaces of the trunk',
    'Converge one shim per segment, and remove the shims the plan no longer has',
    "Converge the lab's namespaces and the links moved and renamed into them",
    'Remove the VLAN sub-interfaces the plan no longer has',
    'Record that the host is converged to its plan, for the next run to find',
}


def skipped_converge(run):
    """The hosts on which every converge task was skipped (and each ran on the others)."""
    events = {}
    for result in run.results:
        if result['_task'] in CONVERGE_TASKS:
            events.setdefault(result['_host'], []).append(result['_event'])
    assert all(len(found) == len(CONVERGE_TASKS) for found in events.values()), events
    return {host for host, found in events.items() if set(found) == {'runner_on_skipped'}}


def shim_address(namespace):
    return read_link(namespace, 'shim-lan')['addresses']


# What the browser shows of the report page: the grid's cells, the plan's rows, the text, the red cells.
SHOWN = r'''(() => ({
    grid: [...document.querySelectorAll('#grid td.cell-host-segment')].map(td => ({
        cls: td.className, bg: getComputedStyle(td).backgroundColor, text: td.innerText.trim()})),
    planRows: [...document.querySelectorAll('#plan tbody tr')].map(tr => tr.innerText.split('\t')),
    red: [...document.querySelectorAll('td')].filter(
        td => getComputedStyle(td).backgroundColor === 'rgb(214, 40, 40)').length,
    text: document.body.innerText,
}))()'''


def test_site_converges_verifies_and_reruns_without_change(ansible, fleet_lab, tmp_path, browser):
    h1, h2 = fleet_lab.ns('h1'), fleet_lab.ns('h2')
    report = tmp_path / 'report.html'
    first = ansible.playbook(SITE, inventory(fleet_lab), extra_vars={'verify_report_path': str(report)})
    assert first.status == 'successful', first.stdout
    assert 'All 12 probes behaved as expected.' in first.stdout
    # The console: a headline and one line per segment block, not one per pair.
    assert '4 endpoints, 12 pairs (full): 12 probes, 0 mismatches.' in first.stdout
    # The page, in a real browser: one green cell per host on the one segment, no red, the plan's two rows.
    browser.navigate(report.as_uri())
    shown = browser.evaluate(SHOWN)
    assert browser.requests == [report.as_uri()]
    assert [(cell['bg'], cell['text']) for cell in shown['grid']] == [('rgb(168, 230, 163)', '6/6')] * 2
    assert shown['red'] == 0 and 'No mismatches: every probe as expected.' in shown['text']
    assert [row[:3] for row in shown['planRows']] == [[h1, '0', 'lan'], [h2, '1', 'lan']]
    assert [row[-1] for row in shown['planRows']] == ['172.28.40.127/32', '172.28.40.126/32']
    # Index by name order: h1 gets the top infrastructure address and the first range.
    assert shim_address(h1) == ['172.28.40.127/32'] and shim_address(h2) == ['172.28.40.126/32']
    shim = read_link(h1, 'shim-lan')
    assert shim['kind'] == 'macvlan' and shim['alias'] == 'underlay.network/shim'
    # No other address of h1 is on the LAN: the shim carries the whole segment.
    assert shim['routes'] == [('172.28.40.0', 24, None)]
    workload = read_link(h1 + '-lan-1', 'eth0')
    assert workload['addresses'] == ['172.28.40.143/24'] and workload['alias'] == 'underlay.network/netns_lab'

    again = ansible.playbook(SITE, inventory(fleet_lab))
    assert again.status == 'successful', again.stdout
    assert recap(again) == {h1: 0, h2: 0}


def test_a_new_host_leaves_the_deployed_ones_where_they_are(ansible, fleet_lab):
    h1, h2 = fleet_lab.ns('h1'), fleet_lab.ns('h2')
    assert ansible.playbook(SITE, inventory(fleet_lab)).status == 'successful'
    h0 = fleet_lab.fleet_host('h0', 10)  # sorts first: by name alone it would take index 0
    run = ansible.playbook(SITE, inventory(fleet_lab))
    assert run.status == 'successful', run.stdout
    assert recap(run)[h1] == 0 and recap(run)[h2] == 0
    assert shim_address(h1) == ['172.28.40.127/32'] and shim_address(h2) == ['172.28.40.126/32']
    assert shim_address(h0) == ['172.28.40.125/32']
    assert 'All 30 probes behaved as expected.' in run.stdout


@pytest.mark.parametrize('fleet, host_vars, message', [
    ({'trunk': 'eth0', 'segments': [dict(LAN, vlanid=10)]}, {},
     "underlay_fleet segment 'lan': unknown key 'vlanid' (did you mean 'vlan_id'?)"),
    ({'trunk': 'eth0', 'segments': [dict(LAN, vlan_id=4095)]}, {}, 'vlan_id 4095 is out of range'),
    (OVERLAPPING, {}, "underlay_fleet segments 'lan' and 'db' overlap"),
    ({'trunk': 'eth0', 'segments': [dict(LAN, container_pool='172.28.40.128/27', host_range_size=32)]},
     {'h2': {'underlay_host_index': 1}}, "segment 'lan': host"),
    # The lab router, the hosts' default gateway, would be reached through eth0.10 (the plan fails before any
    # VLAN is made, so this runs on a kernel without VLANs too) ...
    (AROUND_ROUTER_TAGGED, {}, "its host address 172.28.0.2/24 puts subnet 172.28.0.0/24 on eth0.10, which holds "
                               '172.28.0.1 (the default gateway via eth0)'),
    # ... or through h1's shim, whose range holds it.
    (AROUND_ROUTER, {}, 'its shim shim-lan routes 172.28.0.0/28, which holds 172.28.0.1 (the default gateway via '
                        'eth0)'),
])
def test_a_bad_fleet_fails_before_any_host_is_touched(ansible, fleet_lab, fleet, host_vars, message):
    hosts = sorted(fleet_lab.hosts.values())
    before = {namespace: netlink_dump(namespace) for namespace in hosts}
    run = ansible.playbook(SITE, inventory(fleet_lab, fleet, **host_vars))
    assert run.status == 'failed', run.stdout
    assert message in run.stdout
    assert {namespace: netlink_dump(namespace) for namespace in hosts} == before
    assert all(recap(run)[namespace] == 0 for namespace in hosts)


def test_underlay_force_lets_a_host_through_the_uplink_guard(ansible, fleet_lab):
    # The seed's own set-up: containers on the hosts' LAN. The hosts are on it already (eth0), so their shims
    # route only their own ranges; h1's range holds the router, which only underlay_force allows.
    run = ansible.playbook(SITE, inventory(fleet_lab, AROUND_ROUTER, h1={'underlay_force': True}))
    assert run.status == 'successful', run.stdout
    assert read_link(fleet_lab.ns('h1'), 'shim-lan')['routes'] == [('172.28.0.0', 28, None)]
    assert read_link(fleet_lab.ns('h2'), 'shim-lan')['routes'] == [('172.28.0.16', 28, None)]


def test_a_segment_taken_out_of_the_plan_goes_with_its_shim(ansible, fleet_lab):
    h1 = fleet_lab.ns('h1')
    assert ansible.playbook(SITE, inventory(fleet_lab)).status == 'successful'
    assert read_link(h1, 'shim-lan') is not None
    lan2 = dict(LAN, name='lan2', subnet='172.28.41.0/24', gateway='172.28.41.1', container_pool='172.28.41.128/25')
    run = ansible.playbook(SITE, inventory(fleet_lab, {'trunk': 'eth0', 'segments': [lan2]}))
    assert run.status == 'successful', run.stdout
    assert read_link(h1, 'shim-lan') is None and read_link(h1, 'shim-lan2')['addresses'] == ['172.28.41.127/32']
    assert read_link(h1 + '-lan2-1', 'eth0')['addresses'] == ['172.28.41.143/24']


def play_names(playbook):
    """The plays of ``playbook`` in the order they run, those of the playbooks it imports included."""
    names = []
    for entry in yaml.safe_load(playbook.read_text()):
        imported = entry.get('ansible.builtin.import_playbook')
        names += play_names(playbook.parent / imported) if imported else [entry['name']]
    return names


def test_site_as_an_awx_job_successful_with_the_events_awx_records(ansible, fleet_lab):
    # AWX runs a job template through ansible-runner and judges it by the runner's status and the job events.
    hosts = sorted(fleet_lab.hosts.values())
    run = ansible.playbook(SITE, inventory(fleet_lab))
    assert run.runner.status == 'successful' and run.runner.rc == 0, run.stdout
    events = list(run.runner.events)
    kinds = [event['event'] for event in events]
    assert kinds[0] == 'playbook_on_start' and kinds.count('playbook_on_start') == 1
    plays = play_names(SITE)
    assert [e['event_data']['play'] for e in events if e['event'] == 'playbook_on_play_start'] == plays
    assert 'runner_on_failed' not in kinds and 'runner_on_unreachable' not in kinds
    # The verification's assert, once for the fleet: every probe behaved as the plan expects.
    verified = [e['event_data'] for e in events if e['event'] == 'runner_on_ok'
                and e['event_data'].get('task') == 'Fail unless every probe behaved as expected']
    assert len(verified) == 1 and verified[0]['task_action'] == 'ansible.builtin.assert'
    assert verified[0]['res']['msg'] == 'All 12 probes behaved as expected.'
    # The final event: the play recap, per host (what AWX shows as the job's host summaries).
    stats = [e for e in events if e['event'] == 'playbook_on_stats']
    assert len(stats) == 1 and kinds.index('playbook_on_stats') > kinds.index('playbook_on_play_start')
    recap_data = stats[0]['event_data']
    assert sorted(recap_data['ok']) == hosts and sorted(recap_data['changed']) == hosts
    assert not recap_data['failures'] and not recap_data['dark']
    assert all(recap_data['ok'][host] > 0 and recap_data['changed'][host] > 0 for host in hosts)


def test_the_segments_to_deploy_narrow_every_host(ansible, fleet_lab):
    # An AWX survey's answer, as an extra variable: the hosts carry exactly the chosen segments.
    h1, h2 = fleet_lab.ns('h1'), fleet_lab.ns('h2')
    two = {'trunk': 'eth0', 'segments': [LAN, dict(LAN, name='lan2', vlan_id=20, subnet='172.28.41.0/24',
                                                   gateway='172.28.41.1', container_pool='172.28.41.128/25')]}
    # lan2 is tagged and this kernel has no VLANs: deploying only lan keeps the run on what the kernel has.
    run = ansible.playbook(SITE, inventory(fleet_lab, two, h2={'underlay_workloads': 'none'}),
                           extra_vars={'underlay_deploy_segments': ['lan']})
    assert run.status == 'successful', run.stdout
    assert read_link(h1, 'shim-lan') is not None and read_link(h2, 'shim-lan') is not None
    assert read_link(h1, 'eth0.20') is None
    none = ansible.playbook(SITE, inventory(fleet_lab, two), extra_vars={'underlay_deploy_segments': []})
    assert none.status == 'successful', none.stdout
    assert read_link(h1, 'shim-lan') is None and read_link(h2, 'shim-lan') is None


def addresses_on_the_lan(lab):
    """Every host's shim address and its workload's address: what must never be shared between hosts."""
    taken = {}
    for name, namespace in sorted(lab.hosts.items()):
        shim = read_link(namespace, 'shim-lan')
        workload = read_link(namespace + '-lan-1', 'eth0')
        taken[name] = (shim and shim['addresses'], workload and workload['addresses'])
    return taken


def host_state(namespace):
    """A host's own links, addresses and routes (the lab's list of namespaces grows with new hosts)."""
    return {key: value for key, value in netlink_dump(namespace).items() if key != 'namespaces'}


def test_a_limited_run_plans_over_the_whole_group(ansible, fleet_lab):
    # An AWX job with a Limit: only the new host h0 is in the play. It sorts first, so a planner that sees
    # only the play would give it index 0, the deployed h1's addresses and range.
    h1, h2 = fleet_lab.ns('h1'), fleet_lab.ns('h2')
    assert ansible.playbook(SITE, inventory(fleet_lab)).status == 'successful'
    before = {namespace: host_state(namespace) for namespace in (h1, h2)}
    h0 = fleet_lab.fleet_host('h0', 10)
    run = ansible.playbook(SITE, inventory(fleet_lab), limit=h0)
    assert run.status == 'successful', run.stdout
    assert shim_address(h0) == ['172.28.40.125/32']
    assert read_link(h0 + '-lan-1', 'eth0')['addresses'] == ['172.28.40.175/24']  # the top of range 2, .160/28
    assert {namespace: host_state(namespace) for namespace in (h1, h2)} == before


def test_a_limited_run_with_a_new_host_fails_when_a_host_outside_it_cannot_be_read(ansible, fleet_lab):
    assert ansible.playbook(SITE, inventory(fleet_lab)).status == 'successful'
    h0 = fleet_lab.fleet_host('h0', 10)
    description = inventory(fleet_lab)
    # h3 is in the group but cannot be reached (its namespace does not exist): where it is deployed is unknown.
    description['all']['children']['underlay_hosts']['hosts'][fleet_lab.prefix + 'h3'] = {}
    before = host_state(h0)
    run = ansible.playbook(SITE, description, limit=h0)
    assert run.status == 'failed', run.stdout
    assert ("host '%s' takes a new index, but host '%sh3' (unreachable: netns connection: network namespace"
            % (h0, fleet_lab.prefix)) in run.stdout
    assert ('could not be read, so which indexes are deployed there is unknown and a new index could be taken '
            'already; run with every host of the group included (the Limit), or give each new host an index no '
            'other host has with underlay_host_index') in run.stdout
    assert host_state(h0) == before
    # Pinned to an index of its own, the new host goes ahead without it.
    description['all']['children']['underlay_hosts']['hosts'][h0]['underlay_host_index'] = 5
    pinned = ansible.playbook(SITE, description, limit=h0)
    assert pinned.status == 'successful', pinned.stdout
    assert shim_address(h0) == ['172.28.40.122/32']


def test_two_job_slices_started_at_once_never_hand_out_one_index(ansible, fleet_lab):
    # AWX job slicing: one job template split into slices, running at the same time over parts of the fleet.
    assert ansible.playbook(SITE, inventory(fleet_lab)).status == 'successful'
    h0, h3 = fleet_lab.fleet_host('h0', 10), fleet_lab.fleet_host('h3', 13)
    description = inventory(fleet_lab)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(lambda limit: ansible.playbook(SITE, copy.deepcopy(description), limit=limit),
                             (h0, h3)))
    assert [run.status for run in runs] == ['successful', 'successful'], runs[0].stdout + runs[1].stdout
    taken = addresses_on_the_lan(fleet_lab)
    shims = [shim for shim, _workload in taken.values()]
    workloads = [workload for _shim, workload in taken.values()]
    assert None not in shims and None not in workloads
    assert len({tuple(shim) for shim in shims}) == 4 and len({tuple(address) for address in workloads}) == 4
    assert taken['h0'][0] == ['172.28.40.125/32'] and taken['h3'][0] == ['172.28.40.124/32']


@pytest.fixture
def lan_with_router_at_254(lab):
    """The lab's uplink LAN 172.28.0.0/24 with its router at .254 (the hosts' default gateway), h1 at .11 and
    h2 at .253: a LAN where the collection must hand out neither address."""
    lab.up_switch()
    with IPRoute(netns=lab.switch, flags=0) as switch:
        switch.addr('add', index=switch.link_lookup(ifname='br0')[0], address='172.28.0.254', prefixlen=24)
    for name, number in (('h1', 11), ('h2', 253)):
        namespace = lab.add_host(name, address='172.28.0.%d/24' % number)
        with IPRoute(netns=namespace, flags=0) as ipr:
            ipr.route('add', dst='default', gateway='172.28.0.254')
    return lab


def test_shims_never_take_the_router_or_another_hosts_address(ansible, lan_with_router_at_254):
    lab = lan_with_router_at_254
    # Untagged, no gateway declared: the highest addresses outside the pool are the router's and h2's.
    lan = {'name': 'lan', 'subnet': '172.28.0.0/24', 'container_pool': '172.28.0.128/26'}
    run = ansible.playbook(SITE, inventory(lab, {'trunk': 'eth0', 'segments': [lan]}))
    assert run.status == 'successful', run.stdout
    assert shim_address(lab.ns('h1')) == ['172.28.0.252/32'] and shim_address(lab.ns('h2')) == ['172.28.0.251/32']
    assert 'All 12 probes behaved as expected.' in run.stdout


def files_under(root):
    return {str(path.relative_to(root)): path.read_text() for path in sorted(root.rglob('*')) if path.is_file()}


def changed_tasks(run):
    """(host, task) of every task result that reported a change."""
    return sorted({(result['_host'], result['_task']) for result in run.results if result.changed})


def test_a_rerun_of_the_same_plan_converges_only_the_hosts_not_as_the_last_run_left_them(ansible, fleet_lab):
    h1, h2 = fleet_lab.ns('h1'), fleet_lab.ns('h2')
    first = ansible.playbook(SITE, inventory(fleet_lab))
    assert first.status == 'successful', first.stdout
    assert skipped_converge(first) == set() and convergence_record(h1) and convergence_record(h2)

    again = ansible.playbook(SITE, inventory(fleet_lab))
    assert again.status == 'successful', again.stdout
    assert skipped_converge(again) == {h1, h2} and recap(again) == {h1: 0, h2: 0}
    assert 'All 12 probes behaved as expected.' in again.stdout, 'the verification runs all the same'

    # h1's shim deleted by hand, h2's workload namespace too: both converge again and are put right.
    workload = read_link(h2 + '-lan-1', 'eth0')['addresses']
    with IPRoute(netns=h1, flags=0) as ipr:
        ipr.link('del', index=ipr.link_lookup(ifname='shim-lan')[0])
    netns.remove(h2 + '-lan-1')
    mended = ansible.playbook(SITE, inventory(fleet_lab))
    assert mended.status == 'successful', mended.stdout
    assert skipped_converge(mended) == set()
    assert shim_address(h1) == ['172.28.40.127/32']
    assert read_link(h2 + '-lan-1', 'eth0')['addresses'] == workload

    # h1's record wiped (as a reboot clears /run): h1 converges, with nothing to change; h2 skips.
    wipe = ansible.playbook('[{hosts: all, gather_facts: false, tasks: [{underlay.network.convergence_record: '
                            '{state: absent}}]}]', inventory(fleet_lab), limit=h1)
    assert wipe.status == 'successful' and convergence_record(h1) is None, wipe.stdout
    rebooted = ansible.playbook(SITE, inventory(fleet_lab))
    assert rebooted.status == 'successful', rebooted.stdout
    assert skipped_converge(rebooted) == {h2} and recap(rebooted) == {h1: 0, h2: 0}

    # underlay_reconverge converges every host all the same; a changed plan converges every host it changes.
    forced = ansible.playbook(SITE, inventory(fleet_lab), extra_vars={'underlay_reconverge': True})
    assert forced.status == 'successful', forced.stdout
    assert skipped_converge(forced) == set() and recap(forced) == {h1: 0, h2: 0}
    lan2 = dict(LAN, name='lan2', subnet='172.28.41.0/24', gateway='172.28.41.1', container_pool='172.28.41.128/25')
    moved = ansible.playbook(SITE, inventory(fleet_lab, {'trunk': 'eth0', 'segments': [lan2]}))
    assert moved.status == 'successful', moved.stdout
    assert skipped_converge(moved) == set()
    assert read_link(h1, 'shim-lan') is None and read_link(h1, 'shim-lan2')['addresses'] == ['172.28.41.127/32']


def test_persistence_never_overwrites_a_file_it_did_not_write(ansible, fleet_lab, tmp_path):
    # An admin's own /etc/network/interfaces.d/underlay (under a root of the test's own): refused, left as it was.
    description = inventory(fleet_lab)
    description['all']['vars']['underlay_persistence'] = 'ifupdown'
    root = {'persist_root': str(tmp_path / 'root')}
    admins = tmp_path / 'root' / 'etc' / 'network' / 'interfaces.d' / 'underlay'
    admins.parent.mkdir(parents=True)
    admins.write_text('auto eth9\niface eth9 inet dhcp\n')
    refused = ansible.playbook(SITE, copy.deepcopy(description), extra_vars=root)
    assert refused.status == 'failed', refused.stdout
    assert '%s already exists without the header' % admins in refused.stdout, refused.stdout
    assert admins.read_text() == 'auto eth9\niface eth9 inet dhcp\n'
    assert all(task != 'Write the files' for _host, task in changed_tasks(refused)), 'a file was written'

    admins.unlink()
    written = ansible.playbook(SITE, copy.deepcopy(description), extra_vars=root)
    assert written.status == 'successful', written.stdout
    assert admins.read_text().startswith('# Managed by underlay.network (role persist)')


def test_a_check_job_with_show_changes_changes_nothing_and_predicts_the_run(ansible, fleet_lab, tmp_path):
    # An AWX Check job with Show Changes, with persistence on (auto, as on a real fleet; written under a root of
    # the test's own): it runs green, unconverged and converged, and touches neither links nor files.
    description = inventory(fleet_lab)
    description['all']['vars']['underlay_persistence'] = 'auto'
    persist_root = tmp_path / 'root'
    persist_root.mkdir()
    root = {'persist_root': str(persist_root)}
    hosts = sorted(fleet_lab.hosts.values())

    def everything():
        return {namespace: netlink_dump(namespace) for namespace in hosts}, files_under(persist_root)

    before = everything()
    check = ansible.playbook(SITE, copy.deepcopy(description), check=True, diff=True, extra_vars=root)
    assert check.status == 'successful', check.stdout
    assert everything() == before, 'a check run changed something'
    assert [convergence_record(namespace) for namespace in hosts] == [None, None], 'a check run wrote a record'
    predicted = changed_tasks(check)
    assert predicted, 'a check run on an unconverged lab must report what it would change'

    run = ansible.playbook(SITE, copy.deepcopy(description), extra_vars=root)
    assert run.status == 'successful', run.stdout
    # What the check run said would change is what the run changed, persistence included.
    assert predicted == changed_tasks(run)
    converged = everything()

    again = ansible.playbook(SITE, copy.deepcopy(description), check=True, diff=True, extra_vars=root)
    assert again.status == 'successful', again.stdout
    assert everything() == converged
    assert recap(again) == {namespace: 0 for namespace in hosts}, changed_tasks(again)
    assert skipped_converge(again) == set(hosts), 'a check run of a converged fleet needs no converge either'


def test_an_interface_the_plan_names_but_the_host_has_of_its_own_is_never_taken_over(ansible, fleet_lab):
    # The admin made shim-lan on h1 by hand (on this kernel the analogue of an eth0.100 the admin has): it carries
    # an address and a route of theirs. The plan would name it; it must refuse before any host is touched.
    h1, h2 = fleet_lab.ns('h1'), fleet_lab.ns('h2')
    with IPRoute(netns=h1, flags=0) as ipr:
        ipr.link('add', ifname='shim-lan', kind='macvlan', link=ipr.link_lookup(ifname='eth0')[0],
                 macvlan_mode='bridge')
        index = ipr.link_lookup(ifname='shim-lan')[0]
        ipr.link('set', index=index, state='up')
        ipr.addr('add', index=index, address='10.77.0.5', prefixlen=24)
        ipr.route('add', dst='10.78.0.0/16', gateway='10.77.0.1', oif=index)
    before = {namespace: host_state(namespace) for namespace in (h1, h2)}
    run = ansible.playbook(SITE, inventory(fleet_lab))
    assert run.status == 'failed', run.stdout
    assert ("host '%s', segment 'lan': the shim shim-lan exists already and this collection did not make it (it "
            'carries 10.77.0.5/24 and the route to 10.78.0.0/16 via 10.77.0.1); the plan would take it over and '
            'strip what it carries' % h1) in run.stdout
    assert 'underlay_adopt_segments: [lan] for this host' in run.stdout
    assert {namespace: host_state(namespace) for namespace in (h1, h2)} == before

    # Adopting is the host's explicit choice: the plan then takes shim-lan over and marks it.
    adopted = ansible.playbook(SITE, inventory(fleet_lab, h1={'underlay_adopt_segments': ['lan']}))
    assert adopted.status == 'successful', adopted.stdout
    shim = read_link(h1, 'shim-lan')
    assert shim['addresses'] == ['172.28.40.127/32'] and shim['alias'] == 'underlay.network/shim'
