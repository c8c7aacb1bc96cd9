# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read -> diff -> apply -> report for one Docker macvlan/ipvlan network (module docker_vlan_network).

Order matters for "nothing half-done": the parameters are validated first (``network.py``), then the engine is
reached and read, then the kernel; every check that can refuse runs before the first change. The VLAN
sub-interface (trunk + vlan_id) goes through the very same link reconcile as ``vlan_iface``
(``_links/single.py``), marked as made by this module, so that Docker never owns it (Docker deletes
sub-interfaces it created itself on ``docker network rm``).
"""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.underlay.network.plugins.module_utils._common.describe import describe_netns
from ansible_collections.underlay.network.plugins.module_utils._common.errors import (
    EngineError,
    LinkError,
    NetlinkOperationError,
    UnderlayError,
    fail_from,
)
from ansible_collections.underlay.network.plugins.module_utils._common.markers import DOCKER_VLAN_MARKER
from ansible_collections.underlay.network.plugins.module_utils._common.validation import validate_ifname
from ansible_collections.underlay.network.plugins.module_utils._docker.engine import Engine, require_docker
from ansible_collections.underlay.network.plugins.module_utils._docker.network import (
    address_fits,
    address_reserved,
    completed_network,
    desired_network,
    engine_conflicts,
    network_differences,
    public_network,
)
from ansible_collections.underlay.network.plugins.module_utils._docker.spec import (
    DOCKER_VLAN_NETWORK_MODULE,
    RECREATE_ALWAYS,
    RECREATE_NEVER,
)
from ansible_collections.underlay.network.plugins.module_utils._kernel.netns import labels_of_processes
from ansible_collections.underlay.network.plugins.module_utils._kernel.pyroute2_import import require_pyroute2
from ansible_collections.underlay.network.plugins.module_utils._links.change import LinkOptions
from ansible_collections.underlay.network.plugins.module_utils._links.desired import desired_link
from ansible_collections.underlay.network.plugins.module_utils._links.kinds import KINDS
from ansible_collections.underlay.network.plugins.module_utils._links.sessions import Sessions
from ansible_collections.underlay.network.plugins.module_utils._links.single import reconcile_link

VLAN = KINDS['vlan']


def desired_vlan(params):
    """The VLAN sub-interface (trunk + vlan_id) the network sits on, or None for a plain parent."""
    if params.get('trunk') is None:
        return None
    desired = desired_link({'name': params.get('vlan_name'), 'parent': params['trunk'],
                            'vlan_id': params.get('vlan_id')}, VLAN)
    desired['managed_by'] = DOCKER_VLAN_MARKER
    return desired


class NetworkReconciler:
    """Brings one network (and the VLAN under it) to the wanted state; see reconcile_network."""

    def __init__(self, engine, sessions, check_mode):
        self.engine = engine
        self.sessions = sessions
        self.check_mode = check_mode
        self._vlan_is_new = False  # whether the VLAN is made by this call (and so goes again on failure)
        self.result = {'changed': False, 'network': {}, 'vlan': {}, 'containers': [], 'actions': engine.actions,
                       'diff': {'before': {}, 'after': {}}}

    def present(self, desired, vlan, recreate):
        networks = self.engine.networks()
        current = next((n for n in networks if n['name'] == desired['name']), None)
        conflicts = engine_conflicts(networks, desired)
        if conflicts:
            raise EngineError('; '.join(conflicts) + '. Nothing was changed', conflicts=conflicts)
        self._check_parent(desired['options']['parent'], vlan)
        differences = network_differences(current, desired) if current else []
        attached = self.engine.attached_containers(current['id']) if differences else []
        target = completed_network(current, desired)
        if differences:
            self._may_recreate(target, differences, attached, recreate)

        network_changes = current is None or bool(differences)
        after = public_network(target if network_changes else current)
        self.result['diff'] = {'before': public_network(current), 'after': after}
        self.result['containers'] = [_report(c) for c in attached]
        if vlan is not None:
            self._apply_link(vlan, 'present')
        self.result['changed'] |= network_changes
        if self.check_mode or not network_changes:
            self.result['network'] = after
            return self.result
        try:
            self._replace(current, target, attached)
        except EngineError as exc:
            if current is not None:
                self._restore(current, attached, exc)
            self._drop_new_vlan(vlan, exc)
            raise
        self.result['network'] = public_network(self._read(desired['name']))
        return self.result

    def _replace(self, current, target, attached):
        """Every change to the engine: the old network out of the way with its containers, the new one in."""
        if current is not None:
            for container in attached:
                self.engine.disconnect(current, container)
            self.engine.remove_network(current)
        network_id = self.engine.create_network(target)
        for container in attached:
            self.engine.connect(target['name'], network_id, container)

    def absent(self, name, vlan, force, remove_vlan):
        networks = self.engine.networks()
        current = next((n for n in networks if n['name'] == name), None)
        attached = self.engine.attached_containers(current['id']) if current else []
        if attached and not force:
            raise EngineError("network '%s' has containers attached: %s. Stop using it first, or set force: true to "
                              'disconnect them; nothing was changed' % (name, _names(attached)),
                              containers=[_report(c) for c in attached])
        vlan_delete = self._vlan_to_remove(vlan, remove_vlan, [n for n in networks if n['name'] != name], attached)
        self.result['diff'] = {'before': public_network(current), 'after': {}}
        self.result['changed'] = current is not None or vlan_delete is not None
        self.result['containers'] = [_report(c) for c in attached]
        if self.check_mode:
            return self.result
        if current is not None:
            try:
                for container in attached:
                    self.engine.disconnect(current, container)
                self.engine.remove_network(current)
            except EngineError as exc:
                self._restore(current, attached, exc, recreate=False)
                raise
        if vlan_delete is not None:
            self._apply_link(vlan_delete, 'absent')
        return self.result

    def _apply_link(self, vlan, state):
        """The VLAN through vlan_iface's own reconcile; its steps join the engine's in ``actions``."""
        link = reconcile_link(self.sessions, vlan, VLAN, LinkOptions(state=state, check_mode=self.check_mode))
        self.result['vlan'] = link['link']
        self.result['changed'] |= link['changed']
        self.engine.actions.extend(link['actions'])

    def _restore(self, previous, attached, error, recreate=True):
        """A step failed: put the previous network back (``recreate``: even if it went) with its containers.

        What the engine holds is read again first: a step without an answer may have been done anyway.
        """
        try:
            network_id = self._previous_back(previous, recreate)
            if network_id is not None:
                there = {c['id'] for c in self.engine.attached_containers(network_id)}
                for container in attached:
                    if container['id'] not in there:
                        self.engine.connect(previous['name'], network_id, container)
        except EngineError as again:
            error.args = ('%s; putting the network and its containers back failed too: %s' % (error, again),)
        else:
            error.args = ('%s; %s' % (error, 'the network and its containers were put back as they were'
                                      if network_id is not None else 'the network is gone even so'),)
        error.details['actions'] = list(self.engine.actions)

    def _previous_back(self, previous, recreate):
        """The id of the previous network, re-created if it went (None: it went and ``recreate`` is off)."""
        now = self._read(previous['name'])
        if now is not None and now['id'] == previous['id']:
            return now['id']
        if not recreate:
            return None
        if now is not None:  # the new network, made even if its answer was lost: it gives way
            for container in self.engine.attached_containers(now['id']):
                self.engine.disconnect(now, container)
            self.engine.remove_network(now)
        return self.engine.create_network(previous)

    def _drop_new_vlan(self, vlan, error):
        """No VLAN this call made stays without its network: the failed call leaves the kernel as it was."""
        if vlan is None or not self._vlan_is_new:
            return
        try:
            users = [n['name'] for n in self.engine.networks() if n['options'].get('parent') == vlan['name']]
        except EngineError as again:
            error.args = ('%s; the VLAN %s made for it was left, as the engine cannot say what is on it: %s'
                          % (error, vlan['name'], again),)
            return
        if users:
            return  # a network sits on it after all (made though its answer was lost)
        try:
            self._apply_link(vlan, 'absent')
        except (LinkError, NetlinkOperationError) as again:
            error.args = ('%s; deleting the VLAN %s made for it failed too: %s' % (error, vlan['name'], again),)
        else:
            error.args = ('%s; the VLAN %s made for it was deleted again' % (error, vlan['name']),)
        error.details['actions'] = list(self.engine.actions)

    def _check_parent(self, parent, vlan):
        task = self.sessions.task
        if vlan is not None:
            if task.link_msg(ifname=vlan['parent']) is None:
                raise LinkError("trunk '%s' does not exist in %s; name the interface that carries the tagged "
                                'traffic. Nothing was changed' % (vlan['parent'], describe_netns(None)))
            existing = self.sessions.read_link(None, vlan['name'])
            self._vlan_is_new = existing is None
            if existing is not None and (existing['kind'] != 'vlan' or existing.get('vlan_id') != vlan['vlan_id']
                                         or existing['parent'] != vlan['parent']):
                found = ('VLAN %s on %s' % (existing.get('vlan_id'), existing['parent'])
                         if existing['kind'] == 'vlan' else 'a %s link' % existing['kind'])
                raise LinkError("interface %s exists and is %s, not VLAN %s on %s; set vlan_name to another name or "
                                'remove that interface. Nothing was changed'
                                % (vlan['name'], found, vlan['vlan_id'], vlan['parent']))
        elif task.link_msg(ifname=parent) is None:
            raise LinkError("parent '%s' does not exist in %s; create it first, or give trunk and vlan_id to have "
                            'this module create the VLAN sub-interface. Nothing was changed'
                            % (parent, describe_netns(None)))

    def _may_recreate(self, desired, differences, attached, recreate):
        what = "network '%s' differs from the wanted one (%s) and a Docker network cannot be changed in place" \
               % (desired['name'], '; '.join(differences))
        if recreate == RECREATE_NEVER:
            raise EngineError('%s; recreate is never. Set recreate: when_unused (or always) to re-create it. '
                              'Nothing was changed' % what, differences=differences)
        if attached and recreate != RECREATE_ALWAYS:
            raise EngineError('%s, and containers are attached: %s. Set recreate: always to disconnect them, '
                              're-create the network and reconnect them with their addresses, or detach them '
                              'first. Nothing was changed' % (what, _names(attached)),
                              differences=differences, containers=[_report(c) for c in attached])
        addresses = [(c['name'], address) for c in attached for address in (c['ipv4_address'], c['ipv6_address'])
                     if address]
        misfits = ['%s (%s)' % (name, address) for name, address in addresses
                   if not address_fits(address, desired['pools'])]
        if misfits:
            raise EngineError('%s; the attached containers %s would have addresses outside the new subnets, so '
                              'they could not be reconnected with them. Nothing was changed'
                              % (what, ', '.join(misfits)), differences=differences)
        # The engine refuses a static address its pools hold, and the reconnect would fail half-way.
        taken = ['%s (%s, the new %s)' % (name, address, address_reserved(address, desired['pools']))
                 for name, address in addresses if address_reserved(address, desired['pools'])]
        if taken:
            raise EngineError('%s; the attached containers %s have addresses the new pools reserve, so they could '
                              'not be reconnected with them. Nothing was changed' % (what, ', '.join(taken)),
                              differences=differences)

    def _vlan_to_remove(self, vlan, remove_vlan, other_networks, attached):
        """The VLAN link to delete with the network, if asked and if this module made it; refused while it
        carries links other than those of the network's own containers (which go with the network)."""
        if vlan is None or not remove_vlan:
            return None
        existing = self.sessions.read_link(None, vlan['name'])
        if existing is None:
            return None
        if existing.get('managed_by') != DOCKER_VLAN_MARKER:
            self.result.setdefault('warnings', []).append(
                '%s was not created by docker_vlan_network, so it was left in place' % vlan['name'])
            return None
        users = [n['name'] for n in other_networks if n['options'].get('parent') == vlan['name']]
        if users:
            self.result.setdefault('warnings', []).append(
                '%s is still the parent of the Docker network %s, so it was left in place'
                % (vlan['name'], ', '.join(users)))
            return None
        leaving = labels_of_processes(c['pid'] for c in attached if c['pid'])
        carried = sorted('%s (%s in %s)' % (s['name'], s['kind'], describe_netns(s['netns']))
                         for s in self.sessions.children(vlan['name']) if s['netns'] not in leaving)
        if carried:
            raise LinkError('%s still carries %s, which deleting it would delete too; remove those first, or leave '
                            'remove_vlan false. Nothing was changed' % (vlan['name'], ', '.join(carried)),
                            carried=carried)
        return vlan

    def _read(self, name):
        return next((n for n in self.engine.networks() if n['name'] == name), None)


def _names(containers):
    return ', '.join(c['name'] for c in containers)


def _report(container):
    return {k: container[k] for k in ('name', 'running', 'ipv4_address', 'ipv6_address')}


def run_network_module():
    """The whole main() of docker_vlan_network: validate, reach the engine, reconcile, report."""
    module = AnsibleModule(supports_check_mode=True, **DOCKER_VLAN_NETWORK_MODULE)
    require_docker(module)
    require_pyroute2(module)
    params = module.params
    try:
        vlan = desired_vlan(params)
        if params['state'] == 'present':
            parent = vlan['name'] if vlan else validate_ifname(params['parent'], 'parent')
            desired = desired_network(params, parent)
        with Engine(params['docker_host'], params['timeout']) as engine, Sessions() as sessions:
            reconciler = NetworkReconciler(engine, sessions, module.check_mode)
            if params['state'] == 'present':
                result = reconciler.present(desired, vlan, params['recreate'])
            else:
                result = reconciler.absent(params['name'], vlan, params['force'], params['remove_vlan'])
    except UnderlayError as exc:
        fail_from(module, exc)
    for warning in result.pop('warnings', ()):
        module.warn(warning)
    module.exit_json(**result)
