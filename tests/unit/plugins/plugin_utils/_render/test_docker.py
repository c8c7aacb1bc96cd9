"""A host's plan as Docker networks (plugins/plugin_utils/_render/docker.py)."""

from fleet_examples import apps, fleet

from ansible_collections.underlay.network.plugins.plugin_utils._fleet.plan import fleet_plan
from ansible_collections.underlay.network.plugins.plugin_utils._render.docker import docker_networks


def test_docker_networks(plan):
    assert docker_networks(plan) == [
        {'name': 'apps', 'driver': 'macvlan', 'trunk': 'bond0', 'vlan_id': 10, 'macvlan_mode': 'bridge',
         'ipam_config': [{'subnet': '172.28.10.0/24', 'gateway': '172.28.10.1', 'ip_range': '172.28.10.144/28',
                          'aux_addresses': {'shim': '172.28.10.126'}}],
         'labels': {'underlay.network.segment': 'apps'}},
        {'name': 'db', 'driver': 'ipvlan', 'trunk': 'bond0', 'vlan_id': 20, 'ipvlan_mode': 'l3',
         'ipam_config': [{'subnet': '172.28.20.0/24', 'gateway': None, 'ip_range': '172.28.20.8/29',
                          'aux_addresses': {'shim': '172.28.20.253'}}],
         'labels': {'underlay.network.segment': 'db'}},
        {'name': 'lan-net', 'driver': 'macvlan', 'parent': 'bond0', 'macvlan_mode': 'bridge',
         'ipam_config': [{'subnet': '192.168.50.0/24', 'gateway': '192.168.50.1', 'ip_range': '192.168.50.144/28',
                          'aux_addresses': {'shim': '192.168.50.253'}}],
         'labels': {'underlay.network.segment': 'lan'}},
    ]


def test_docker_network_without_shim_reserves_nothing():
    no_shim = fleet_plan(fleet(apps(shim=False)), ['h'])['h']
    assert docker_networks(no_shim)[0]['ipam_config'][0]['aux_addresses'] == {}
