# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What is particular to each kind of link: its netlink attributes, its rules, what can change in place.

Everything else (reading, diffing, addresses, routes, namespaces) is shared: ``_kernel/netlink.py`` reads and
writes, ``diff.py`` compares, ``change.py`` and ``apply.py`` plan and apply. A kind's options are in ``spec.py``,
its words (modes, flags, protocols) in ``_common/vocabulary.py``.
"""

from __future__ import annotations

import os

from ansible_collections.underlay.network.plugins.module_utils._common.describe import describe_link, describe_netns
from ansible_collections.underlay.network.plugins.module_utils._common.errors import LinkError, ValidationError
from ansible_collections.underlay.network.plugins.module_utils._common.validation import (
    normalize_mac,
    normalize_tap_device,
    validate_ifname,
)
from ansible_collections.underlay.network.plugins.module_utils._common.vocabulary import (
    IPVLAN_FLAGS,
    IPVLAN_MODES,
    MACVLAN_MODES,
    VLAN_FLAGS,
    VLAN_PROTOCOLS,
)
from ansible_collections.underlay.network.plugins.module_utils._kernel.tap_device import (
    DEFAULT_NODE,
    device_numbers,
    read_node,
    remove_node,
    tap_path,
    write_node,
)


class LinkKind:
    """Base class: a kind of virtual link stacked on a parent."""

    kind = None
    # Kind-specific fields of the normalized state, compared by the diff.
    fields = ()
    # The driver cannot create the link straight into another namespace: create, move, rename
    # (netlink.Namespace.create_link does that anyway when the name is taken in the task's namespace).
    move_after_create = False
    # Fields of ``fields`` that live outside netlink (a macvtap's device node): read by ``outside_state``, set by
    # ``apply_outside``, never sent with the netlink fields.
    outside_fields = ()
    # The kernel's "port" the kind puts on its parent: a parent carries one kind of port (macvlan or ipvlan).
    port = None

    def decode(self, info_data):
        """Normalized kind-specific fields from IFLA_INFO_DATA."""
        return {}

    def encode(self, desired):
        """pyroute2 keyword arguments that set the kind-specific fields."""
        return {'kind': self.kind}

    def normalize(self, params):
        """Validate and normalize the kind-specific module parameters."""
        return {}

    def immutable_differences(self, current, desired):
        """Human-readable differences the kernel cannot apply in place."""
        return []

    def keeps_mac(self, desired):
        """Whether a re-created link may take over the old link's MAC address."""
        return True

    def wanted(self, field, current_value, desired_value):
        """The value ``field`` must end up with; fields declared in part (flags) merge with the current."""
        return desired_value

    def default_name(self, params):
        """The link name when the user gives none (only VLANs have one)."""
        return None

    def preflight(self, sessions, desired, options):
        """Kind-specific checks before anything is changed (``options``: the call's ``LinkOptions``); raises
        LinkError."""

    def report(self, sessions, desired, check_mode):
        """Extra result keys describing the state after the change (in check mode: as it would be)."""
        return {}

    def creatable(self, sessions, target):
        """Raise LinkError if the kernel would refuse to create ``target`` where it stands now: checked before a
        re-creation deletes the old link. The link's own name is free by then."""

    def restoring(self, now, before):
        """Values to declare, besides ``before``, to bring fields declared in part (merged) back from ``now``."""
        return {}

    def outside_state(self, netns, state):
        """The ``outside_fields`` of the link ``state`` (read from netlink) in ``netns``."""
        return {}

    def new_index(self, task, where):
        """The ifindex to create a link of this kind with in ``where`` (through ``task``); None: the kernel's choice
        (or the session's, for a whole-namespace session)."""
        return None

    def before_delete(self, netns, state):
        """Read, while the link ``state`` in ``netns`` still exists, what removing its outside fields needs; returns
        a function that removes them once the link is deleted and returns the actions taken (None: nothing)."""
        return None

    def apply_outside(self, netns, index, field, value):
        """Set outside field ``field`` of the link ``index`` in ``netns`` to ``value``; returns the action taken.
        Raises DeviceNodeError (a NetlinkOperationError: undone like a refused netlink step)."""
        raise NotImplementedError(field)


