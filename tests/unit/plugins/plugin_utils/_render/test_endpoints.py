"""The endpoints a host contributes to the verification (plugins/plugin_utils/_render/endpoints.py)."""

from fleet_examples import APPS, DB, apps, fleet

from ansible_collections.underlay.network.plugins.plugin_utils._fleet.plan import fleet_plan
from ansible_collections.underlay.network.plugins.plugin_utils._render.endpoints import plan_endpoints
from ansible_collections.underlay.network.plugins.plugin_utils._render.links import host_links

# --- plan_endpoints ---------------------------------------------------------------------------------------


def container_result(network, name, address):
    return {'item': {'name': network}, 'changed': False,
            'container': {'Name': '/' + name, 'NetworkSettings': {'Networks': {network: {'IPAddress': address}}}}}


def test_plan_endpoints_lists_the_host_its_namespaces_and_its_containers():
    no_shim = dict(DB, shim=False)
    plan = fleet_plan(fleet(APPS, no_shim), ['h1'])['h1']
    workloads = host_links(plan, 'workloads', prefix='h1-')
    containers = [container_result('apps', 'apps-c1', '172.28.10.128'), {'skipped': True, 'item': {'name': 'db'}},
                  container_result('db', 'db-c1', '')]  # no address on its network: left out
    endpoints = plan_endpoints(plan, 'h1', workloads=workloads, containers=containers,
                               docker_host='unix:///run/d.sock')
    assert [(e['name'], e['kind'], e['segment'], e['address'], e['shim']) for e in endpoints] == [
        ('h1/apps', 'host', 'apps', '172.28.10.2', True),
        ('h1/db', 'host', 'db', '172.28.20.64', False),  # .1, in the pool, is left to the engine
        ('h1/h1-apps-1', 'container', 'apps', '172.28.10.143', False),
        ('h1/h1-db-1', 'container', 'db', '172.28.20.7', False),
        ('h1/apps-c1', 'container', 'apps', '172.28.10.128', False),
    ]
    assert endpoints[2]['netns'] == 'h1-apps-1' and endpoints[2]['container'] is None
    assert endpoints[4]['container'] == 'apps-c1' and endpoints[4]['docker_host'] == 'unix:///run/d.sock'


def test_plan_endpoints_without_host_address_uses_the_shim_address():
    plan = fleet_plan(fleet(apps(host_address=False)), ['h1'])['h1']
    endpoint, = plan_endpoints(plan, 'h1')
    assert endpoint['address'] == '172.28.10.127' and endpoint['shim'] is True
