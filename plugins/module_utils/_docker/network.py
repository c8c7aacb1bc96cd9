# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure model of a Docker macvlan/ipvlan network: validation, normalization, comparison.

Nothing here talks to an engine or the kernel, so every rule is unit-tested
(tests/unit/plugins/module_utils/_docker/test_network.py). States are plain dicts of one shape,
built from the module's parameters (``desired_network``) or from the engine's
``network inspect`` (``network_state``), so that comparing them is comparing
dicts: pools sorted, addresses normalized, driver options completed with the
engine's defaults and options the engine adds by itself left out.
"""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.underlay.network.plugins.module_utils._common.errors import ValidationError
from ansible_collections.underlay.network.plugins.module_utils._common.vocabulary import DOCKER_DRIVERS

# The driver options this collection manages, with the engine's defaults: an option not given
# is the default, so a network made by hand without it compares equal.
DRIVER_OPTIONS = {
    'macvlan': {'macvlan_mode': 'bridge'},
    'ipvlan': {'ipvlan_mode': 'l2', 'ipvlan_flag': 'bridge'},
}
# Docker's own rule for network names.
NETWORK_NAME = re.compile(r'^[a-zA-Z0-9][a-zA-Z0-9_.-]*$')


def desired_network(params, parent):
    """The wanted network from the module parameters; ``parent`` is the interface it sits on."""
    name = params['name']
    if not name or not NETWORK_NAME.match(name):
        raise ValidationError("name '%s' is not a valid Docker network name; use letters, digits, '_', '.' and '-', "
                              'starting with a letter or digit' % name)
    driver = params['driver']
    options = {'parent': parent}
    for option, default in DRIVER_OPTIONS[driver].items():
        options[option] = params.get(option) or default
    for option in ('macvlan_mode', 'ipvlan_mode', 'ipvlan_flag'):  # each belongs to one driver
        if option not in options and params.get(option) is not None:
            raise ValidationError('%s is an option of the %s driver, but driver is %s; drop %s or set driver: %s'
                                  % (option, option.split('_', maxsplit=1)[0], driver, option,
                                     option.split('_', maxsplit=1)[0]))
    pools = normalize_pools(params.get('ipam_config'))
    return {
        'name': name,
        'driver': driver,
        'options': options,
        'pools': pools,
        'enable_ipv6': any(ipaddress.ip_network(p['subnet']).version == 6 for p in pools),
        'internal': bool(params.get('internal')),
        # The engine keeps labels as strings: 8080 and '8080' are the same label.
        'labels': {str(k): str(v) for k, v in params['labels'].items()} if params.get('labels') is not None else None,
    }


def normalize_pools(pools):
    """Validate the IPAM pools and return them normalized, sorted by family and subnet."""
    if not pools:
        raise ValidationError('ipam_config needs at least one pool with the subnet of the physical network the '
                              'containers join (Docker would pick a private subnet of its own otherwise)')
    normalized = [_normalize_pool(pool, 'ipam_config[%d]' % i) for i, pool in enumerate(pools)]
    networks = [ipaddress.ip_network(p['subnet']) for p in normalized]
    for i, first in enumerate(networks):
        for second in networks[i + 1:]:
            if first.version == second.version and first.overlaps(second):
                raise ValidationError('ipam_config pools %s and %s overlap; every pool needs a subnet of its own'
                                      % (first, second))
    return sorted(normalized, key=pool_key)


def pool_key(pool):
    network = ipaddress.ip_network(pool['subnet'])
    return network.version, network.network_address, network.prefixlen


def _normalize_pool(pool, where):
    subnet = _network(pool.get('subnet'), '%s.subnet' % where)
    where = '%s (subnet %s)' % (where, subnet)
    gateway = _address(pool.get('gateway'), '%s.gateway' % where, subnet) if pool.get('gateway') else None
    edges = (subnet.network_address, subnet.broadcast_address)
    if gateway is not None and subnet.version == 4 and subnet.prefixlen < 31 and gateway in edges:
        raise ValidationError('%s.gateway %s is the network or broadcast address of the subnet; use the '
                              "router's address on that network" % (where, gateway))
    ip_range = _network(pool.get('ip_range'), '%s.ip_range' % where) if pool.get('ip_range') else None
    if ip_range is not None and (ip_range.version != subnet.version or not ip_range.subnet_of(subnet)):
        raise ValidationError('%s.ip_range %s is not inside the subnet; containers get addresses from the range, '
                              'so it must be a part of %s' % (where, ip_range, subnet))
    aux = {}
    for host, value in (pool.get('aux_addresses') or {}).items():
        address = _address(value, '%s.aux_addresses.%s' % (where, host), subnet)
        # Inside ip_range is fine: the engine reserves aux addresses wherever they are in the subnet and
        # never hands them out (tests/integration/test_docker_vlan_network.py proves it on dockerd).
        if address == gateway:
            raise ValidationError('%s.aux_addresses.%s %s is the gateway; an aux address reserves an address for '
                                  'another device' % (where, host, address))
        aux[str(host)] = str(address)
    return {'subnet': str(subnet), 'gateway': str(gateway) if gateway else None,
            'ip_range': str(ip_range) if ip_range else None, 'aux_addresses': aux}


def _network(value, where):
    try:
        return ipaddress.ip_network(str(value), strict=True)
    except ValueError:
        try:
            loose = ipaddress.ip_network(str(value), strict=False)
        except ValueError:
            raise ValidationError("%s '%s' is not a subnet in CIDR form such as 172.28.10.0/24 or 2001:db8:10::/64"
                                  % (where, value)) from None
        raise ValidationError('%s %s has host bits set; did you mean %s?' % (where, value, loose)) from None


def _address(value, where, subnet):
    try:
        address = ipaddress.ip_address(str(value))
    except ValueError:
        raise ValidationError("%s '%s' is not an IP address" % (where, value)) from None
    if address.version != subnet.version or address not in subnet:
        raise ValidationError('%s %s is outside the subnet %s; use an address inside it' % (where, address, subnet))
    return address


def network_state(inspect):
    """Normalize ``docker network inspect`` output into the shape of ``desired_network``."""
    driver = inspect.get('Driver')
    engine_options = inspect.get('Options') or {}
    options = {'parent': engine_options.get('parent')}
    for option, default in DRIVER_OPTIONS.get(driver, {}).items():
        options[option] = engine_options.get(option) or default
    pools = []
    for config in (inspect.get('IPAM') or {}).get('Config') or ():
        if not config.get('Subnet'):
            continue
        pools.append({
            'subnet': str(ipaddress.ip_network(config['Subnet'], strict=False)),
            'gateway': str(ipaddress.ip_address(config['Gateway'])) if config.get('Gateway') else None,
            'ip_range': str(ipaddress.ip_network(config['IPRange'], strict=False)) if config.get('IPRange') else None,
            'aux_addresses': {k: str(ipaddress.ip_address(v))
                              for k, v in (config.get('AuxiliaryAddresses') or {}).items()},
        })
    return {
        'name': inspect.get('Name'),
        'id': inspect.get('Id'),
        'driver': driver,
        'options': options,
        'pools': sorted(pools, key=pool_key),
        'enable_ipv6': bool(inspect.get('EnableIPv6')),
        'internal': bool(inspect.get('Internal')),
        'labels': dict(inspect.get('Labels') or {}),
    }


def network_differences(current, desired):
    """What differs between the existing network and the wanted one, as readable strings."""
    differences = []
    for field in ('driver', 'enable_ipv6', 'internal'):
        if current[field] != desired[field]:
            differences.append('%s is %s, wanted %s' % (field, current[field], desired[field]))
    for option, value in desired['options'].items():
        if current['options'].get(option) != value:
            differences.append('%s is %s, wanted %s' % (option, current['options'].get(option), value))
    if desired['labels'] is not None and current['labels'] != desired['labels']:
        differences.append('labels are %s, wanted %s' % (current['labels'], desired['labels']))
    current_pools = {p['subnet']: p for p in current['pools']}
    desired_pools = {p['subnet']: p for p in desired['pools']}
    for subnet in sorted(set(current_pools) - set(desired_pools)):
        differences.append('pool %s is not wanted' % subnet)
    for subnet in sorted(set(desired_pools) - set(current_pools)):
        differences.append('pool %s is missing' % subnet)
    for subnet in sorted(set(current_pools) & set(desired_pools)):
        have, want = current_pools[subnet], desired_pools[subnet]
        for field in ('gateway', 'ip_range', 'aux_addresses'):
            if field == 'gateway' and want['gateway'] is None:
                continue  # not given: the engine's choice stands
            if have[field] != want[field]:
                differences.append('pool %s: %s is %s, wanted %s' % (subnet, field, have[field], want[field]))
    return differences


def engine_conflicts(networks, desired):
    """Why the wanted network cannot coexist with the engine's other networks (normalized states)."""
    conflicts = []
    wanted_subnets = [ipaddress.ip_network(p['subnet']) for p in desired['pools']]
    for other in networks:
        if other['name'] == desired['name']:
            continue
        if other['driver'] in DOCKER_DRIVERS and other['options'].get('parent') == desired['options']['parent']:
            conflicts.append(
                "parent %s is already used by the %s network '%s'; Docker allows one macvlan/ipvlan network per "
                'parent: put this network on another VLAN (trunk and vlan_id) or add its subnet as another '
                "ipam_config pool of '%s'" % (desired['options']['parent'], other['driver'], other['name'],
                                              other['name']))
        for pool in other['pools']:
            theirs = ipaddress.ip_network(pool['subnet'])
            for ours in wanted_subnets:
                if ours.version == theirs.version and ours.overlaps(theirs):
                    conflicts.append("subnet %s overlaps subnet %s of the Docker network '%s' (%s); choose a "
                                     'subnet no other network on this engine uses'
                                     % (ours, theirs, other['name'], other['driver']))
    return conflicts


