"""A host's VMs and libvirt networks from its plan (plugins/plugin_utils/_render/vms.py)."""

import xml.etree.ElementTree as ET

import pytest
from fleet_examples import APPS, DB, LAN, fleet

from ansible_collections.underlay.network.plugins.module_utils._links.desired import desired_links
from ansible_collections.underlay.network.plugins.module_utils._links.spec import LINK_ENTRY_SPEC
from ansible_collections.underlay.network.plugins.plugin_utils._filters import FilterError
from ansible_collections.underlay.network.plugins.plugin_utils._fleet.plan import fleet_plan
from ansible_collections.underlay.network.plugins.plugin_utils._render.endpoints import plan_endpoints
from ansible_collections.underlay.network.plugins.plugin_utils._render.links import host_links
from ansible_collections.underlay.network.plugins.plugin_utils._render.vms import libvirt_networks, vm_guests, vm_links


@pytest.fixture
def plan():
    return fleet_plan(fleet(APPS, DB, LAN), {'h0': None, 'h1': None})['h1']


def test_vms_get_macvtaps_and_addresses_from_the_top_of_the_range_on_macvlan_segments_only(plan):
    guests = vm_guests(plan, prefix='h1-', count=2)
    # db is an ipvlan segment: its interface carries an ipvlan port, which no macvtap may join.
    assert [(g['name'], g['segment'], g['address'], g['gateway'], g['link']['name'], g['link']['parent'])
            for g in guests] == [
        ('h1-apps-vm1', 'apps', '172.28.10.159/24', '172.28.10.1', 'vm10-1', 'eth0.10'),
        ('h1-apps-vm2', 'apps', '172.28.10.158/24', '172.28.10.1', 'vm10-2', 'eth0.10'),
        ('h1-lan-vm1', 'lan', '192.168.50.159/24', '192.168.50.1', 'vm-lan-1', 'eth0'),
        ('h1-lan-vm2', 'lan', '192.168.50.158/24', '192.168.50.1', 'vm-lan-2', 'eth0'),
    ]
    # The same address as the namespace workload at the same place: one or the other (underlay_workloads).
    workloads = host_links(plan, 'workloads', prefix='h1-', count=1)
    assert workloads['links'][0]['addresses'] == [guests[0]['address']]
    assert guests[0]['mac_address'] == guests[0]['link']['mac_address'] == '02:76:ac:1c:0a:9f'
    assert guests[0]['link'] == {'kind': 'macvtap', 'name': 'vm10-1', 'parent': 'eth0.10', 'mode': 'bridge',
                                 'mac_address': '02:76:ac:1c:0a:9f'}


def test_the_macvtaps_are_valid_links_module_entries_with_names_the_kernel_takes(plan):
    long_names = fleet(dict(APPS, name='a_long_name1', vlan_id=4094),
                       dict(LAN, name='untagged_123', docker_network=None, shim=False))
    for each in (plan, fleet_plan(long_names, ['h1'])['h1']):
        entries = [dict(dict.fromkeys(LINK_ENTRY_SPEC), **guest['link']) for guest in vm_guests(each, count=16)]
        desired = desired_links(entries, 'merged')  # validates names (15 bytes), MACs, modes
        assert len({link['name'] for link in desired}) == len(desired)


def test_vm_count_out_of_range_fails(plan):
    for count in (0, 17):
        with pytest.raises(FilterError, match='count %d is out of range' % count):
            vm_guests(plan, count=count)
    small = fleet_plan(fleet(dict(APPS, host_range_size=4)), ['h1'])['h1']
    with pytest.raises(FilterError, match="count 5 is more than the 4 addresses of the host's range"):
        vm_guests(small, count=5)


def test_one_libvirt_network_per_macvlan_segment_in_direct_attachment(plan):
    networks = libvirt_networks(fleet_plan(fleet(dict(APPS, mode='private'), DB, LAN), ['h1'])['h1'])
    assert [(n['name'], n['segment']) for n in networks] == [('underlay-apps', 'apps'), ('underlay-lan', 'lan')]
    root = ET.fromstring(networks[0]['xml'])
    assert root.findtext('name') == 'underlay-apps'
    forward = root.find('forward')
    assert forward.get('mode') == 'private' and [i.get('dev') for i in forward.findall('interface')] == ['eth0.10']
    assert root.find('bridge') is None and root.find('ip') is None  # no bridge, no DHCP: direct attachment


def test_vms_are_endpoints_of_kind_vm(plan):
    guests = vm_guests(plan, prefix='h1-')
    endpoints = plan_endpoints(plan, 'h1', vms=guests + [dict(guests[0], segment='nowhere')])
    assert [(e['name'], e['kind'], e['segment'], e['address']) for e in endpoints if e['kind'] == 'vm'] == [
        ('h1/h1-apps-vm1', 'vm', 'apps', '172.28.10.159'), ('h1/h1-lan-vm1', 'vm', 'lan', '192.168.50.159')]


def test_vm_links_are_the_guests_macvtaps_with_the_tap_settings(plan):
    guests = vm_guests(plan, prefix='h1-')
    links = vm_links(plan, guests, tap_group='kvm', tap_mode='0660')['links']
    assert links == [dict(guest['link'], tap_group='kvm', tap_mode='0660') for guest in guests]
    assert vm_links(plan, [])['links'] == []


@pytest.mark.parametrize('change, message', [
    (dict(address='172.28.10.20/24'), "guest 0 .h1-apps-vm1.: address 172.28.10.20/24 is outside the host's range "
                                      r"172.28.10.144/28 on segment 'apps'"),
    (dict(address='172.28.10.159/16'), "or not /24, the segment's prefix length"),
    (dict(address='nowhere'), "address 'nowhere' is not an address in CIDR form"),
    (dict(segment='db'), "segment 'db' is not a macvlan segment of this host's plan .it has apps, lan."),
    (dict(link={'kind': 'macvlan', 'name': 'vm10-1', 'parent': 'eth0.20', 'mac_address': '02:76:ac:1c:0a:9f'}),
     'its link must be kind macvtap, parent eth0.10; it has kind macvlan, parent eth0.20'),
    (dict(mac_address='02:00:00:00:00:01'), 'its link must be mac_address 02:00:00:00:00:01'),
    (dict(link=None), 'a guest has name, segment, address, mac_address and link'),
])
def test_a_guest_that_does_not_fit_the_plan_is_refused_naming_it(plan, change, message):
    guest = dict(vm_guests(plan, prefix='h1-')[0], **change)
    with pytest.raises(FilterError, match=message):
        vm_links(plan, [guest])
