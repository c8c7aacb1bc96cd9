"""A real VM on a segment: qemu (TCG) boots a Debian kernel with a busybox initramfs (dev/underlay_dev/vm), its NIC
on a macvtap that macvtap_link made on a lab host's uplink, with an address from that host's container range, and
real pings prove what the collection promises of it:

- VM <-> a namespace "container" on the same segment on another lab host: reach, both ways;
- VM <-> its own host: only through the host's shim (the kernel passes nothing between a parent and its macvtap);
- VM <-> a private-mode container on the same host: isolated, both ways, as the mode says.

qemu runs as ``nobody`` and opens the tap device itself: the node's owner (tap_owner) is what lets it. It is
always killed at the end; the lab goes with its namespaces.
"""

from __future__ import annotations

import pytest
from test_macvtap_link import link_index
from test_site_playbook import FLEET, SITE, fleet_lab, inventory, recap
from underlay_dev.testing.harness import netlink_dump, reaches, read_link
from underlay_dev.vm.qemu import Vm

from ansible_collections.underlay.network.plugins.plugin_utils._fleet.plan import fleet_plan
from ansible_collections.underlay.network.plugins.plugin_utils._render.vms import vm_guests

H1, H2 = '172.28.240.11/20', '172.28.240.12/20'  # the lab hosts' own addresses
VM, C1, C2 = '172.28.248.40', '172.28.248.41', '172.28.248.50'  # from the containers' range 172.28.248.0/24
SHIM = '172.28.248.254'
NETNS = 'underlay.network.netns'
KEEP_TASK = "Keep this host's part of the plan (and its namespace workloads or VMs, where asked)"
PROBE_TASK = "Ping from this host's endpoints, all at once"
__all__ = ['fleet_lab']  # the fixture, imported from test_site_playbook


pytestmark = pytest.mark.usefixtures('no_leftover_tap_nodes')


@pytest.fixture
def segment(lab, ansible):
    """Two lab hosts on one switch; on h1 the VM's macvtap (owned by nobody) and a private-mode container c1, on
    h2 a container c2: all with addresses from the containers' range."""
    lab.up_switch()
    h1, h2 = lab.add_host('h1', address=H1), lab.add_host('h2', address=H2)
    c1, c2 = lab.add_namespace('c1'), lab.add_namespace('c2')
    container = 'underlay.network.macvlan_link'
    run = ansible.play([
        {'name': 'the VM macvtap', 'underlay.network.macvtap_link': dict(
            name='vm1', parent='eth0', mode='bridge', tap_owner='nobody', tap_mode='0600')},
        {'name': 'private container c1', container: dict(name='eth0', parent='eth0', netns=c1, mode='private',
                                                         addresses=[C1 + '/20'])},
    ], hosts={h1: {'ansible_connection': NETNS}})
    assert not any(result.failed for result in run.results), run.stdout
    tap = run.results[0]['link']
    run = ansible.play([{'name': 'container c2', container: dict(name='eth0', parent='eth0', netns=c2,
                                                                 addresses=[C2 + '/20'])}],
                       hosts={h2: {'ansible_connection': NETNS}})
    assert not run.results[0].failed, run.stdout
    return {'h1': h1, 'h2': h2, 'c1': c1, 'c2': c2, 'tap': tap}


def test_a_vm_on_a_macvtap_reaches_the_segment_and_its_host_only_through_the_shim(segment, ansible):
    tap = segment['tap']
    assert tap['tap_device']['owner'] == 'nobody'
    with Vm(segment['h1'], tap['tap_device']['path'], tap['mac_address'], VM + '/20', user='nobody') as vm:
        print('\n[vm] booted in %.1f s (TCG)' % vm.boot_seconds)
        # Another host's container on the same segment.
        assert vm.reaches(C2) and reaches(segment['c2'], VM)
        # Its own host: the kernel passes nothing between a parent and its macvtap.
        assert not vm.reaches(H1.split('/', maxsplit=1)[0]) and not reaches(segment['h1'], VM)
        # A private-mode container on the same parent: isolated, as its mode says.
        assert not vm.reaches(C1) and not reaches(segment['c1'], VM)

        shim = ansible.play([{'name': 'host shim', 'underlay.network.macvlan_link': dict(
            name='shim', parent='eth0', addresses=[SHIM + '/32'], routes=[{'dest': VM + '/32'}])}],
            hosts={segment['h1']: {'ansible_connection': NETNS}})
        assert not shim.results[0].failed, shim.stdout
        # Through the shim, both ways; the private container stays isolated.
        assert reaches(segment['h1'], VM) and vm.reaches(SHIM)
        assert not vm.reaches(C1)


