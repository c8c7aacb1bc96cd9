"""Fleet descriptions the unit tests of the fleet plan and its renderings share."""

import copy

import pytest

from ansible_collections.underlay.network.plugins.plugin_utils._filters import FilterError
from ansible_collections.underlay.network.plugins.plugin_utils._fleet.plan import fleet_plan

APPS = {'name': 'apps', 'vlan_id': 10, 'subnet': '172.28.10.0/24', 'gateway': '172.28.10.1',
        'container_pool': '172.28.10.128/25'}
DB = {'name': 'db', 'vlan_id': 20, 'subnet': '172.28.20.0/24', 'container_pool': '172.28.20.0/26',
      'host_range_size': 8, 'driver': 'ipvlan', 'mode': 'l3'}
LAN = {'name': 'lan', 'subnet': '192.168.50.0/24', 'gateway': '192.168.50.1',
       'container_pool': '192.168.50.128/26', 'docker_network': 'lan-net'}


def fleet(*segments, **settings):
    description = {'trunk': 'eth0', 'segments': [copy.deepcopy(segment) for segment in segments or (APPS,)]}
    description.update(settings)
    return description


def apps(**changes):
    """APPS with ``changes``; a change to None removes the key."""
    segment = dict(APPS, **changes)
    return {key: value for key, value in segment.items() if value is not None}


def plan_error(description, hosts):
    with pytest.raises(FilterError) as err:
        fleet_plan(description, hosts)
    return str(err.value)


def ranges(plan, segment=0):
    return {host: (entry['index'], entry['segments'][segment]['ip_range'],
                   entry['segments'][segment]['host_address'], entry['segments'][segment]['shim']['address'])
            for host, entry in plan.items()}


def interface(managed_by=None, addresses=(), default_route=None, routes=()):
    """An interface as planner_input describes it to the planner."""
    return {'managed_by': managed_by, 'addresses': list(addresses), 'default_route': default_route,
            'routes': list(routes)}
