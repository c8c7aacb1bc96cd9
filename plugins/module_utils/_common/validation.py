# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure validation and normalization of user input (no netlink, no I/O).

Every function returns a normalized value or raises ``ValidationError`` whose
message names the parameter and says how to fix it, so that modules can fail
before anything on the host is touched.
"""

from __future__ import annotations

import grp
import ipaddress
import pwd
import re

from ansible_collections.underlay.network.plugins.module_utils._common.errors import ValidationError

# The kernel's IFNAMSIZ is 16 including the terminating NUL.
IFNAME_MAX_BYTES = 15
# iproute2 stores named namespaces as files below /run/netns: NAME_MAX.
NETNS_NAME_MAX_BYTES = 255

_MAC_RE = re.compile(r'^[0-9a-f]{2}(:[0-9a-f]{2}){5}$')


def validate_ifname(value, param='name'):
    """Return ``value`` if it is a valid Linux interface name."""
    if not isinstance(value, str) or not value:
        raise ValidationError('%s must be a non-empty interface name' % param)
    size = len(value.encode('utf-8'))
    if size > IFNAME_MAX_BYTES:
        raise ValidationError(
            "%s '%s' is %d bytes long; Linux interface names are at most %d bytes: "
            'choose a shorter name' % (param, value, size, IFNAME_MAX_BYTES))
    if value in ('.', '..'):
        raise ValidationError("%s '%s' is not a valid interface name" % (param, value))
    for char, what in (('/', "'/'"), (':', "':' (alias syntax)")):
        if char in value:
            raise ValidationError(
                "%s '%s' contains %s, which Linux does not allow in interface names" % (param, value, what))
    if any(c.isspace() for c in value):
        raise ValidationError(
            "%s '%s' contains whitespace, which Linux does not allow in interface names" % (param, value))
    return value


NETNS_NAME_RULES = ("a namespace name is a file name below /run/netns: at most %d ASCII characters, no '/' or "
                    "whitespace, not '.' or '..', e.g. net1" % NETNS_NAME_MAX_BYTES)


def validate_netns_name(value, param='netns'):
    """Return ``value`` if it can name a namespace below /run/netns (as ``ip netns`` does)."""
    if not isinstance(value, str) or not value:
        problem = 'must be a non-empty namespace name'
    elif value in ('.', '..'):
        problem = "'%s' is not a valid namespace name" % value
    elif '/' in value:
        problem = "'%s' contains '/'; it is a name, not a path" % value
    elif '\0' in value:
        problem = 'contains a NUL character'
    elif any(c.isspace() for c in value):
        problem = "'%s' contains whitespace" % value
    elif len(value.encode('utf-8')) > NETNS_NAME_MAX_BYTES:
        problem = 'is longer than %d bytes' % NETNS_NAME_MAX_BYTES
    elif not value.isascii():
        # pyroute2 hands the name to its namespace helper process as ASCII and crashes on anything else.
        problem = "'%s' contains '%s', which is not ASCII" % (value, next(c for c in value if not c.isascii()))
    else:
        return value
    raise ValidationError('%s %s (%s)' % (param, problem, NETNS_NAME_RULES))


def normalize_mac(value, param='mac_address'):
    """Return a MAC address in lower-case colon form."""
    text = str(value).strip().lower().replace('-', ':')
    if not _MAC_RE.match(text):
        raise ValidationError(
            "%s '%s' is not a MAC address; write it as six hex pairs, e.g. 02:42:ac:1c:f8:0a" % (param, value))
    if int(text[:2], 16) & 1:
        raise ValidationError(
            "%s '%s' is a multicast address; a link needs a unicast MAC "
            '(the lowest bit of the first byte must be 0)' % (param, value))
    return text


def normalize_interface_address(value, param='addresses'):
    """Return an address with prefix length (``192.0.2.1/24``, ``2001:db8::1/64``)."""
    text = str(value).strip()
    if '/' not in text:
        raise ValidationError(
            "%s entry '%s' has no prefix length; write it in CIDR form, e.g. 172.28.248.10/20" % (param, value))
    try:
        iface = ipaddress.ip_interface(text)
    except ValueError:
        raise ValidationError(
            "%s entry '%s' is not a valid IPv4 or IPv6 address in CIDR form" % (param, value)) from None
    return iface.with_prefixlen


def normalize_addresses(values, param='addresses'):
    """Return the sorted, de-duplicated list of normalized addresses."""
    return sort_addresses({normalize_interface_address(v, param) for v in values or ()})


def sort_addresses(addresses):
    """Sort CIDR strings IPv4 first, then numerically."""
    def key(text):
        iface = ipaddress.ip_interface(text)
        return (iface.version, iface.ip, iface.network.prefixlen)
    return sorted(addresses, key=key)


def default_route_metric(version):
    """The metric the kernel gives a route when none is asked for."""
    return 1024 if version == 6 else 0


def normalize_route(route, param='routes'):
    """Return ``{'dest', 'gateway', 'metric'}`` with the kernel's defaults filled in."""
    if isinstance(route, str):
        route = {'dest': route}
    if not isinstance(route, dict) or not route.get('dest'):
        raise ValidationError("each %s entry needs a 'dest' (a CIDR prefix or 'default')" % param)
    unknown = set(route) - {'dest', 'gateway', 'metric'}
    if unknown:
        raise ValidationError('%s entry %s has unknown keys %s; use dest, gateway and metric'
                              % (param, route['dest'], ', '.join(sorted(unknown))))
    gateway = None
    if route.get('gateway'):
        try:
            gateway = ipaddress.ip_address(str(route['gateway']).strip())
        except ValueError:
            raise ValidationError("%s entry %s: gateway '%s' is not an IP address"
                                  % (param, route['dest'], route['gateway'])) from None
    given = gateway
    if gateway is not None and gateway.is_unspecified:
        # 0.0.0.0 and :: mean no gateway (on-link): the kernel stores such an IPv4 route without one (and
        # refuses :: as an IPv6 gateway), so the route is compared and asked for without one.
        gateway = None
    version = given.version if given is not None else None
    dest_text = str(route['dest']).strip()
    if dest_text == 'default':
        dest_text = '::/0' if version == 6 else '0.0.0.0/0'
    try:
        dest = ipaddress.ip_network(dest_text, strict=True)
    except ValueError as exc:
        raise ValidationError("%s entry '%s' is not a network prefix (%s); give the network address, "
                              'e.g. 172.28.248.0/21' % (param, route['dest'], exc)) from None
    if given is not None and given.version != dest.version:
        raise ValidationError('%s entry %s: gateway %s is not of the same IP version'
                              % (param, route['dest'], given))
    metric = route.get('metric')
    if metric is None:
        metric = default_route_metric(dest.version)
    try:
        metric = int(metric)
    except (TypeError, ValueError):
        raise ValidationError('%s entry %s: metric must be an integer' % (param, route['dest'])) from None
    if not 0 <= metric <= 0xFFFFFFFF:
        raise ValidationError('%s entry %s: metric must be between 0 and 4294967295' % (param, route['dest']))
    if metric == 0 and dest.version == 6:
        metric = default_route_metric(6)  # the kernel gives an IPv6 route of metric 0 its default
    return {'dest': dest.with_prefixlen, 'gateway': str(gateway) if gateway else None, 'metric': metric}