def stacked_besides(sessions, target, kind):
    """The links of ``kind`` on ``target``'s parent, wherever they live, ``target`` itself left out."""
    return [link for link in sessions.children(target['parent'], kind)
            if (link['name'], link['netns']) != (target['name'], target['netns'])]


class Macvlan(LinkKind):
    kind = 'macvlan'
    fields = ('mode', 'source_macs')
    port = 'macvlan'
    MODES = MACVLAN_MODES
    # IFLA_MACVLAN_MACADDR_MODE: SET replaces the whole source list at once.
    MACADDR_SET = 'set'

    def decode(self, info_data):
        if info_data is None:
            return {'mode': None, 'source_macs': []}
        macs = info_data.get_attr('IFLA_MACVLAN_MACADDR_DATA')
        return {
            'mode': info_data.get_attr('IFLA_MACVLAN_MODE'),
            'source_macs': sorted(macs.get_attrs('IFLA_MACVLAN_MACADDR')) if macs is not None else [],
        }

    def encode(self, desired):
        request = {'kind': self.kind, 'macvlan_mode': desired['mode']}
        if desired['mode'] == 'source' and desired.get('source_macs') is not None:
            request['macvlan_macaddr_mode'] = self.MACADDR_SET
            request['macvlan_macaddr_data'] = {
                'attrs': [('IFLA_MACVLAN_MACADDR', mac) for mac in desired['source_macs']]}
        return request

    def normalize(self, params):
        mode = params.get('mode') or 'bridge'
        if mode not in self.MODES:
            raise ValidationError("mode '%s' is not a macvlan mode; use one of %s" % (mode, ', '.join(self.MODES)))
        macs = params.get('source_macs')
        if macs is not None and mode != 'source':
            raise ValidationError(
                "source_macs is only used with mode=source (mode is '%s'); remove source_macs "
                'or set mode: source' % mode)
        if macs is not None:
            macs = sorted({normalize_mac(m, 'source_macs') for m in macs})
        return {'mode': mode, 'source_macs': macs}

    def immutable_differences(self, current, desired):
        # The kernel refuses to switch a macvlan into or out of passthru in place (EINVAL).
        if (current['mode'] == 'passthru') != (desired['mode'] == 'passthru'):
            return ["mode is '%s', wanted '%s' (passthru cannot be entered or left in place)"
                    % (current['mode'], desired['mode'])]
        return []

    def keeps_mac(self, desired):
        # A passthru macvlan shares its parent's MAC: setting one would change the parent's.
        return desired['mode'] != 'passthru'

    def creatable(self, sessions, target):
        """A macvlan cannot come up with a MAC its parent or an up macvlan on the same parent has (EADDRINUSE)."""
        mac = target.get('mac_address')
        if mac is None or target['mode'] == 'passthru' or target.get('admin_state') == 'down':
            return
        parent = sessions.task.link_msg(ifname=target['parent'])
        users = [target['parent'] + ' itself'] if parent is not None and parent.get_attr('IFLA_ADDRESS') == mac else []
        users += [describe_link(link) for link in stacked_besides(sessions, target, self.kind)
                  if link['mac_address'] == mac and link['admin_state'] == 'up']
        if users:
            raise LinkError('MAC address %s is in use on %s by %s, so the kernel would refuse %s there (Address '
                            'already in use); set another mac_address or free that one first; nothing was changed'
                            % (mac, target['parent'], ', '.join(users), target['name']), actions=[])