def task_results(run, task):
    return [result for result in run.results if result['_task'] == task]


def test_the_plans_vms_get_macvtaps_and_the_main_jobs_verification_pings_them(ansible, fleet_lab):
    """site.yml with underlay_workloads: vm on h1 (netns workloads on h2): the plan gives h1 a VM on the lan
    segment, vm_underlay its macvtap (the plan's MAC, a tap device for nobody); the VM booted on it, a second run
    verifies the fleet with real pings, the VM among the targets (probed from h1 through its shim and from h2's
    container), and a third run with the VM still up changes nothing."""
    h1, h2 = fleet_lab.hosts['h1'], fleet_lab.hosts['h2']
    fleet = inventory(fleet_lab, h1={'underlay_workloads': 'vm', 'vm_underlay_tap_owner': 'nobody'})
    first = ansible.playbook(SITE, fleet, extra_vars={'underlay_verify': False})
    assert first.status == 'successful', first.stdout
    kept = next(result for result in task_results(first, KEEP_TASK) if result['_host'] == h1)
    guest, = kept['ansible_facts']['underlay_vm_guests']
    assert guest['name'] == h1 + '-lan-vm1' and guest['link']['name'] == 'vm-lan-1'
    link = read_link(h1, 'vm-lan-1')
    assert (link['kind'], link['mac']) == ('macvtap', guest['mac_address'])
    assert link['alias'] == 'underlay.network/vm_underlay'

    tap = '/dev/tap%d' % link_index(h1, 'vm-lan-1')
    with Vm(h1, tap, guest['mac_address'], guest['address'], user='nobody'):
        verified = ansible.playbook(SITE, fleet)
        assert verified.status == 'successful', verified.stdout
        to_vm = [probe for result in task_results(verified, PROBE_TASK) for probe in result['results']
                 if probe['target'] == guest['address'].split('/')[0]]
        assert {(probe['name'].split(' -> ')[0].split('/')[0], probe['expected'], probe['ok']) for probe in to_vm} \
            >= {(h1, 'reach', True), (h2, 'reach', True)}, to_vm
        assert not any(probe['name'].startswith('%s/%s ->' % (h1, guest['name'])) for result in
                       task_results(verified, PROBE_TASK) for probe in result['results'])  # a VM never probes
        again = ansible.playbook(SITE, fleet)
        assert again.status == 'successful' and recap(again) == {h1: 0, h2: 0}, again.stdout


def test_a_vm_address_outside_the_hosts_range_fails_the_role_before_any_change(ansible, fleet_lab):
    h1 = fleet_lab.hosts['h1']
    plan = fleet_plan(FLEET, {h1: None})[h1]
    good, = vm_guests(plan, prefix='h1-')
    outside = dict(good, name='h1-lan-vm9', address='172.28.40.20/24')  # in the subnet, not in h1's range
    before = netlink_dump(h1)
    run = ansible.play([{'name': 'VMs', 'ansible.builtin.include_role': {'name': 'underlay.network.vm_underlay'},
                         'vars': {'vm_underlay_plan': plan, 'vm_underlay_guests': [good, outside],
                                  'vm_underlay_converged': False}}],
                       hosts={h1: {'ansible_connection': NETNS}})
    assert run.status == 'failed'
    failed, = [result for result in run.results if result.failed]
    assert "guest 1 (h1-lan-vm9): address 172.28.40.20/24 is outside the host's range" in failed['msg'], failed
    assert netlink_dump(h1) == before
