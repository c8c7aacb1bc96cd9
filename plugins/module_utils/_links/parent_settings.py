# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The settings of the parents themselves (the links module's ``config.parents``): interfaces this collection does
not create, such as the host's NIC, on which it sets only what is declared. Today that is promiscuous mode, which
some NICs and virtual switches need before the macvlans' MAC addresses get through (LSR, nmstate and nmcli call it
accept-all-mac-addresses).

The kernel reports a device's IFF_PROMISC as the setting asked for (a tcpdump's or a bridge's promiscuity is
counted apart), so the setting is read and written as one flag, and nothing else of the device is touched."""

from __future__ import annotations

from ansible_collections.underlay.network.plugins.module_utils._common.errors import LinkError, ValidationError
from ansible_collections.underlay.network.plugins.module_utils._common.validation import validate_ifname

IFF_PROMISC = 0x100


def desired_parents(entries):
    """Validate config.parents: each interface once, with the settings declared (None: leave as it is)."""
    result, seen = [], set()
    for position, entry in enumerate(entries):
        label = 'config.parents[%d]' % position
        try:
            name = validate_ifname(entry['name'], 'name')
        except ValidationError as exc:
            raise ValidationError('%s: %s' % (label, exc)) from None
        if name in seen:
            raise ValidationError('%s: %s is declared twice; declare each parent once' % (label, name))
        seen.add(name)
        result.append({'name': name, 'promisc': entry.get('promisc')})
    return result


def plan_parents(sessions, parents, new_links=()):
    """(name, index, before, after) for each declared parent (before == after when nothing is to change); a parent
    must exist in the task's namespace (``new_links``: names of task-namespace links the same call creates, which
    are refused: set it on them once they exist)."""
    changes = []
    for parent in parents:
        msg = sessions.task.link_msg(ifname=parent['name'])
        if msg is None:
            made = (' (this call creates it: declare its settings in a later call)' if parent['name'] in new_links
                    else '')
            raise LinkError("config.parents: %s does not exist in the task's network namespace%s; fix the name; "
                            'nothing was changed' % (parent['name'], made), actions=[])
        before = {'name': parent['name'], 'promisc': bool(msg['flags'] & IFF_PROMISC)}
        after = dict(before, **{key: value for key, value in parent.items() if value is not None})
        changes.append((parent['name'], msg['index'], before, after))
    return changes


def apply_parents(sessions, changes):
    """Set what differs; returns the actions taken."""
    actions = []
    for name, index, before, after in changes:
        if before['promisc'] != after['promisc']:
            action = '%s: set promisc %s' % (name, 'on' if after['promisc'] else 'off')
            sessions.task.set_link(index, action, flags=IFF_PROMISC if after['promisc'] else 0, change=IFF_PROMISC)
            actions.append(action)
    return actions