def completed_network(current, desired):
    """The network to create: ``desired`` with what it leaves open taken from the existing network.

    Labels not given keep the existing ones, a gateway not given keeps the one the engine picked before,
    so that re-creating changes no more than the user asked for.
    """
    target = dict(desired, pools=[dict(p) for p in desired['pools']])
    if current is None:
        target['labels'] = desired['labels'] or {}
        return target
    if desired['labels'] is None:
        target['labels'] = dict(current['labels'])
    gateways = {p['subnet']: p['gateway'] for p in current['pools']}
    for pool in target['pools']:
        if pool['gateway'] is None:
            pool['gateway'] = gateways.get(pool['subnet'])
    return target


def public_network(state):
    """A network state as the module reports it."""
    if not state:
        return {}
    return {k: v for k, v in state.items() if k != 'id'}


def address_fits(address, pools):
    """Whether a container's address (``172.28.10.5/24`` or bare) lies in one of ``pools``' subnets."""
    ip = ipaddress.ip_interface(address).ip
    return any(ip.version == ipaddress.ip_network(p['subnet']).version and ip in ipaddress.ip_network(p['subnet'])
               for p in pools)


def address_reserved(address, pools):
    """What of ``pools`` already holds a container's address: ``gateway``, ``aux address NAME`` or None.

    The engine refuses such an address as a container's static one ("Address already in use").
    """
    ip = ipaddress.ip_interface(address).ip
    for pool in pools:
        if pool['gateway'] and ipaddress.ip_address(pool['gateway']) == ip:
            return 'gateway'
        for name, aux in sorted(pool['aux_addresses'].items()):
            if ipaddress.ip_address(aux) == ip:
                return 'aux address %s' % name
    return None
