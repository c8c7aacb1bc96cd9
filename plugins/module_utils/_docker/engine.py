# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Docker engine, through the Docker SDK for Python's low-level API client.

Every call goes through ``Engine._call``, which turns the SDK's exceptions into ``EngineError`` with a message
saying what was being done, and records each change in ``actions`` so that a failure can report exactly what
was applied."""

from __future__ import annotations

import traceback

from ansible.module_utils.basic import missing_required_lib
from ansible_collections.underlay.network.plugins.module_utils._common.errors import EngineError
from ansible_collections.underlay.network.plugins.module_utils._docker.network import network_state

try:
    import docker
    from docker.errors import DockerException
    from docker.types import IPAMConfig, IPAMPool
    from requests.exceptions import RequestException
except ImportError:
    DOCKER_IMPORT_ERROR = traceback.format_exc()
else:
    DOCKER_IMPORT_ERROR = None
    # The SDK's own errors, and those of the HTTP library under it (a timeout is not a DockerException).
    ENGINE_FAILURES = (DockerException, RequestException)


def require_docker(module):
    if DOCKER_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib('docker (the Docker SDK for Python)'),
                         exception=DOCKER_IMPORT_ERROR)


class Engine:
    """One Docker engine; raises EngineError when it cannot be reached."""

    def __init__(self, url, timeout):
        self.url = url
        self.actions = []
        try:
            self.api = docker.APIClient(base_url=url, timeout=timeout, version='auto')
        except ENGINE_FAILURES as exc:
            raise EngineError('cannot reach the Docker engine at %s (%s); start dockerd or fix docker_host. '
                              'Nothing was changed' % (url, exc)) from exc

    def _call(self, what, func, *args, **kwargs):
        try:
            return func(*args, **kwargs)
        except ENGINE_FAILURES as exc:
            # Without an answer the engine may have done it anyway: callers re-read before they restore.
            unanswered = ' (no answer: the engine may have done it)' if isinstance(exc, RequestException) else ''
            raise EngineError('%s failed on the Docker engine at %s: %s%s (applied before the failure: %s)'
                              % (what, self.url, exc, unanswered, ', '.join(self.actions) or 'nothing'),
                              actions=list(self.actions)) from exc

    def _change(self, what, func, *args, **kwargs):
        result = self._call(what, func, *args, **kwargs)
        self.actions.append(what)
        return result

    def networks(self):
        """Every network of the engine, normalized (``network.network_state``)."""
        return [network_state(n) for n in self._call('list networks', self.api.networks)]

    def attached_containers(self, network_id):
        """Containers attached to the network, running or not, with their addresses on it."""
        attached = []
        for summary in self._call('list containers', self.api.containers, all=True,
                                  filters={'network': network_id}):
            info = self._call('inspect container', self.api.inspect_container, summary['Id'])
            endpoint = next((e for e in (info['NetworkSettings']['Networks'] or {}).values()
                             if e.get('NetworkID') == network_id), {})
            static = endpoint.get('IPAMConfig') or {}
            short_id = info['Id'][:12]
            attached.append({
                'name': info['Name'].lstrip('/'),
                'id': info['Id'],
                'running': bool(info['State'].get('Running')),
                'pid': info['State'].get('Pid') or None,  # its namespace holds its link on the network
                # A running container keeps the address it has; a stopped one the address it was given.
                'ipv4_address': endpoint.get('IPAddress') or static.get('IPv4Address') or None,
                'ipv6_address': endpoint.get('GlobalIPv6Address') or static.get('IPv6Address') or None,
                'aliases': [a for a in endpoint.get('Aliases') or () if a != short_id],
            })
        return sorted(attached, key=lambda c: c['name'])

    def create_network(self, desired):
        pools = [IPAMPool(subnet=p['subnet'], gateway=p['gateway'], iprange=p['ip_range'],
                          aux_addresses=p['aux_addresses'] or None) for p in desired['pools']]
        created = self._change('create network %s' % desired['name'], self.api.create_network, desired['name'],
                               driver=desired['driver'], options=desired['options'],
                               ipam=IPAMConfig(pool_configs=pools), internal=desired['internal'],
                               labels=desired['labels'] or None, enable_ipv6=desired['enable_ipv6'],
                               check_duplicate=True)
        return created['Id']

    def remove_network(self, state):
        self._change('remove network %s' % state['name'], self.api.remove_network, state['id'])

    def disconnect(self, network, container):
        self._change('disconnect %s from %s' % (container['name'], network['name']),
                     self.api.disconnect_container_from_network, container['id'], network['id'], force=True)

    def connect(self, network_name, network_id, container):
        self._change('connect %s to %s' % (container['name'], network_name),
                     self.api.connect_container_to_network, container['id'], network_id,
                     ipv4_address=container['ipv4_address'] and container['ipv4_address'].split('/')[0],
                     ipv6_address=container['ipv6_address'] and container['ipv6_address'].split('/')[0],
                     aliases=container['aliases'] or None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.api.close()
