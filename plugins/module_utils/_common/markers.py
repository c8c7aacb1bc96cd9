# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How the collection tells its own links from everyone else's: the marker in a link's alias, and its owners.

Every rule that decides whether a link may be changed, pruned or removed reads the marker through this file.
"""

from __future__ import annotations

import re

from ansible_collections.underlay.network.plugins.module_utils._common.errors import ValidationError

# Links this collection creates carry this marker as their alias (IFLA_IFALIAS, `ip link show`
# prints it): the only way it tells its own links from anyone else's, never by name.
# A module that owns a link on the user's behalf appends itself: 'underlay.network/docker_vlan_network'.
MANAGED_MARKER = 'underlay.network'


def managed_by(alias):
    """The marker in a link's alias, or None when this collection did not create the link."""
    if alias and (alias == MANAGED_MARKER or alias.startswith(MANAGED_MARKER + '/')):
        return alias
    return None


# An owner of links (the links module's owner option): its links carry underlay.network/OWNER.
OWNER_PATTERN = re.compile(r'^[a-z0-9_]{1,32}$')
# The marker on a VLAN sub-interface docker_vlan_network created for a network (and so may remove): it keeps them
# for the user, and an owner of that name would prune them.
DOCKER_VLAN_MARKER = MANAGED_MARKER + '/docker_vlan_network'
RESERVED_OWNERS = ('docker_vlan_network',)


def owner_marker(owner=None):
    """The marker of the links a call of ``owner`` creates and may prune.

    ``underlay.network/OWNER``; without an owner the collection's own ``underlay.network``. Each owner
    (a role, say) prunes only its own links, so one role's ``overridden`` never removes another's.
    """
    if owner is None:
        return MANAGED_MARKER
    if not isinstance(owner, str) or not OWNER_PATTERN.match(owner):
        raise ValidationError("owner %r is not valid: use 1 to 32 lowercase letters, digits and underscores, "
                              "e.g. the name of the role that owns the links (vlan_host)" % (owner,))
    if owner in RESERVED_OWNERS:
        raise ValidationError("owner %s is taken by the module %s, whose VLANs carry the marker %s/%s and are "
                              "never pruned; choose another owner" % (owner, owner, MANAGED_MARKER, owner))
    return MANAGED_MARKER + '/' + owner
