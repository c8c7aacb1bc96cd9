# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether a network device is wireless (802.11): sysfs tells it, netlink does not.

A macvlan (or macvtap) on a wireless parent is accepted by the kernel and then carries nothing: an 802.11 station
may send only with its own MAC address, and the access point drops the macvlans' frames.
"""

from __future__ import annotations

import os

from ansible_collections.underlay.network.plugins.module_utils._kernel.netns import run_with_sysfs


def is_wireless(netns, name):
    """Whether device ``name`` in ``netns`` (None: the task's namespace) is wireless."""
    return run_with_sysfs(netns, wireless_in_sysfs, '/sys', name)


def wireless_in_sysfs(root, name):
    """Whether the sysfs mounted at ``root`` shows ``name`` as a wireless device (cfg80211 gives it a
    ``wireless`` directory or a ``phy80211`` link)."""
    device = os.path.join(root, 'class', 'net', name)
    return any(os.path.lexists(os.path.join(device, entry)) for entry in ('wireless', 'phy80211'))
