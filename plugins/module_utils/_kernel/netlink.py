# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's one netlink core: a session in one network namespace (``Namespace``).

Every module that reads or changes links goes through this file: opening a namespace, reading a link into the
normalized state the diff compares, creating a link directly inside a target namespace, changing it in place,
deleting links in batches, and its addresses and routes. The hot path's messages go through the collection's own
codec (``rtnl_codec.py``); pyroute2 (``pyroute2_import.py``) serves every other request. Which kind a link is,
and what its kind-specific attributes mean, is told by the ``LinkKind`` objects handed in (``_links/kinds.py``):
this file knows no kind.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import random
import socket

from ansible_collections.underlay.network.plugins.module_utils._common.describe import describe_netns, describe_route
from ansible_collections.underlay.network.plugins.module_utils._common.errors import NetlinkOperationError
from ansible_collections.underlay.network.plugins.module_utils._common.markers import managed_by
from ansible_collections.underlay.network.plugins.module_utils._common.validation import (
    default_route_metric,
    sort_addresses,
)
from ansible_collections.underlay.network.plugins.module_utils._kernel.netns import (
    NETNS_RUN_DIR,
    namespace_exists,
    namespace_path,
    not_a_namespace,
    socket_in_namespace,
)
from ansible_collections.underlay.network.plugins.module_utils._kernel.pyroute2_import import (
    NetlinkError,
    iproute_class,
)
from ansible_collections.underlay.network.plugins.module_utils._kernel.rtnl_codec import IFF_UP, RtnlSocket

NETLINK_ROUTE = 0
NSID_UNASSIGNED = 0xFFFFFFFF
# Route protocols an operator (or this collection) installs; kernel, RA and DHCP routes are not ours.
MANAGED_ROUTE_PROTOCOLS = (3, 4)  # RTPROT_BOOT (ip route add), RTPROT_STATIC
RT_TABLE_MAIN = 254
RT_SCOPE_LINK = 253
RTN_UNICAST = 1
# Link groups from here on (one of the next 65536, picked at random per batch) are used for a moment to delete
# links in one request (Namespace.delete_links).
BATCH_GROUP_BASE = 0x554E0000
BATCH_GROUP_COUNT = 0x10000
BATCH_GROUP_TRIES = 5
# The kernel module behind a link kind, for the message when the kernel lacks it.
KERNEL_MODULES = {'vlan': '8021q', 'macvlan': 'macvlan', 'macvtap': 'macvtap', 'ipvlan': 'ipvlan'}


