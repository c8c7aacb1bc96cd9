# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The netlink sessions of one call, one per namespace, and reading links through them.

A session (``_kernel/netlink.Namespace``) knows no link kind; ``Sessions`` hands it the kinds (``KINDS``) and the
task's own session (to name a parent that lives there), so that callers read a link by its namespace and name.
"""

from __future__ import annotations

import itertools
import os

from ansible_collections.underlay.network.plugins.module_utils._common.errors import LinkError
from ansible_collections.underlay.network.plugins.module_utils._common.validation import validate_netns_name
from ansible_collections.underlay.network.plugins.module_utils._kernel.netlink import Namespace
from ansible_collections.underlay.network.plugins.module_utils._kernel.netns import (
    PROCESS_GONE,
    list_namespaces,
    namespace_exists,
    namespace_path,
    unnamed_namespaces,
)
from ansible_collections.underlay.network.plugins.module_utils._links.diff import public_state
from ansible_collections.underlay.network.plugins.module_utils._links.kinds import KINDS


class Sessions:
    """Netlink sessions by namespace name (``None``: the task's namespace), opened once."""

    def __init__(self, whole=False):
        self._open = {}
        self.whole = whole  # read whole namespaces (the aggregate) rather than one link at a time
        # Namespaces the caller creates after planning (the links module adds them): links planned in them start
        # from nothing.
        self.created_later = set()
        self._parent_facts = {}  # (parent, what) -> as first asked in this call (parent.check_stacking)

    def get(self, name=None):
        if name not in self._open:
            if name is not None and not namespace_exists(name):
                raise LinkError("netns '%s' does not exist; this module never creates namespaces: "
                                'add an underlay.network.netns task (state: present) before it' % name)
            self._open[name] = Namespace(name, whole=self.whole)
        return self._open[name]

    @property
    def task(self):
        return self.get(None)

    def read_link(self, netns, name):
        """The normalized state of link ``name`` in ``netns`` (None: the task's namespace), or None."""
        return with_outside_fields(self.get(netns).read_link(name, self.task, KINDS))

    def link_state(self, session, msg, addressing=True):
        """The normalized state of the link ``msg`` that ``session`` read (``addressing``: with its addresses and
        routes, which cost a dump each, and the fields read outside netlink)."""
        state = session.link_state(msg, self.task, KINDS, addressing=addressing)
        return with_outside_fields(state) if addressing else state

    def namespaces(self):
        """The task's namespace (None) and every named one that is not the task's own under another name."""
        own = os.stat('/proc/self/ns/net')
        names = [None]
        for name in list_namespaces():
            try:
                found = os.stat(namespace_path(name))
            except OSError as exc:
                if exc.errno in PROCESS_GONE:
                    continue  # removed meanwhile
                raise
            if (found.st_dev, found.st_ino) != (own.st_dev, own.st_ino):
                names.append(name)
        return names

    @staticmethod
    def unnamed():
        """Sessions in the namespaces without a name that processes are in (a Docker container's), read only,
        one at a time: each is closed before the next opens (hundreds of containers would exhaust the
        descriptors). Only a process gone meanwhile is skipped; a namespace that cannot be read fails."""
        try:
            found = unnamed_namespaces()
        except OSError as exc:
            raise _unreadable('the network namespaces of processes', exc) from None
        for path, label in found:
            try:
                session = Namespace(label, whole=True, path=path)
            except OSError as exc:
                if exc.errno in PROCESS_GONE:
                    continue  # the process has gone meanwhile, and its namespace with it
                raise _unreadable(label, exc) from None
            try:
                yield session
            finally:
                session.close()

    def children(self, parents, kind=None):
        """Every link (of ``kind``, or of any kind) stacked on ``parents`` (a name or several, links of the
        task's namespace), wherever it lives: named namespaces, and those without a name that processes
        are in (a container's macvlan on a VLAN, an ipvlan of the port)."""
        parents = {parents} if isinstance(parents, str) else set(parents)
        found = []
        for session in itertools.chain([self.get(name) for name in self.namespaces()], self.unnamed()):
            for msg in session.links():
                info = msg.get_attr('IFLA_LINKINFO')
                if kind is not None and (info is None or info.get_attr('IFLA_INFO_KIND') != kind):
                    continue
                # Kind, mode and parent are all that is asked for: no address or route dumps per link.
                state = self.link_state(session, msg, addressing=False)
                if state['parent'] in parents:
                    found.append(state)
        return found

    def parent_fact(self, parent, read):
        """``read(None, parent)`` about a parent in the task's namespace, asked once per call: links this call
        declares are checked from their declaration (``desired.check_parent_ports``), not from the kernel."""
        key = (parent, read.__name__)
        if key not in self._parent_facts:
            self._parent_facts[key] = read(None, parent)
        return self._parent_facts[key]

    def parent_kind(self, parent):
        msg = self.task.link_msg(ifname=parent)
        info = msg.get_attr('IFLA_LINKINFO') if msg is not None else None
        return info.get_attr('IFLA_INFO_KIND') if info is not None else None

    def ports_on(self, parent):
        """The links with a port kind (macvlan, ipvlan) stacked on ``parent``, wherever they live, each with its
        ``port``; read once per call (one walk of every namespace)."""
        return self.parent_fact(parent, self._ports_on)

    def _ports_on(self, _netns, parent):
        return [dict(link, port=KINDS[link['kind']].port) for link in self.children(parent)
                if link['kind'] in KINDS and KINDS[link['kind']].port]

    def invalidate(self):
        """Forget every cached dump (after a change, which may touch other namespaces' links too)."""
        for session in self._open.values():
            session.invalidate()

    def close(self):
        for session in self._open.values():
            session.close()
        self._open.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def with_outside_fields(state):
    """``state`` (or None) with its kind's fields that netlink does not carry (a macvtap's device node)."""
    kind = KINDS.get(state['kind']) if state is not None else None
    if kind is not None and kind.outside_fields:
        state.update(kind.outside_state(state['netns'], state))
    return state


def _unreadable(what, exc):
    return LinkError("cannot read %s (%s): links stacked on this host's links may live there, so the guards "
                     'cannot pass without them; nothing was changed' % (what, exc.strerror or exc))


def read_virtual_links(sessions, namespaces=(), managed_only=False, kinds=(), devices=False):
    """Every virtual link (one with a kind) of the task's namespace and of ``namespaces`` (``['all']``: every
    named one), normalized as the link modules report them (links_info, the convergence record). ``devices``: physical
    devices (kind ``device``, ``lo`` left out) too."""
    if list(namespaces) == ['all']:
        names = sessions.namespaces()
    else:
        names = [None]
        for name in namespaces:
            validate_netns_name(name, 'namespaces')
            if not namespace_exists(name):
                raise LinkError("namespaces: netns '%s' does not exist (ip netns list shows those that do); "
                                "remove it or use 'all'" % name)
            names.append(name)
    found = []
    for name in names:
        session = sessions.get(name)
        for msg in session.links():
            # Filter before reading addresses and routes: a namespace without a wanted link costs no dump of them.
            state = sessions.link_state(session, msg, addressing=False)
            if (state['kind'] == 'device' and (not devices or state['name'] == 'lo')) \
                    or (managed_only and not state['managed_by']) or (kinds and state['kind'] not in kinds):
                continue
            state.update(addresses=session.addresses(msg['index']), routes=session.routes(msg['index']))
            found.append(public_state(with_outside_fields(state)))
    return sorted(found, key=lambda link: (link['netns'] is not None, link['netns'] or '', link['name']))
