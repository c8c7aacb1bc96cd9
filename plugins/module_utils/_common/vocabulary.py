# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's words: every kind, mode, flag and state a user can write, in one place.

Argument specs, validation messages, the kernel codecs, the Docker model and the fleet planner all take their
lists from here, so that a mode added to one is added to all.
"""

from __future__ import annotations

LINK_KINDS = ('macvlan', 'macvtap', 'vlan', 'ipvlan')

# The kernel's: what the link modules and the links module take, in the kernel's order.
MACVLAN_MODES = ('bridge', 'vepa', 'private', 'passthru', 'source')  # macvtap's too: a macvlan with a tap device
IPVLAN_MODES = ('l2', 'l3', 'l3s')
IPVLAN_FLAGS = ('bridge', 'private', 'vepa')
VLAN_PROTOCOLS = {'802.1Q': 0x8100, '802.1ad': 0x88A8}
VLAN_FLAGS = {'reorder_hdr': 0x1, 'gvrp': 0x2, 'loose_binding': 0x4, 'mvrp': 0x8}

# Docker's network drivers take fewer: no source macvlan, and Docker 20.10 rejects l3s.
DOCKER_DRIVERS = ('macvlan', 'ipvlan')
DOCKER_MACVLAN_MODES = ('bridge', 'private', 'vepa', 'passthru')
DOCKER_IPVLAN_MODES = ('l2', 'l3')
# A segment of the fleet plan is shared by a host's shim and its containers: no passthru (one user per parent).
# The first mode of a driver is its default.
SEGMENT_MODES = {'macvlan': ('bridge', 'private', 'vepa'), 'ipvlan': ('l2', 'l3')}

# How a link's addresses and routes are declared: added to what is there, or replacing it.
ADD, REPLACE = 'add', 'replace'
# The links module's states (the resource-module states of ansible.netcommon).
MERGED, REPLACED, OVERRIDDEN, DELETED = 'merged', 'replaced', 'overridden', 'deleted'
STATES = (MERGED, REPLACED, OVERRIDDEN, DELETED)
# What a reachability probe expects of its target (the reachability module, the verification's plan).
REACH, ISOLATED, ANY = 'reach', 'isolated', 'any'
EXPECTATIONS = (REACH, ISOLATED, ANY)