class Vlan(LinkKind):
    """802.1Q / 802.1ad sub-interfaces. The kernel keeps a VLAN's id and protocol for life:
    ``ip link set ... type vlan id 11`` is accepted and silently ignored."""

    kind = 'vlan'
    fields = ('vlan_id', 'protocol', 'flags', 'ingress_qos_map', 'egress_qos_map')
    PROTOCOLS = VLAN_PROTOCOLS
    FLAGS = VLAN_FLAGS
    MERGED_FIELDS = ('flags', 'ingress_qos_map', 'egress_qos_map')

    def decode(self, info_data):
        if info_data is None:
            return {}
        protocol = info_data.get_attr('IFLA_VLAN_PROTOCOL')
        flags = (info_data.get_attr('IFLA_VLAN_FLAGS') or {}).get('flags', 0)
        return {
            'vlan_id': info_data.get_attr('IFLA_VLAN_ID'),
            'protocol': next((name for name, value in self.PROTOCOLS.items() if value == protocol), protocol),
            'flags': {name: bool(flags & bit) for name, bit in self.FLAGS.items()},
            'ingress_qos_map': self._decode_qos(info_data.get_attr('IFLA_VLAN_INGRESS_QOS')),
            'egress_qos_map': self._decode_qos(info_data.get_attr('IFLA_VLAN_EGRESS_QOS')),
        }

    @staticmethod
    def _decode_qos(qos):
        if qos is None:
            return {}
        # The kernel lists ingress entries that map to 0 too; only real mappings count.
        return {m['from']: m['to'] for m in qos.get_attrs('IFLA_VLAN_QOS_MAPPING') if m['to']}

    def encode(self, desired):
        request = {'kind': self.kind, 'vlan_id': desired['vlan_id'],
                   'vlan_protocol': self.PROTOCOLS[desired['protocol']]}
        if desired.get('flags'):
            mask = sum(self.FLAGS[name] for name in desired['flags'])
            value = sum(self.FLAGS[name] for name, on in desired['flags'].items() if on)
            request['vlan_flags'] = {'flags': value, 'mask': mask}
        for field, attr in (('ingress_qos_map', 'vlan_ingress_qos'), ('egress_qos_map', 'vlan_egress_qos')):
            if desired.get(field):
                request[attr] = {'attrs': [('IFLA_VLAN_QOS_MAPPING', {'from': k, 'to': v})
                                           for k, v in sorted(desired[field].items())]}
        return request

    def default_name(self, params):
        if params.get('parent') and params.get('vlan_id') is not None:
            name = '%s.%s' % (params['parent'], params['vlan_id'])
            try:
                return validate_ifname(name, 'name')
            except ValidationError:
                raise ValidationError(
                    "the default name '%s' (PARENT.VLAN_ID) is %d bytes long; interface names are at most 15 "
                    'bytes: set name explicitly' % (name, len(name.encode('utf-8')))) from None
        raise ValidationError('name is required unless parent and vlan_id are given (the default is PARENT.VLAN_ID)')

    def normalize(self, params):
        vlan_id = params.get('vlan_id')
        if vlan_id is None:
            raise ValidationError('vlan_id is required with state=present (1 to 4094)')
        if not 1 <= vlan_id <= 4094:
            raise ValidationError('vlan_id %s is out of range; VLAN ids are 1 to 4094 (0 means priority tagging '
                                  'only and 4095 is reserved)' % vlan_id)
        protocol = params.get('protocol') or '802.1Q'
        if protocol not in self.PROTOCOLS:
            raise ValidationError("protocol '%s' is not a VLAN protocol; use 802.1Q or 802.1ad (802.1ad is the "
                                  'outer tag of QinQ)' % protocol)
        flags = {k: v for k, v in (params.get('flags') or {}).items() if v is not None} or None
        return {'vlan_id': vlan_id, 'protocol': protocol, 'flags': flags,
                'ingress_qos_map': self._normalize_qos(params.get('ingress_qos_map'), 'ingress_qos_map', 7, None),
                'egress_qos_map': self._normalize_qos(params.get('egress_qos_map'), 'egress_qos_map', None, 7)}

    @staticmethod
    def _normalize_qos(mapping, param, max_from, max_to):
        if not mapping:
            return None
        result = {}
        for key, value in mapping.items():
            try:
                src, dst = int(key), int(value)
            except (TypeError, ValueError):
                raise ValidationError('%s entry %s: %s must map integers to integers' % (param, key, value)) from None
            if src < 0 or (max_from is not None and src > max_from) or dst < 0 or (max_to is not None and dst > max_to):
                raise ValidationError('%s entry %s: %s is out of range; 802.1p priorities are 0 to 7'
                                      % (param, key, value))
            result[src] = dst
        return result

    def wanted(self, field, current_value, desired_value):
        if field in self.MERGED_FIELDS and desired_value is not None:
            return {**(current_value or {}), **desired_value}
        return desired_value

    def creatable(self, sessions, target):
        """The kernel allows one VLAN per id and protocol on a parent, whatever its name or namespace (EEXIST)."""
        taken = [link for link in stacked_besides(sessions, target, self.kind)
                 if (link['vlan_id'], link['protocol']) == (target['vlan_id'], target['protocol'])]
        if taken:
            raise LinkError('%s cannot be created as VLAN %d (%s) on %s: %s is that VLAN on %s already, and the '
                            'kernel allows one per parent; use another vlan_id or remove that link first; nothing '
                            'was changed' % (target['name'], target['vlan_id'], target['protocol'], target['parent'],
                                             describe_link(taken[0]), target['parent']), actions=[])

    def restoring(self, now, before):
        # The QoS maps merge with what is there: a mapping added since must be declared back to 0 to go.
        return {field: {**{prio: 0 for prio in now.get(field) or {}}, **(before.get(field) or {})}
                for field in ('ingress_qos_map', 'egress_qos_map')}

    def immutable_differences(self, current, desired):
        return ["%s is %s, wanted %s (the kernel keeps a VLAN's %s for life)"
                % (field, current[field], desired[field], field)
                for field in ('vlan_id', 'protocol') if current.get(field) != desired[field]]


