# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The few rtnetlink messages of the hot path, packed and unpacked with ``struct``.

Reading a namespace (its links, addresses and main-table routes) and creating macvlan links with their
marker and address are what a host with many links spends its time on; through pyroute2 each message costs
about 0.3 ms of Python (its generic encoder and decoder, its asyncio request loop), five to ten times the
kernel's own work (benchmarks/README.md). This file speaks those few messages directly on a netlink socket
and hands back objects shaped like pyroute2's (``msg['index']``, ``msg.get_attr('IFLA_IFNAME')``), so the
callers in ``netlink.py`` read both alike. Everything else still goes through pyroute2, and so does the
kind-specific data of every link kind but macvlan/macvtap (``LinkMessage`` decodes such a message again
through pyroute2 when that data is asked for). An attribute this file does not decode is a programming
error (KeyError), never a silent None.
"""

from __future__ import annotations

import itertools
import socket
import struct

NLMSGHDR = struct.Struct('=IHHII')  # length, type, flags, sequence, port
NLA = struct.Struct('=HH')  # length, type
IFINFOMSG = struct.Struct('=BxHiII')  # family, device type, index, flags, change
IFADDRMSG = struct.Struct('=BBBBi')  # family, prefix length, flags, scope, index
RTMSG = struct.Struct('=BBBBBBBBI')  # family, dst_len, src_len, tos, table, protocol, scope, type, flags
U32 = struct.Struct('=I')
S32 = struct.Struct('=i')

NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_ACK, NLM_F_DUMP_INTR = 0x1, 0x2, 0x4, 0x10
NLM_F_DUMP = 0x300
NLM_F_EXCL, NLM_F_CREATE = 0x200, 0x400
NLA_F_NESTED, NLA_TYPE_MASK = 0x8000, 0x3FFF
RTM_NEWLINK, RTM_GETLINK, RTM_NEWADDR, RTM_GETADDR, RTM_GETROUTE = 16, 18, 20, 22, 26
RTM_GETNSID, NETNSA_NSID, NETNSA_PID = 90, 1, 2
RTGENMSG = struct.Struct('=Bxxx')  # family, padded to four bytes
IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS = 29, 1 << 3
IFF_UP = 0x1
# A dump the kernel marks inconsistent (the table changed while it ran: IPv6 autoconfiguration does, for a
# while after links are made) is taken again, up to this many times; then it is taken as it is, as ip and
# pyroute2 take every dump.
DUMP_TRIES = 3
RECV_SIZE = 1 << 18

MACVLAN_MODES = {0: 'none', 1: 'private', 2: 'vepa', 4: 'bridge', 8: 'passthru', 16: 'source'}
MACVLAN_MODE_IDS = {name: number for number, name in MACVLAN_MODES.items()}
FAST_KINDS = ('macvlan', 'macvtap')  # the kinds whose IFLA_INFO_DATA this file decodes and encodes
# The keys of a pyroute2 link request (``ipr.link('add', **request)``) that create_macvlan takes as well.
CREATE_KEYS = frozenset(('kind', 'macvlan_mode', 'ifname', 'link', 'mtu', 'address', 'state', 'index'))


def netlink_error(code, msg=None):
    """pyroute2's NetlinkError, which every caller catches. Imported when first needed: netlink.py imports
    pyroute2's submodules without the package's costly ``__init__``, which an import here would run."""
    from pyroute2.netlink.exceptions import NetlinkError
    return NetlinkError(code, msg)


def _asciiz(data):
    return bytes(data).split(b'\0', 1)[0].decode('utf-8', 'replace')


def _mac(data):
    return ':'.join('%02x' % octet for octet in bytes(data[:6])) if len(data) >= 6 else None


def _u32(data):
    return U32.unpack_from(data)[0]


def attributes(data, offset=0, end=None):
    """(type, payload) of every netlink attribute in ``data[offset:end]``, the nested flag cleared."""
    end = len(data) if end is None else end
    found = []
    while offset + 4 <= end:
        length, kind = NLA.unpack_from(data, offset)
        if length < 4:
            break
        found.append((kind & NLA_TYPE_MASK, data[offset + 4:offset + length]))
        offset += (length + 3) & ~3
    return found


class AttrTable(dict):
    """type -> (name, decoder) of one kind of message or nested attribute, with the set of its names."""

    def __init__(self, entries):
        super().__init__(entries)
        self.names = frozenset(name for name, _decoder in self.values())


class Attrs:
    """Decoded attributes with pyroute2's lookup: ``get_attr(name)`` (the first, or None), ``get_attrs(name)``."""

    __slots__ = ('_found', '_known')

    def __init__(self, found, known):
        self._found = found  # name -> list of values
        self._known = known  # every name this decoder knows: any other is a programming error

    def get_attr(self, name, default=None):
        values = self.get_attrs(name)
        return values[0] if values else default

    def get_attrs(self, name):
        if name not in self._known:
            raise KeyError('%s is not decoded by rtnl_codec' % name)
        return self._found.get(name, [])