def route_key(route):
    return (route['dest'], route['gateway'] or '', route['metric'])


def normalize_routes(values, param='routes'):
    """Return normalized routes, sorted and de-duplicated."""
    unique = {route_key(r): r for r in (normalize_route(v, param) for v in values or ())}
    return [unique[k] for k in sorted(unique)]


def validate_mtu(value, param='mtu'):
    if value is None:
        return None
    if not 68 <= int(value) <= 65535:
        raise ValidationError('%s %s is out of range; an Ethernet link takes 68 to 65535' % (param, value))
    return int(value)


def normalize_tap_device(params):
    """A macvtap's declared device node: ``tap_owner`` and ``tap_group`` (names or numbers; a name must exist on the
    host) and ``tap_mode`` (octal permissions, e.g. 0660). None: leave as it is."""
    owner, group, mode = params.get('tap_owner'), params.get('tap_group'), params.get('tap_mode')
    checks = ((owner, 'tap_owner', pwd.getpwnam, 'user'), (group, 'tap_group', grp.getgrnam, 'group'))
    for value, param, database, what in checks:
        if value is None:
            continue
        if not value or (not value.isdigit() and not _exists(database, value)):
            raise ValidationError("%s '%s' is not a %s on this host (getent finds no such entry); create the %s "
                                  'first, or give an existing name or a numeric id' % (param, value, what, what))
    if mode is not None:
        if not re.fullmatch(r'0?[0-7]{3}', mode):
            raise ValidationError("tap_mode '%s' is not a permission mode; give three octal digits as a quoted "
                                  "string, e.g. '0660' (owner and group read and write), without set-id bits"
                                  % mode)
        mode = '0' + mode[-3:]
    return {'path': None, 'owner': owner, 'group': group, 'mode': mode}


def _exists(database, name):
    try:
        database(name)
    except KeyError:
        return False
    return True