class Namespace:
    """A netlink session in one network namespace (``name=None``: the task's own).

    A named namespace must already exist: pyroute2 would silently create it
    otherwise, which would be a change nobody asked for (and one check mode
    must never make).
    """

    def __init__(self, name=None, whole=False, path=None):
        # path: a namespace without a name (/proc/PID/ns/net), read only; name is then how it is reported.
        self.name = name
        # whole: the caller reads many links (the aggregate), so one dump of the namespace serves them all;
        # otherwise a link is asked for by name or index, one message, however many links the namespace has.
        self.whole = whole
        if name is None:
            self._where = None
        else:
            if path is None and not namespace_exists(name):
                raise NetlinkOperationError('%s does not exist (no %s/%s)'
                                            % (describe_netns(name), NETNS_RUN_DIR, name))
            self._where = path or namespace_path(name)
        self._path_given = path is not None
        # Two sockets: the hot path's own codec (reading the namespace, creating macvlans) on one, pyroute2 for
        # everything else on the other, opened when first needed (a no-change run never needs it).
        self.rtnl = RtnlSocket(self._socket())
        self._ipr = None
        self._links = None
        self._single = {}  # ('name' or 'index', value) -> link message or None, without a dump
        # One dump each per namespace, grouped by ifindex: reading N links costs three dumps, not 3N.
        self._addresses = None
        self._link_local = None
        self._routes = None
        self._onlink = None
        self._route_msgs = None
        self._task_nsid = False  # not asked yet
        self._last_index = None  # the highest ifindex seen or handed out here

    def _socket(self):
        """A new rtnetlink socket in this namespace."""
        if self._where is None:
            return socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_ROUTE)
        try:
            return socket_in_namespace(self._where, socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_ROUTE)
        except OSError as exc:
            if self._path_given:
                raise  # a process's namespace: the caller tells a process gone from a real failure
            problem = not_a_namespace(self.name) or 'entering it failed: %s' % os.strerror(exc.errno or errno.EINVAL)
            raise NetlinkOperationError('%s: %s' % (describe_netns(self.name), problem), exc.errno) from exc

    @property
    def ipr(self):
        """pyroute2's session in this namespace, for every request the codec does not speak."""
        if self._ipr is None:
            self._ipr = iproute_class()(fileno=self._socket().detach(), groups=0)
        return self._ipr

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.rtnl.close()
        if self._ipr is not None:
            self._ipr.close()

    # -- links ------------------------------------------------------------
    def links(self, refresh=False):
        """All link messages of the namespace, dumped once and cached."""
        if self._links is None or refresh:
            self._links = self.rtnl.links()
            self._by_name = {msg.get_attr('IFLA_IFNAME'): msg for msg in self._links}
            self._by_index = {msg['index']: msg for msg in self._links}
            self._last_index = max([self._last_index or 0] + list(self._by_index))
        return self._links

    def unused_index(self, *others):
        """An ifindex no link of this namespace (nor of ``others``) has, for a new link: asking the kernel
        for the new link's index afterwards would cost a request (and a full decode) per link.

        A link created from here into another namespace needs one free in both: the kernel looks the
        index up here first (and would take the request for a change of that link).
        """
        sessions = (self,) + others
        for session in sessions:
            if session._last_index is None:
                session.links()
        index = max(session._last_index for session in sessions) + 1
        for session in sessions:
            session._last_index = index
        return index

    def invalidate(self):
        self._links = None
        self._single = {}
        self._addresses = None
        self._link_local = None
        self._routes = None
        self._onlink = None
        self._route_msgs = None

    def link_msg(self, ifname=None, index=None):
        if self._links is None and not self.whole:
            return self._one_link(ifname, index)
        self.links()
        if ifname is not None:
            return self._by_name.get(ifname)
        return self._by_index.get(index)

    def _one_link(self, ifname, index):
        key = ('name', ifname) if ifname is not None else ('index', index)
        if key not in self._single:
            try:
                request = {'ifname': ifname} if ifname is not None else {'index': index}
                self._single[key] = self.ipr.link('get', **request)[0]
            except NetlinkError as exc:
                if exc.code != errno.ENODEV:
                    raise NetlinkOperationError('reading link %s in %s failed: %s' % (
                        ifname or index, describe_netns(self.name), os.strerror(exc.code)), exc.code) from exc
                self._single[key] = None
        return self._single[key]

    def lookup_index(self, ifname):
        """The ifindex of ``ifname``, asked of the kernel for this one link (no dump, even for ``whole``), or None."""
        msg = self._one_link(ifname, None)
        return msg['index'] if msg is not None else None

    def nsid_of_task_namespace(self):
        """The id this namespace gives the task's namespace, or None if it has none (asked once)."""
        if self._task_nsid is False:
            nsid = self.rtnl.nsid_of_pid(os.getpid())
            self._task_nsid = None if nsid in (None, NSID_UNASSIGNED) else nsid
        return self._task_nsid

    def read_link(self, ifname, task_ns, kinds):
        """The normalized state of ``ifname`` or None if there is no such link.

        ``task_ns`` is the session of the task's own namespace, where parents
        live; ``kinds`` maps kind names to ``LinkKind`` decoders.
        """
        msg = self.link_msg(ifname=ifname)
        if msg is None:
            return None
        return self.link_state(msg, task_ns, kinds)

    def link_state(self, msg, task_ns, kinds, addressing=True):
        """The normalized state of a dumped link; ``addressing=False`` skips its addresses and routes."""
        linkinfo = msg.get_attr('IFLA_LINKINFO')
        kind = linkinfo.get_attr('IFLA_INFO_KIND') if linkinfo is not None else None
        state = {
            'name': msg.get_attr('IFLA_IFNAME'),
            'kind': kind or 'device',
            'netns': self.name,
            'index': msg['index'],
            'parent': self._parent_name(msg, task_ns),
            'mac_address': msg.get_attr('IFLA_ADDRESS'),
            'mtu': msg.get_attr('IFLA_MTU'),
            'admin_state': 'up' if msg['flags'] & IFF_UP else 'down',
            'managed_by': managed_by(msg.get_attr('IFLA_IFALIAS')),
        }
        if addressing:
            state['addresses'] = self.addresses(msg['index'])
            state['routes'] = self.routes(msg['index'])
        decoder = kinds.get(kind)
        if decoder is not None:
            data = linkinfo.get_attr('IFLA_INFO_DATA')
            state.update(decoder.decode(data))
        return state

    def _parent_name(self, msg, task_ns):
        """Resolve IFLA_LINK to a name, following it into the task's namespace.

        A link moved into another namespace reports its parent's index in the
        parent's namespace plus that namespace's id as seen from here
        (IFLA_LINK_NETNSID). When the id is the task namespace's, the name is
        looked up there; any other namespace is reported as ``None``.
        """
        parent_index = msg.get_attr('IFLA_LINK')
        link_nsid = msg.get_attr('IFLA_LINK_NETNSID')
        if not parent_index:
            return None
        if link_nsid is None:
            # Same namespace; a link pointing at itself (a physical device) has no parent.
            parent = self.link_msg(index=parent_index) if parent_index != msg['index'] else None
        elif task_ns is not None and task_ns is not self and link_nsid == self.nsid_of_task_namespace():
            parent = task_ns.link_msg(index=parent_index)
        else:
            parent = None
        return parent.get_attr('IFLA_IFNAME') if parent is not None else None

    def create_link(self, ifname, kind_attrs, parent_index=None, mtu=None, mac_address=None, target=None,
                    move_after_create=False, up=False, index=None):
        """Create a link stacked on ``parent_index`` (a link of this session's namespace).

        With ``target`` (another ``Namespace``) the link ends up there under ``ifname``. The kernel
        can create it there directly (the seed's add / move / rename dance in one request), but 6.1
        refuses that when ``ifname`` also exists here (EEXIST: a container's ``eth0`` on a host
        with an ``eth0``), and its ipvlan driver refuses it always (``move_after_create``). Then the
        link is created here under a temporary name, moved and renamed, and removed again if any
        step fails.

        With ``up`` the link is created up (one request less) unless it is moved afterwards, which
        takes it down again. ``index``: the ifindex wanted (a deleted link brought back under its own),
        the kernel's choice if it is taken. Returns the new link's index (None: look it up) and whether it is up.
        """
        if target is not None and self.lookup_index(ifname) is not None:
            move_after_create = True
        request = dict(kind_attrs, ifname=ifname)
        if parent_index is not None:
            request['link'] = parent_index
        if mtu is not None:
            request['mtu'] = mtu
        if mac_address is not None:
            request['address'] = mac_address
        what = 'create %s link %s' % (kind_attrs.get('kind'), ifname)
        if target is not None and move_after_create:
            if index is not None:  # free in both namespaces: the move keeps it
                request['index'] = index
            self._create_moved(what, request, ifname, target)
            return None, False
        if target is not None:
            request['net_ns_fd'] = target.name
        if up:
            request['state'] = 'up'
        if index is not None:
            request['index'] = index
        elif self.whole:  # the dump is there anyway: choose the index, no lookup afterwards
            request['index'] = self.unused_index(*([target] if target is not None else []))
        self._create_where_it_belongs(what, request, target)
        return request.get('index'), up

    def _create_where_it_belongs(self, what, request, target):
        """One request: the link made in ``target`` (or here) directly, at the index asked for if it is free."""
        try:
            self._call(what, self._link_add, 'add', **request)
        except NetlinkOperationError as exc:
            if 'index' not in request or exc.code not in (errno.EBUSY, errno.EEXIST):
                raise
            # The index went to another link meanwhile (or the refusal has another reason): let the
            # kernel choose, and a real refusal comes back again.
            del request['index']
            self._call(what, self._link_add, 'add', **request)
            for session in (self, target):  # learn the taken indexes from the next dump
                if session is not None:
                    session._last_index = None
                    session.invalidate()
        self.invalidate()
        if target is not None:  # the new link is there now
            target.invalidate()

    def _create_moved(self, what, request, ifname, target):
        """The link made here under a temporary name, moved to ``target`` and renamed there; removed again if a
        step fails."""
        request['ifname'] = temporary = 'ul%s' % os.urandom(5).hex()
        self._create_where_it_belongs(what, request, None)
        moved = False
        try:
            self.set_link(self.lookup_index(temporary), 'move %s to %s' % (ifname, describe_netns(target.name)),
                          net_ns_fd=target.name)
            moved = True
            target.invalidate()
            target.set_link(target.lookup_index(temporary), 'rename %s to %s' % (temporary, ifname), ifname=ifname)
        except NetlinkOperationError as exc:
            outcome = (target if moved else self).remove_half_made(None, temporary, ifname)
            raise NetlinkOperationError('%s; %s' % (exc, outcome), exc.code) from exc

    def remove_half_made(self, index, name, label=None):
        """Remove a link this call made and could not finish (``index`` None: look ``name`` up); returns what became
        of it and never raises, because the error that stopped the call is the one to report. The kernel may have
        removed the link already (with its parent or namespace): that is no failure of the clean-up."""
        label = label or name
        try:
            if index is None:
                index = self.lookup_index(name)
            if index is not None:
                self.delete_link(index, 'remove the half-made link %s' % label)
                return 'the new link %s was removed again, so nothing is half-applied' % label
        except NetlinkOperationError as exc:
            if exc.code != errno.ENODEV:
                return 'removing the new link %s again failed too (%s): it is left behind' % (label, exc)
        return 'the new link %s is gone already (the kernel removed it), so nothing is half-applied' % label

    def _link_add(self, command, **request):
        """``ipr.link('add', ...)``, through the codec for a plain macvlan made here (the many-links case)."""
        if self.rtnl.creates(request):
            self.rtnl.create_macvlan(request['ifname'], request['kind'], request['macvlan_mode'], request['link'],
                                     index=request.get('index'), up=request.get('state') == 'up',
                                     mtu=request.get('mtu'), mac_address=request.get('address'))
            return
        self.ipr.link(command, **request)

    def set_link(self, index, what, **attrs):
        if set(attrs) == {'ifalias'}:  # the marker, once per link created
            self._call(what, self.rtnl.set_alias, index, attrs['ifalias'])
        else:
            self._call(what, self.ipr.link, 'set', index=index, **attrs)
        self.invalidate()

    def delete_link(self, index, what):
        self._call(what, self.ipr.link, 'del', index=index)
        self.invalidate()

    def delete_links(self, links, what):
        """Delete several links of this namespace, ``links`` as (ifindex, name) pairs, in one request. Returns the
        names of those gone already: deleted meanwhile by someone else (or their ifindex is another link's now),
        which is what was wanted.

        Deleting links one by one costs an RCU grace period each (about 20 ms); a group delete
        unregisters them all at once, and the kernel checks every link before it removes any.
        The links are first put in a link group of their own: a number picked at random (so that two runs on
        one host do not pick the same one) that no link of the namespace is in. Before the group is deleted
        it is read back, and it must hold these links and no other (another run may have picked the same
        number meanwhile): otherwise the links get their groups back and another number is tried.
        """
        wanted = dict(links)
        gone = []
        for _attempt in range(BATCH_GROUP_TRIES):
            present = [msg for msg in self.links(refresh=True)
                       if msg['index'] in wanted and msg.get_attr('IFLA_IFNAME') == wanted[msg['index']]]
            found = {msg['index'] for msg in present}
            gone.extend(name for index, name in links if index not in found and name not in gone)
            if not present:
                return gone
            if len(present) == 1:
                self._delete_one(present[0], what, wanted, gone)
                return gone
            group = self._unused_group()
            if group is not None and self._delete_as_group(present, group, what, wanted, gone):
                return gone
        raise NetlinkOperationError('%s in %s failed: every link group picked for it (%d tries) was taken by other '
                                    'links meanwhile; nothing was deleted'
                                    % (what, describe_netns(self.name), BATCH_GROUP_TRIES), errno.EBUSY)

    def _delete_one(self, msg, what, wanted, gone):
        try:
            self.delete_link(msg['index'], what)
        except NetlinkOperationError as exc:
            if exc.code != errno.ENODEV:
                raise
            gone.append(wanted[msg['index']])

    def _unused_group(self):
        """A link group no link of the namespace (as last read) is in, picked at random; None if none was found."""
        used = {msg.get_attr('IFLA_GROUP') for msg in self._links}
        return random.choice([g for g in (BATCH_GROUP_BASE + random.randrange(BATCH_GROUP_COUNT)
                                          for _i in range(16)) if g not in used] or [None])

    def _delete_as_group(self, present, group, what, wanted, gone):
        """Put ``present`` in ``group`` and delete the group; False (nothing deleted, groups given back) when other
        links turned up in it meanwhile, so that another group is tried."""
        grouped = []
        try:
            for msg in present:
                try:
                    self._call(what, self.ipr.link, 'set', index=msg['index'], group=group)
                except NetlinkOperationError as exc:
                    if exc.code != errno.ENODEV:
                        raise
                    gone.append(wanted[msg['index']])  # deleted meanwhile
                    continue
                grouped.append((msg['index'], msg.get_attr('IFLA_GROUP')))
            members = {msg['index'] for msg in self.links(refresh=True) if msg.get_attr('IFLA_GROUP') == group}
            if members - {index for index, _old in grouped}:  # another run's links in it: not this group
                self._ungroup(grouped)
                return False
            if members:
                try:
                    self._call(what, self.ipr.link, 'del', group=group)
                except NetlinkOperationError as exc:
                    if exc.code != errno.ENODEV:  # ENODEV: no link in the group any more, all gone meanwhile
                        raise
            gone.extend(wanted[index] for index, _old in grouped if index not in members)
            return True
        except NetlinkOperationError:
            self._ungroup(grouped)  # nothing was deleted: give the links their groups back
            raise
        finally:
            self.invalidate()

    def _ungroup(self, grouped):
        for index, old in grouped:
            try:
                self.ipr.link('set', index=index, group=old)
            except NetlinkError:
                pass  # best effort (the link may be gone); the error that matters is re-raised

    # -- addresses and routes -----------------------------------------------
    def addresses(self, index):
        """Addresses on the link as sorted CIDR strings (IPv6 link-local left out: the kernel makes its own on
        every link; ``link_local_addresses`` has them)."""
        self._read_addresses()
        return list(self._addresses.get(index, ()))

    def link_local_addresses(self, index):
        """The IPv6 link-local addresses on the link, the kernel's own and any added (fe80::10/64), as sorted CIDR
        strings: a declared one is there when the kernel has it."""
        self._read_addresses()
        return list(self._link_local.get(index, ()))

    def _read_addresses(self):
        if self._addresses is None:
            by_index, link_local = {}, {}
            for msg in self.rtnl.addresses():
                address = msg.get_attr('IFA_ADDRESS')
                if msg['family'] == socket.AF_INET:
                    address = msg.get_attr('IFA_LOCAL') or address
                iface = ipaddress.ip_interface('%s/%d' % (address, msg['prefixlen']))
                found = link_local if iface.version == 6 and iface.ip.is_link_local else by_index
                found.setdefault(msg['index'], set()).add(iface.with_prefixlen)
            self._link_local = {i: sort_addresses(found) for i, found in link_local.items()}
            self._addresses = {i: sort_addresses(found) for i, found in by_index.items()}

    def add_address(self, index, cidr):
        iface = ipaddress.ip_interface(cidr)
        family = socket.AF_INET if iface.version == 4 else socket.AF_INET6
        self._call('add address %s' % cidr, self.rtnl.add_address, index, family, str(iface.ip),
                   iface.network.prefixlen)
        self.invalidate()

    def delete_address(self, index, cidr):
        iface = ipaddress.ip_interface(cidr)
        self._call('delete address %s' % cidr, self.ipr.addr, 'del', index=index,
                   address=str(iface.ip), prefixlen=iface.network.prefixlen)
        self.invalidate()

    def _main_routes(self, family):
        """The main table's routes of one family, dumped once per family and cached."""
        if self._route_msgs is None:
            self._route_msgs = {}
        if family not in self._route_msgs:
            self._route_msgs[family] = self.rtnl.routes(family, RT_TABLE_MAIN)
        return self._route_msgs[family]

    def routes(self, index):
        """Operator routes through the link in the main table, normalized like user input."""
        if self._routes is None:
            by_index = {}
            for family in (socket.AF_INET, socket.AF_INET6):
                for msg in self._main_routes(family):
                    if msg['proto'] not in MANAGED_ROUTE_PROTOCOLS or msg['type'] != RTN_UNICAST:
                        continue
                    version = 4 if family == socket.AF_INET else 6
                    dst = msg.get_attr('RTA_DST') or ('0.0.0.0' if version == 4 else '::')
                    metric = msg.get_attr('RTA_PRIORITY')
                    by_index.setdefault(msg.get_attr('RTA_OIF'), []).append({
                        'dest': ipaddress.ip_network('%s/%d' % (dst, msg['dst_len'])).with_prefixlen,
                        'gateway': msg.get_attr('RTA_GATEWAY'),
                        'metric': default_route_metric(version) if metric is None else metric,
                    })
            self._routes = {i: sorted(found, key=lambda r: (r['dest'], r['gateway'] or '', r['metric']))
                            for i, found in by_index.items()}
        return list(self._routes.get(index, ()))

    def onlink_prefixes(self, index):
        """The prefixes of the routes through link ``index`` without a gateway: a gateway in one of them is on-link
        there, which the kernel asks of a route's gateway (for IPv4 only routes of link scope count, as the
        connected ones are; an on-link route added without a scope has global scope and does not)."""
        if self._onlink is None:
            by_index = {}
            for family in (socket.AF_INET, socket.AF_INET6):
                for msg in self._main_routes(family):
                    if msg['type'] != RTN_UNICAST or msg.get_attr('RTA_GATEWAY') \
                            or (family == socket.AF_INET and msg['scope'] < RT_SCOPE_LINK):
                        continue
                    dst = msg.get_attr('RTA_DST') or ('0.0.0.0' if family == socket.AF_INET else '::')
                    by_index.setdefault(msg.get_attr('RTA_OIF'), []).append(
                        ipaddress.ip_network('%s/%d' % (dst, msg['dst_len'])))
            self._onlink = by_index
        return list(self._onlink.get(index, ()))

    def default_routes(self):
        """Every default route of the main table, whatever put it there (DHCP, RA, an operator), with the
        name of its interface: what keeps the host reachable, for the roles' uplink guard."""
        found = []
        for family in (socket.AF_INET, socket.AF_INET6):
            for msg in self._main_routes(family):
                if msg['dst_len'] != 0 or msg['type'] != RTN_UNICAST:
                    continue
                link = self.link_msg(index=msg.get_attr('RTA_OIF')) if msg.get_attr('RTA_OIF') else None
                found.append({'interface': link.get_attr('IFLA_IFNAME') if link is not None else None,
                              'gateway': msg.get_attr('RTA_GATEWAY'),
                              'family': 'ipv4' if family == socket.AF_INET else 'ipv6'})
        return sorted(found, key=lambda r: (r['family'], r['interface'] or '', r['gateway'] or ''))

    def _route_request(self, index, route):
        request = {'dst': route['dest'], 'oif': index, 'priority': route['metric'], 'table': RT_TABLE_MAIN}
        if route['gateway']:
            request['gateway'] = route['gateway']
        return request

    def add_route(self, index, route):
        self._call('add route %s' % describe_route(route), self.ipr.route, 'add', **self._route_request(index, route))
        self.invalidate()

    def delete_route(self, index, route):
        self._call('delete route %s' % describe_route(route), self.ipr.route, 'del',
                   **self._route_request(index, route))
        self.invalidate()

    # -- helpers ------------------------------------------------------------
    def _call(self, what, func, *args, **kwargs):
        try:
            return func(*args, **kwargs)
        except NetlinkError as exc:
            reason = os.strerror(exc.code) if exc.code else str(exc)
            kind = kwargs.get('kind')
            if exc.code == errno.EOPNOTSUPP and args[:1] == ('add',) and kind:
                reason += ' (this kernel has no %s links: it needs the kernel module %s)' % (
                    kind, KERNEL_MODULES.get(kind, kind))
            raise NetlinkOperationError('%s in %s failed: %s' % (what, describe_netns(self.name), reason),
                                        exc.code) from exc