def decode_attrs(data, table):
    """``table``: an AttrTable; types it does not list are skipped."""
    found = {}
    for kind, payload in attributes(data):
        entry = table.get(kind)
        if entry is not None:
            found.setdefault(entry[0], []).append(entry[1](payload))
    return Attrs(found, table.names)


MACADDR_LIST = AttrTable({4: ('IFLA_MACVLAN_MACADDR', _mac)})
MACVLAN_DATA = AttrTable({
    1: ('IFLA_MACVLAN_MODE', lambda data: MACVLAN_MODES.get(_u32(data), _u32(data))),
    5: ('IFLA_MACVLAN_MACADDR_DATA', lambda data: decode_attrs(data, MACADDR_LIST)),
    6: ('IFLA_MACVLAN_MACADDR_COUNT', _u32),
})
LINKINFO = AttrTable({1: ('IFLA_INFO_KIND', _asciiz), 2: ('IFLA_INFO_DATA', bytes)})
LINK = AttrTable({
    1: ('IFLA_ADDRESS', _mac),
    3: ('IFLA_IFNAME', _asciiz),
    4: ('IFLA_MTU', _u32),
    5: ('IFLA_LINK', _u32),
    18: ('IFLA_LINKINFO', bytes),
    20: ('IFLA_IFALIAS', _asciiz),
    27: ('IFLA_GROUP', _u32),
    37: ('IFLA_LINK_NETNSID', lambda data: S32.unpack_from(data)[0]),
})


class LinkInfo(Attrs):
    """IFLA_LINKINFO: the kind's data decoded here for macvlan/macvtap, by pyroute2 for any other kind."""

    __slots__ = ('_message',)

    def __init__(self, payload, message):
        attrs = decode_attrs(payload, LINKINFO)
        super().__init__(attrs._found, attrs._known)
        self._message = message

    def get_attrs(self, name):
        if name != 'IFLA_INFO_DATA' or not self._found.get(name):
            return super().get_attrs(name)
        if self.get_attr('IFLA_INFO_KIND') in FAST_KINDS:
            return [decode_attrs(self._found[name][0], MACVLAN_DATA)]
        info = self._message.pyroute2().get_attr('IFLA_LINKINFO')
        return info.get_attrs(name) if info is not None else []


class Message:
    """One message: header fields by key, attributes through ``get_attr``."""

    __slots__ = ('fields', 'attrs')

    def __init__(self, fields, attrs):
        self.fields = fields
        self.attrs = attrs

    def __getitem__(self, key):
        return self.fields[key]

    def get(self, key, default=None):
        return self.fields.get(key, default)

    def get_attr(self, name, default=None):
        values = self.get_attrs(name)
        return values[0] if values else default

    def get_attrs(self, name):
        return self.attrs.get_attrs(name)