class Ipvlan(LinkKind):
    """ipvlan links. Mode and flag belong to the parent's *port*, not to one link: creating or
    changing one ipvlan in another mode silently switches every ipvlan on that parent."""

    kind = 'ipvlan'
    fields = ('mode', 'flag')
    port = 'ipvlan'
    # Seen on 6.1: creating an ipvlan directly in another namespace fails (EEXIST/EBUSY).
    move_after_create = True
    MODES = IPVLAN_MODES
    FLAGS = IPVLAN_FLAGS

    def decode(self, info_data):
        if info_data is None:
            return {'mode': None, 'flag': None}
        mode, flag = info_data.get_attr('IFLA_IPVLAN_MODE'), info_data.get_attr('IFLA_IPVLAN_FLAGS') or 0
        return {'mode': self.MODES[mode] if mode is not None and mode < len(self.MODES) else mode,
                'flag': self.FLAGS[flag] if flag < len(self.FLAGS) else flag}

    def encode(self, desired):
        return {'kind': self.kind, 'ipvlan_mode': self.MODES.index(desired['mode']),
                'ipvlan_flags': self.FLAGS.index(desired['flag'])}

    def normalize(self, params):
        if params.get('mac_address'):
            raise ValidationError('mac_address cannot be set on an ipvlan link: every ipvlan shares its '
                                  "parent's MAC address (use macvlan_link for a MAC of its own)")
        mode, flag = params.get('mode') or 'l2', params.get('flag') or 'bridge'
        if mode not in self.MODES:
            raise ValidationError("mode '%s' is not an ipvlan mode; use one of %s" % (mode, ', '.join(self.MODES)))
        if flag not in self.FLAGS:
            raise ValidationError("flag '%s' is not an ipvlan flag; use one of %s" % (flag, ', '.join(self.FLAGS)))
        return {'mode': mode, 'flag': flag}

    def keeps_mac(self, desired):
        return False

    @staticmethod
    def _describe(link):
        where = describe_netns(link['netns']) if link['netns'] else "the task's namespace"
        return '%s in %s (%s, %s)' % (link['name'], where, link['mode'], link['flag'])

    def preflight(self, sessions, desired, options):
        """Refuse a port-wide mode switch unless the user allowed it, before anything is touched."""
        affected = [link for link in stacked_besides(sessions, desired, self.kind)
                    if (link['mode'], link['flag']) != (desired['mode'], desired['flag'])]
        if affected and not options.allow_port_mode_change:
            raise LinkError(
                "%s in mode %s (flag %s) would switch every ipvlan on parent %s, because the kernel keeps one "
                'mode per parent: %s would change. Use mode %s and flag %s to match the port, or set '
                'allow_port_mode_change: true to switch them all; nothing was changed'
                % (desired['name'], desired['mode'], desired['flag'], desired['parent'],
                   ', '.join(self._describe(link) for link in affected), affected[0]['mode'], affected[0]['flag']),
                would_change=[self._describe(link) for link in affected])

    def report(self, sessions, desired, check_mode):
        links = sessions.children(desired['parent'], self.kind)
        if check_mode:  # as it would be: the whole port in the desired mode, this link included
            links = [dict(link, mode=desired['mode'], flag=desired['flag']) for link in links
                     if (link['name'], link['netns']) != (desired['name'], desired['netns'])]
            links.append({'name': desired['name'], 'netns': desired['netns'], 'mode': desired['mode'],
                          'flag': desired['flag']})
        port = links[0] if links else desired
        return {'port': {'parent': desired['parent'], 'mode': port['mode'], 'flag': port['flag'],
                         'links': sorted(({k: link[k] for k in ('name', 'netns', 'mode', 'flag')} for link in links),
                                         key=lambda link: (link['netns'] or '', link['name']))}}


