"""The vm_underlay role's libvirt networks, against a real libvirtd in a lab host's namespace
(underlay_dev/testing/libvirtd.py: its own mount namespace, nothing of it reaches this machine's files).

One libvirt network per macvlan segment of the host's plan, in macvtap direct attachment on the segment's
interface: validated with virt-xml-validate, defined, started and set to autostart with
community.libvirt.virt_net; a re-run changes nothing. Read back with virsh.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from underlay_dev.testing.libvirtd import Libvirtd

from ansible_collections.underlay.network.plugins.plugin_utils._fleet.plan import fleet_plan

FLEET = {'trunk': 'eth0', 'segments': [
    {'name': 'lan', 'subnet': '172.28.40.0/24', 'gateway': '172.28.40.1', 'container_pool': '172.28.40.128/25',
     'mode': 'private'},
    {'name': 'db', 'vlan_id': 20, 'subnet': '172.28.20.0/24', 'container_pool': '172.28.20.0/26',
     'driver': 'ipvlan', 'mode': 'l2'}]}


@pytest.fixture
def libvirtd(lab, tmp_path):
    lab.up_switch()
    host = lab.add_host('h1', address='172.28.0.11/24')
    with Libvirtd(host, tmp_path / 'libvirtd') as daemon:
        daemon.host = host
        yield daemon


def role_play(libvirtd, plan, check=False):
    return [{'name': 'libvirt networks', 'ansible.builtin.include_role': {'name': 'underlay.network.vm_underlay'},
             'vars': {'vm_underlay_plan': plan, 'vm_underlay_guests': [], 'vm_underlay_libvirt': True,
                      'vm_underlay_libvirt_uri': libvirtd.uri, 'vm_underlay_converged': False}}]


def test_one_libvirt_network_per_macvlan_segment_defined_started_and_idempotent(ansible, libvirtd):
    plan = fleet_plan(FLEET, {libvirtd.host: None})[libvirtd.host]
    hosts = {libvirtd.host: {'ansible_connection': 'underlay.network.netns'}}
    checked = ansible.play(role_play(libvirtd, plan), hosts=hosts, check=True)
    assert checked.status == 'successful', checked.stdout
    assert 'underlay-lan' not in libvirtd.virsh('net-list', '--all', '--name').stdout  # check mode: nothing

    first = ansible.play(role_play(libvirtd, plan), hosts=hosts)
    assert first.status == 'successful', first.stdout
    assert libvirtd.virsh('net-list', '--all', '--name').stdout.split() == ['underlay-lan']  # db is ipvlan
    info = libvirtd.virsh('net-info', 'underlay-lan').stdout
    assert 'Active:         yes' in info and 'Autostart:      yes' in info, info
    network = ET.fromstring(libvirtd.virsh('net-dumpxml', 'underlay-lan').stdout)
    forward = network.find('forward')
    assert forward.get('mode') == 'private' and [i.get('dev') for i in forward.findall('interface')] == ['eth0']
    assert network.find('bridge') is None

    again = ansible.play(role_play(libvirtd, plan), hosts=hosts)
    assert again.status == 'successful' and not any(result.changed for result in again.results), again.stdout


def test_a_definition_libvirt_would_refuse_fails_before_libvirt_sees_it(ansible, libvirtd):
    plan = fleet_plan(FLEET, {libvirtd.host: None})[libvirtd.host]
    plan['segments'][0]['mode'] = 'sideways'  # not a forward mode of libvirt's schema
    hosts = {libvirtd.host: {'ansible_connection': 'underlay.network.netns'}}
    run = ansible.play(role_play(libvirtd, plan), hosts=hosts)
    assert run.status == 'failed'
    failed = [result for result in run.results if result.failed]
    assert failed[0]['_task'] == "Validate them against libvirt's network schema", run.stdout
    assert libvirtd.virsh('net-list', '--all', '--name').stdout.split() == []


def test_a_network_that_drifted_from_the_plan_is_named_not_started(ansible, libvirtd):
    plan = fleet_plan(FLEET, {libvirtd.host: None})[libvirtd.host]
    hosts = {libvirtd.host: {'ansible_connection': 'underlay.network.netns'}}
    assert ansible.play(role_play(libvirtd, plan), hosts=hosts).status == 'successful'
    libvirtd.virsh('net-destroy', 'underlay-lan')
    plan['segments'][0]['mode'] = 'vepa'
    run = ansible.play(role_play(libvirtd, plan), hosts=hosts)
    assert run.status == 'failed'
    failed = [result for result in run.results if result.failed]
    assert 'has forward mode and interface' in str(failed[0]), run.stdout
    assert "Active:         no" in libvirtd.virsh('net-info', 'underlay-lan').stdout
