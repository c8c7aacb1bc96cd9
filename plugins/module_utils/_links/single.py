# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read -> diff -> apply -> report for one link: the whole of macvlan_link, vlan_iface and ipvlan_link.

Those modules are thin front ends: they pass their kind and ``run_link_module`` does the rest. docker_vlan_network
converges the VLAN under its network with ``reconcile_link`` too.
"""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.underlay.network.plugins.module_utils._common.errors import UnderlayError, fail_from
from ansible_collections.underlay.network.plugins.module_utils._kernel.pyroute2_import import require_pyroute2
from ansible_collections.underlay.network.plugins.module_utils._links.apply import apply_link_change
from ansible_collections.underlay.network.plugins.module_utils._links.change import LinkOptions, plan_link_change
from ansible_collections.underlay.network.plugins.module_utils._links.desired import desired_link
from ansible_collections.underlay.network.plugins.module_utils._links.diff import public_state
from ansible_collections.underlay.network.plugins.module_utils._links.kinds import KINDS
from ansible_collections.underlay.network.plugins.module_utils._links.sessions import Sessions
from ansible_collections.underlay.network.plugins.module_utils._links.spec import LINK_MODULES


def reconcile_link(sessions, desired, kind, options):
    """Bring one link to ``desired``; return ``changed``, ``link``, ``actions`` and ``diff``."""
    change = plan_link_change(sessions, desired, kind, options)
    if options.state == 'absent':
        actions = apply_link_change(sessions, change) if change.changed and not options.check_mode else []
        return _result(change.changed, {}, actions, change.before)
    if options.check_mode or not change.changed:
        return dict(_result(change.changed, change.predicted, [], change.before),
                    **kind.report(sessions, desired, options.check_mode and change.changed))
    actions = apply_link_change(sessions, change)
    sessions.invalidate()
    after = public_state(sessions.read_link(desired['netns'], desired['name']))
    return dict(_result(True, after, actions, change.before), **kind.report(sessions, desired, False))


def _result(changed, after, actions, before):
    return {'changed': changed, 'link': after, 'actions': actions, 'diff': {'before': before, 'after': after}}


def run_link_module(kind_name):
    """The whole main() of the single-link module of ``kind_name``: validate, reconcile, report."""
    module = AnsibleModule(supports_check_mode=True, **LINK_MODULES[kind_name])
    require_pyroute2(module)
    kind = KINDS[kind_name]
    try:
        desired = desired_link(module.params, kind, present=module.params['state'] == 'present')
        with Sessions() as sessions:
            result = reconcile_link(sessions, desired, kind, LinkOptions.from_module(module))
    except UnderlayError as exc:
        fail_from(module, exc)
    module.exit_json(**result)
