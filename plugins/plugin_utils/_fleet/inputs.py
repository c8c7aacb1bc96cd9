# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Input conversions of the fleet planner: each checks one value of the user's input and names its place
(``where``) in the message when it is wrong, with the fix. The planner's one import of netaddr."""

from __future__ import annotations

import difflib
import re
import traceback

from ansible.module_utils.parsing.convert_bool import boolean
from ansible_collections.underlay.network.plugins.module_utils._common.errors import ValidationError
from ansible_collections.underlay.network.plugins.module_utils._common.validation import (
    IFNAME_MAX_BYTES,
    validate_ifname,
)
from ansible_collections.underlay.network.plugins.plugin_utils._filters import FilterError

try:
    # The planner's one import of netaddr: the other files of the plan take these names from here.
    # pylint: disable=unused-import
    from netaddr import AddrFormatError, IPAddress, IPNetwork, IPRange, IPSet  # noqa: F401
except ImportError:  # reported when a filter is used (require_netaddr), not when Ansible loads the plugin
    NETADDR_IMPORT_ERROR = traceback.format_exc()
    AddrFormatError = IPAddress = IPNetwork = IPRange = IPSet = None
else:
    NETADDR_IMPORT_ERROR = None

DIGITS_RE = re.compile(r'^[0-9]+$')


def require_netaddr():
    if NETADDR_IMPORT_ERROR is not None:
        raise FilterError('the underlay.network fleet plan needs the Python library netaddr (>= 1.3) on the '
                          'controller: install it in the Python that runs Ansible, e.g. pip install netaddr')


def check_keys(data, known, where):
    """Fail on keys not in ``known`` (a typo), suggesting the closest known key."""
    unknown = sorted((key for key in data if key not in known), key=str)
    if not unknown:
        return
    described = []
    for key in unknown:
        close = difflib.get_close_matches(str(key), known, n=1)
        described.append("'%s'%s" % (key, " (did you mean '%s'?)" % close[0] if close else ''))
    raise FilterError('%s: unknown key%s %s; the known keys are %s'
                      % (where, 's' if len(unknown) > 1 else '', ', '.join(described), ', '.join(known)))


def as_dict(value, where, what):
    if not isinstance(value, dict):
        raise FilterError('%s must be a dictionary (%s), got %s %r' % (where, what, type(value).__name__, value))
    return value


def as_list(value, where, what):
    if not isinstance(value, (list, tuple)):
        raise FilterError('%s must be a list (%s), got %s %r' % (where, what, type(value).__name__, value))
    return list(value)


def as_str(value, where, example):
    if not isinstance(value, str) or not value:
        raise FilterError('%s must be a non-empty string, e.g. %s; got %r' % (where, example, value))
    return value


def as_int(value, where, example):
    """An integer, also written as a string of digits (as inventories and templates may give it)."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise FilterError('%s must be an integer, e.g. %s; got %r' % (where, example, value))
    if isinstance(value, str):
        if not DIGITS_RE.match(value):
            raise FilterError("%s must be an integer, e.g. %s; got '%s'" % (where, example, value))
        value = int(value)
    return value


def as_bool(value, where):
    try:
        return boolean(value, strict=True)
    except TypeError:
        raise FilterError('%s must be true or false, got %r' % (where, value)) from None


def suggest(value, choices):
    close = difflib.get_close_matches(str(value), choices, n=1)
    return " (did you mean '%s'?)" % close[0] if close else ''


def ipv4_network(value, where, example):
    """An IPv4 network in CIDR notation without host bits."""
    text = as_str(value, where, example)
    if '/' not in text:
        raise FilterError("%s '%s' has no prefix length; write a network in CIDR notation, e.g. %s"
                          % (where, text, example))
    try:
        network = IPNetwork(text)
    except (AddrFormatError, ValueError, TypeError):
        raise FilterError("%s '%s' is not a network in CIDR notation; write it like %s"
                          % (where, text, example)) from None
    if network.version != 4:
        raise FilterError("%s '%s' is IPv6: the fleet plan plans IPv4 only (IPv6 is not planned); "
                          'give the IPv4 network, e.g. %s' % (where, text, example))
    if network.ip != network.network:
        raise FilterError("%s '%s' has host bits set; write the network address, %s"
                          % (where, text, network.cidr))
    return network


def ipv4_address(value, where, example):
    text = as_str(value, where, example)
    try:
        address = IPAddress(text)
    except (AddrFormatError, ValueError, TypeError):
        raise FilterError("%s '%s' is not an IPv4 address; write one like %s" % (where, text, example)) from None
    if address.version != 4:
        raise FilterError("%s '%s' is IPv6: the fleet plan plans IPv4 only (IPv6 is not planned)"
                          % (where, text))
    return address


def check_ifname(name, where, fix):
    """A name the kernel accepts for an interface (IFNAMSIZ), with the fix that applies here."""
    size = len(name.encode('utf-8'))
    if size > IFNAME_MAX_BYTES:
        raise FilterError("%s would be '%s', %d bytes long; Linux interface names are at most %d bytes: %s"
                          % (where, name, size, IFNAME_MAX_BYTES, fix))


def trunk_name(value, where):
    name = as_str(value, where, 'eth0')
    try:
        return validate_ifname(name, where)
    except ValidationError as exc:
        raise FilterError(str(exc)) from None