class LinkMessage(Message):
    """RTM_NEWLINK; keeps its bytes for pyroute2's decoding of the data of kinds this file leaves to it."""

    __slots__ = ('_raw', '_full', '_linkinfo')

    def __init__(self, raw):
        family, _type, index, flags, change = IFINFOMSG.unpack_from(raw, NLMSGHDR.size)
        super().__init__({'family': family, 'index': index, 'flags': flags, 'change': change},
                         decode_attrs(raw[NLMSGHDR.size + IFINFOMSG.size:], LINK))
        self._raw = raw
        self._full = None
        self._linkinfo = None  # decoded when first asked for

    def get_attrs(self, name):
        if name != 'IFLA_LINKINFO':
            return super().get_attrs(name)
        if self._linkinfo is None:
            self._linkinfo = [LinkInfo(payload, self) for payload in super().get_attrs(name)]
        return self._linkinfo

    def pyroute2(self):
        if self._full is None:
            from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg  # see netlink_error
            self._full = ifinfmsg(bytes(self._raw))
            self._full.decode()
        return self._full


def _ip(family):
    return lambda data: socket.inet_ntop(family, bytes(data))


def _address_table(family):
    return AttrTable({1: ('IFA_ADDRESS', _ip(family)), 2: ('IFA_LOCAL', _ip(family))})


def _route_table(family):
    return AttrTable({1: ('RTA_DST', _ip(family)), 4: ('RTA_OIF', _u32), 5: ('RTA_GATEWAY', _ip(family)),
                      6: ('RTA_PRIORITY', _u32), 15: ('RTA_TABLE', _u32)})


ADDRESS = {socket.AF_INET: _address_table(socket.AF_INET), socket.AF_INET6: _address_table(socket.AF_INET6)}
ROUTE = {socket.AF_INET: _route_table(socket.AF_INET), socket.AF_INET6: _route_table(socket.AF_INET6)}


def address_message(raw):
    family, prefixlen, flags, scope, index = IFADDRMSG.unpack_from(raw, NLMSGHDR.size)
    return Message({'family': family, 'prefixlen': prefixlen, 'flags': flags, 'scope': scope, 'index': index},
                   decode_attrs(raw[NLMSGHDR.size + IFADDRMSG.size:], ADDRESS[family]))


def route_message(raw):
    family, dst_len, _src_len, _tos, table, proto, scope, kind, _flags = RTMSG.unpack_from(raw, NLMSGHDR.size)
    attrs = decode_attrs(raw[NLMSGHDR.size + RTMSG.size:], ROUTE[family])
    return Message({'family': family, 'dst_len': dst_len, 'table': attrs.get_attr('RTA_TABLE', table),
                    'proto': proto, 'scope': scope, 'type': kind}, attrs)


def nla(kind, payload):
    """One attribute, padded to four bytes."""
    data = NLA.pack(4 + len(payload), kind) + payload
    return data + b'\0' * (-len(data) % 4)


def nested(kind, *parts):
    return nla(kind | NLA_F_NESTED, b''.join(parts))


def asciiz(text):
    return text.encode() + b'\0'


