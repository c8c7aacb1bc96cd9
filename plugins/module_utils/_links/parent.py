# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The parent of a link to create, checked before anything is changed: that it exists, that the link's MTU fits
in its MTU, and that the kernel would let this kind of link be stacked on it (and that it would carry traffic)."""

from __future__ import annotations

from ansible_collections.underlay.network.plugins.module_utils._common.describe import describe_link
from ansible_collections.underlay.network.plugins.module_utils._common.errors import LinkError
from ansible_collections.underlay.network.plugins.module_utils._kernel.wireless import is_wireless


def check_parent(sessions, desired, kind, new_parents):
    """The parent's ifindex (None: made earlier by the same call); refuses a missing parent and an MTU above it."""
    parent = sessions.task.link_msg(ifname=desired['parent'])
    if desired['parent'] in new_parents:
        parent_index, parent_mtu = None, new_parents[desired['parent']]
    elif parent is None:
        raise LinkError("parent '%s' does not exist in the task's network namespace; create it first or fix parent "
                        '(the parent stays in the namespace the task runs in, the link goes to netns)'
                        % desired['parent'])
    else:
        parent_index, parent_mtu = parent['index'], parent.get_attr('IFLA_MTU')
    if desired['mtu'] is not None and parent_mtu is not None and desired['mtu'] > parent_mtu:
        raise LinkError('mtu %d is larger than the MTU %d of parent %s; a %s link cannot exceed its parent; lower '
                        'mtu or raise the parent\'s first; nothing was changed'
                        % (desired['mtu'], parent_mtu, desired['parent'], kind.kind), actions=[])
    return parent_index


def check_stacking(sessions, desired, kind, new_parents, action):
    """Refuse, before a link is created on its parent, what the kernel would refuse or what would carry nothing:
    a link on a macvtap (which belongs to its VM), a macvlan or macvtap where the parent has an ipvlan port (or
    the other way round: one parent, one kind of port), and a macvlan or macvtap on a wireless parent.

    The port kind takes a look at every namespace. The links module (a whole-host session) looks once per parent
    and call, before its first change. A single-link module creating a link does not: the creation is its first
    change, and the kernel refuses it (EBUSY) with nothing changed, which ``port_conflict`` then explains
    (``apply.LinkApplier.create``); so a loop of single-link tasks stays at one lookup per task. A re-creation,
    which deletes the old link first, looks before."""
    parent = desired['parent']
    if parent in new_parents or kind.port is None:
        return  # a parent this call creates first has no port and no links yet (its kind is declared)
    parent_kind = sessions.parent_kind(parent)
    if parent_kind == 'macvtap':
        raise LinkError('parent %s is a macvtap link, whose frames belong to the VM on its tap device; stack the %s '
                        '%s on the interface %s is on; nothing was changed'
                        % (parent, kind.kind, desired['name'], parent), actions=[])
    if sessions.whole or action == 'recreate':
        conflict = port_conflict(sessions, desired, kind)
        if conflict is not None:
            raise conflict
    if kind.port == 'macvlan' and sessions.parent_fact(parent, is_wireless):
        raise LinkError('parent %s is a wireless (802.11) interface: the kernel accepts a %s on it, but the access '
                        'point drops frames from any MAC address but the station\'s own, so %s would carry nothing; '
                        'use an ipvlan (ipvlan_link, which shares the parent\'s MAC) or a wired parent; nothing was '
                        'changed' % (parent, kind.kind, desired['name']), actions=[])


def port_conflict(sessions, desired, kind):
    """The LinkError for a link whose parent has links of the other port kind (macvlan/macvtap vs ipvlan), or
    None."""
    others = [link for link in sessions.ports_on(desired['parent']) if link['port'] != kind.port]
    if not others:
        return None
    return LinkError('%s cannot be a %s on %s: the parent has %s links already (%s), and the kernel allows links of '
                     'one port kind per parent, macvlan (with macvtap) or ipvlan (Device or resource busy); put the '
                     '%s on another parent or remove those links first; nothing was changed'
                     % (desired['name'], kind.kind, desired['parent'], others[0]['port'],
                        ', '.join(describe_link(link) for link in others), kind.kind), actions=[])
