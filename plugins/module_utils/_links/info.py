# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The links_info module: a host's virtual links as the link modules report them, its default routes, and
whether it is still as its convergence record says."""

from __future__ import annotations

from ansible_collections.underlay.network.plugins.module_utils._common.gc_passes import fewer_gc_passes
from ansible_collections.underlay.network.plugins.module_utils._links.host_record import convergence
from ansible_collections.underlay.network.plugins.module_utils._links.sessions import Sessions, read_virtual_links

LINKS_INFO_ARGUMENT_SPEC = dict(
    namespaces=dict(type='list', elements='str', default=[]),
    managed_only=dict(type='bool', default=False),
    kinds=dict(type='list', elements='str', default=[]),
    devices=dict(type='bool', default=False),
    convergence=dict(type='bool', default=False),
)


def links_info(params):
    """The module's result keys: ``links``, ``default_routes`` and, when asked, ``convergence``."""
    with fewer_gc_passes(), Sessions() as sessions:
        result = {
            'links': read_virtual_links(sessions, params['namespaces'], params['managed_only'], params['kinds'],
                                        params['devices']),
            'default_routes': sessions.task.default_routes(),
        }
        if params['convergence']:
            result['convergence'] = convergence(sessions)
    return result