class RtnlSocket:
    """Requests and dumps on one rtnetlink socket (the caller's, already in its namespace), one at a time."""

    def __init__(self, sock):
        self.sock = sock
        self._sequence = itertools.count(1)

    def close(self):
        self.sock.close()

    def _send(self, kind, flags, body):
        sequence = next(self._sequence)
        self.sock.send(NLMSGHDR.pack(NLMSGHDR.size + len(body), kind, flags, sequence, 0) + body)
        return sequence

    def _replies(self, sequence):
        """Every message answering ``sequence`` up to its end (NLMSG_DONE, or the ack); raises on an error."""
        while True:
            data = memoryview(self.sock.recv(RECV_SIZE))
            offset = 0
            while offset + NLMSGHDR.size <= len(data):
                length, kind, flags, seq, _port = NLMSGHDR.unpack_from(data, offset)
                if length < NLMSGHDR.size:
                    raise netlink_error(0, 'a netlink message of %d bytes' % length)
                message = data[offset:offset + length]
                offset += (length + 3) & ~3
                if seq != sequence:
                    continue  # the answer to an earlier request given up on (an exception in between)
                if kind == NLMSG_ERROR:
                    code = -S32.unpack_from(message, NLMSGHDR.size)[0]
                    if code:
                        raise netlink_error(code)
                    return
                if kind == NLMSG_DONE:
                    return
                yield kind, flags, message
                if not flags & NLM_F_MULTI:
                    return

    def query(self, kind, body):
        """Send a request that the kernel answers with one message, and return that message."""
        for _kind, _flags, message in self._replies(self._send(kind, NLM_F_REQUEST, body)):
            return bytes(message)
        return None

    def request(self, kind, body, flags=0):
        """Send a request and wait for its ack; raises pyroute2's NetlinkError with the kernel's errno."""
        for _reply in self._replies(self._send(kind, NLM_F_REQUEST | NLM_F_ACK | flags, body)):
            pass

    def dump(self, kind, body, decode):
        """Every message of a dump, decoded; taken again when the kernel says it changed meanwhile."""
        for _attempt in range(DUMP_TRIES):
            found, interrupted = [], False
            for _kind, flags, message in self._replies(self._send(kind, NLM_F_REQUEST | NLM_F_DUMP, body)):
                interrupted = interrupted or bool(flags & NLM_F_DUMP_INTR)
                found.append(decode(bytes(message)))
            if not interrupted:
                break
        return found

    # -- dumps ------------------------------------------------------------
    def links(self):
        body = IFINFOMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0) + nla(IFLA_EXT_MASK, U32.pack(RTEXT_FILTER_SKIP_STATS))
        return self.dump(RTM_GETLINK, body, LinkMessage)

    def addresses(self):
        return self.dump(RTM_GETADDR, IFADDRMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0), address_message)

    def routes(self, family, table):
        """The routes of one family in ``table`` (the kernel sends every table: the others are left out here)."""
        found = self.dump(RTM_GETROUTE, RTMSG.pack(family, 0, 0, 0, 0, 0, 0, 0, 0), route_message)
        return [msg for msg in found if msg['table'] == table]

    def nsid_of_pid(self, pid):
        """The id this namespace gives the network namespace of process ``pid``; None when it gives none."""
        answer = self.query(RTM_GETNSID, RTGENMSG.pack(socket.AF_UNSPEC) + nla(NETNSA_PID, U32.pack(pid)))
        if answer is None:
            return None
        for kind, payload in attributes(answer, NLMSGHDR.size + RTGENMSG.size):
            if kind == NETNSA_NSID:
                return U32.unpack_from(payload)[0]  # 0xFFFFFFFF: none assigned
        return None

    # -- requests ---------------------------------------------------------
    @staticmethod
    def creates(request):
        """Whether ``create_macvlan`` can send this pyroute2 link request: a plain macvlan (no source MACs) made in
        this namespace."""
        return request.get('kind') in FAST_KINDS and CREATE_KEYS.issuperset(request)

    def create_macvlan(self, ifname, kind, mode, parent_index, index=0, up=False, mtu=None, mac_address=None):
        """RTM_NEWLINK creating a macvlan/macvtap link (no source MACs) on ``parent_index``, in this namespace."""
        flags = IFF_UP if up else 0
        parts = [IFINFOMSG.pack(socket.AF_UNSPEC, 0, index or 0, flags, flags), nla(3, asciiz(ifname)),
                 nla(5, U32.pack(parent_index))]
        if mtu is not None:
            parts.append(nla(4, U32.pack(mtu)))
        if mac_address is not None:
            parts.append(nla(1, bytes(int(octet, 16) for octet in mac_address.split(':'))))
        parts.append(nested(18, nla(1, asciiz(kind)), nested(2, nla(1, U32.pack(MACVLAN_MODE_IDS[mode])))))
        self.request(RTM_NEWLINK, b''.join(parts), NLM_F_CREATE | NLM_F_EXCL)

    def set_alias(self, index, alias):
        self.request(RTM_NEWLINK, IFINFOMSG.pack(socket.AF_UNSPEC, 0, index, 0, 0) + nla(20, asciiz(alias)))

    def add_address(self, index, family, address, prefixlen):
        packed = socket.inet_pton(family, address)
        body = IFADDRMSG.pack(family, prefixlen, 0, 0, index)
        if family == socket.AF_INET:
            body += nla(2, packed)  # IFA_LOCAL: the address itself on a broadcast link, as ip and pyroute2 send
        self.request(RTM_NEWADDR, body + nla(1, packed), NLM_F_CREATE | NLM_F_EXCL)
