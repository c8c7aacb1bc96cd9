"""A host's plan the renderings are tested on."""

import pytest
from fleet_examples import APPS, DB, LAN, fleet

from ansible_collections.underlay.network.plugins.plugin_utils._fleet.plan import fleet_plan


@pytest.fixture
def plan():
    web = dict(APPS, name='web', vlan_id=30, subnet='172.28.30.0/24', gateway=None, container_pool='172.28.30.128/25',
               host_address=False, shim=False, docker=False)
    return fleet_plan(fleet(APPS, DB, LAN, web), {'h0': None, 'h1': {'trunk': 'bond0'}})['h1']