class Macvtap(Macvlan):
    """A macvlan with a character device (``/dev/tapN``) instead of a stack: a VM's qemu reads and writes its frames
    there (libvirt's ``<interface type='direct'>``). Its device node is a field of the link (``tap_device``)."""

    kind = 'macvtap'
    fields = Macvlan.fields + ('tap_device',)
    outside_fields = ('tap_device',)

    def decode(self, info_data):
        state = super().decode(info_data)
        if info_data is not None and state['mode'] is None:  # pyroute2's names for the same attributes
            state['mode'] = info_data.get_attr('IFLA_MACVTAP_MODE')
            macs = info_data.get_attr('IFLA_MACVTAP_MACADDR_DATA')
            state['source_macs'] = sorted(macs.get_attrs('IFLA_MACVTAP_MACADDR')) if macs is not None else []
        return state

    def encode(self, desired):
        # pyroute2 names macvtap's attributes macvtap_*; the kernel's are macvlan's.
        return {key.replace('macvlan_', 'macvtap_'): value for key, value in super().encode(desired).items()}

    def normalize(self, params):
        return dict(super().normalize(params), tap_device=normalize_tap_device(params))

    def wanted(self, field, current_value, desired_value):
        if field != 'tap_device':
            return desired_value
        current_value = current_value or {}
        return {'path': current_value.get('path'), **{key: desired_value.get(key) or current_value.get(key)
                                                      or DEFAULT_NODE[key] for key in DEFAULT_NODE}}

    def outside_state(self, netns, state):
        return {'tap_device': read_node(tap_path(state['index']), device_numbers(netns, state['index']))}

    def apply_outside(self, netns, index, field, value):
        return write_node(tap_path(index), device_numbers(netns, index), value)

    def new_index(self, task, where):
        """An ifindex free in both namespaces whose /dev/tapN is free too: ifindexes are per namespace, device
        nodes are not, so the kernel's own choice would often give a macvtap in a namespace the node of one
        elsewhere."""
        others = (where,) if where is not task else ()
        index = task.unused_index(*others)
        while os.path.lexists(tap_path(index)):
            index = task.unused_index(*others)
        return index

    def before_delete(self, netns, state):
        path, numbers = tap_path(state['index']), device_numbers(netns, state['index'])
        return lambda: remove_node(path, numbers)


KINDS = {kind.kind: kind for kind in (Macvlan(), Macvtap(), Vlan(), Ipvlan())}
