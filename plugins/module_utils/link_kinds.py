# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What is particular to each kind of link: its netlink attributes, its own
options, what can change in place. Everything else (reading, diffing,
addresses, routes, namespaces) is shared and lives in netlink.py,
link_diff.py and link_reconcile.py.
"""

from __future__ import annotations

from ansible_collections.underlay.network.plugins.module_utils.validation import ValidationError, normalize_mac


class LinkKind:
    """Base class: a kind of virtual link stacked on a parent."""

    kind = None
    # Kind-specific fields of the normalized state, compared by the diff.
    fields = ()

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


class Macvlan(LinkKind):
    kind = 'macvlan'
    fields = ('mode', 'source_macs')
    MODES = ('bridge', 'vepa', 'private', 'passthru', 'source')
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


KINDS = {kind.kind: kind for kind in (Macvlan(),)}
