"""The fleet_plan filter plugin (plugins/filter/fleet_plan.py): its filters, and errors as filter errors."""

import pytest
from fleet_examples import apps, fleet

from ansible.errors import AnsibleFilterError
from ansible_collections.underlay.network.plugins.filter.fleet_plan import FilterModule

# --- through the filter plugin ----------------------------------------------------------------------------


@pytest.fixture
def filters():
    return FilterModule().filters()


def test_the_plugin_registers_its_filters(filters):
    assert sorted(filters) == ['docker_networks', 'fleet_plan', 'host_links', 'libvirt_networks', 'plan_endpoints',
                               'planner_input', 'vm_guests', 'vm_links']


def test_the_plugin_plans_and_converts(filters):
    plans = filters['fleet_plan'](fleet(), ['h1', 'h2'])
    assert plans['h2']['segments'][0]['ip_range'] == '172.28.10.144/28'
    assert filters['host_links'](plans['h2'], 'vlans')['links'][0]['addresses'] == ['172.28.10.3/24']
    assert filters['docker_networks'](plans['h2'])[0]['ipam_config'][0]['aux_addresses'] == {'shim': '172.28.10.126'}


def test_the_plugin_reports_plan_errors_as_filter_errors(filters):
    with pytest.raises(AnsibleFilterError) as err:
        filters['fleet_plan'](fleet(apps(vlan_id='ten')), ['h1'])
    assert str(err.value) == "underlay_fleet segment 'apps': vlan_id must be an integer, e.g. 10; got 'ten'"
    assert err.value.__cause__ is None
    with pytest.raises(AnsibleFilterError, match="host_links: 'all' is not a set of links"):
        filters['host_links']({'trunk': 'eth0', 'segments': []}, 'all')
