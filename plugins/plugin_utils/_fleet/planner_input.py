# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One host's entry of the fleet planner's ``hosts`` argument, from what ``links_info`` read on it.

site.yml describes every host of ``underlay_hosts`` with it, those in the run and those outside a limited
run alike (read through delegation), so that both are described by the same rule.
"""

from __future__ import annotations

from ansible_collections.underlay.network.plugins.plugin_utils._filters import FilterError

# The inventory variables a host entry takes, by the planner's key.
HOST_VARIABLES = (('index', 'underlay_host_index'), ('trunk', 'underlay_trunk'), ('force', 'underlay_force'),
                  ('adopt', 'underlay_adopt_segments'))


def _unreadable(deployed):
    """Why ``deployed`` (a links_info result, possibly of a delegated loop) holds no reading, or None."""
    message = str(deployed.get('msg') or '').removeprefix('Task failed: ')
    if deployed.get('unreachable'):
        return 'unreachable: %s' % (message or 'no connection')
    if deployed.get('failed') or not isinstance(deployed.get('links'), list):
        return 'links_info failed: %s' % (message or 'no links in its result')
    return None


def _segments(host_vars):
    """The segments the host joins: its own list, narrowed to ``underlay_deploy_segments`` when given."""
    own = host_vars.get('underlay_host_segments')
    deploy = host_vars.get('underlay_deploy_segments')
    if deploy is None:
        return own
    if own is None:
        own = [segment.get('name') for segment in (host_vars.get('underlay_fleet') or {}).get('segments') or ()]
    return [segment for segment in own if segment in deploy]


def _controller(host_vars):
    """The controller's address as the host sees it (SSH connections only, from the env facts)."""
    connection = ((host_vars.get('ansible_env') or {}).get('SSH_CONNECTION') or '').split()
    return [{'address': connection[0], 'why': 'the Ansible controller'}] if connection else []


def _route(route):
    return '%s via %s' % (route.get('dest'), route['gateway']) if route.get('gateway') else str(route.get('dest'))


def _interfaces(links, default_routes):
    """The host's own interfaces (not those in namespaces): name -> {managed_by, addresses, routes, default_route}, so
    that the planner refuses to take over one it did not make or one the host's default route goes through."""
    gateways = {}
    for route in default_routes:
        if isinstance(route, dict) and route.get('interface'):
            gateways.setdefault(route['interface'], route.get('gateway') or 'on-link')
    return {link['name']: {'managed_by': link.get('managed_by'), 'addresses': list(link.get('addresses') or ()),
                           'routes': [_route(route) for route in link.get('routes') or ()],
                           'default_route': gateways.get(link['name'])}
            for link in links if link.get('name') and not link.get('netns')}


def planner_input(deployed, host_vars):
    """The planner's entry for one host: ``deployed`` is its links_info result (devices: true), ``host_vars``
    its variables (hostvars[host]); a host whose links could not be read is marked ``unreadable``."""
    if not isinstance(deployed, dict):
        raise FilterError('planner_input takes the registered result of underlay.network.links_info, got %s'
                          % type(deployed).__name__)
    entry = {key: host_vars.get(variable) for key, variable in HOST_VARIABLES}
    entry['segments'] = _segments(host_vars)
    reason = _unreadable(deployed)
    if reason is not None:
        entry['unreadable'] = reason
        return entry
    links = deployed['links']
    entry['observed'] = [address for link in links if link.get('managed_by') for address in link['addresses']]
    entry['connected'] = [address for link in links if not link.get('managed_by') for address in link['addresses']]
    entry['protected'] = list(deployed.get('default_routes') or ()) + _controller(host_vars)
    entry['interfaces'] = _interfaces(links, deployed.get('default_routes') or ())
    return entry
