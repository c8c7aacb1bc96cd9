"""Persistence proof: the real daemon, from the persist role's files alone, builds what the roles build.

In lab host h1 the vlan_host and shim roles converge a plan of two VLAN segments (a macvlan shim and an
ipvlan l2 shim); the persist role renders the files of the same plan into a staging directory (never /etc:
lab hosts share this machine's file system). In a fresh lab host h2, whose trunk has the same name, the
real daemon then builds the links from those files alone:

* systemd-networkd as in ENVIRONMENT.md: a private mount namespace, read-only sysfs, the staging directory
  bound onto /etc/systemd/network, a tmpfs on /run/systemd;
* ifupdown: ``ifup -a -i FILE --state-dir DIR --no-scripts`` in a private mount namespace with the
  namespace's own sysfs (ifup looks for the trunk in /sys/class/net). ifupdown is not installed on this
  machine (installing it would write /etc/network): the test takes ``ifup`` from $UNDERLAY_IFUP, else
  .cache/ifupdown (which scripts/bootstrap.sh unpacks from Debian's package), else the PATH, else
  /sbin/ifup, and is skipped without one.

The normalized netlink state of both namespaces, read with raw pyroute2, must be equal: kinds, VLAN ids and
protocols, macvlan and ipvlan modes and flags, parents, up state, IPv4 addresses and routes (destination,
gateway, source, scope, protocol, type). Needs the kernel box: 802.1Q VLANs and ipvlan.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from pyroute2 import IPRoute

NETWORKD = '/lib/systemd/systemd-networkd'
HEADER = '# Managed by underlay.network (role persist) - changes are overwritten'
FLEET = {'trunk': 'eth0', 'segments': [
    {'name': 'apps', 'vlan_id': 10, 'subnet': '172.28.10.0/24', 'gateway': '172.28.10.1',
     'container_pool': '172.28.10.128/25', 'driver': 'macvlan'},
    {'name': 'edge', 'vlan_id': 30, 'subnet': '172.28.30.0/24', 'gateway': '172.28.30.1',
     'container_pool': '172.28.30.128/25', 'driver': 'ipvlan', 'mode': 'l2'},
]}
TRUNK_NETWORK = '10-lab-trunk.network'  # the host's own configuration of its trunk: never ours
H2_ADDRESS = '172.28.252.46/20'
LINK_DATA = ('IFLA_VLAN_ID', 'IFLA_VLAN_PROTOCOL', 'IFLA_MACVLAN_MODE', 'IFLA_MACVLAN_FLAGS', 'IFLA_IPVLAN_MODE',
             'IFLA_IPVLAN_FLAGS')


def state(namespace):
    """The links a namespace has besides lo and its trunk, normalized: raw pyroute2, nothing of the collection."""
    with IPRoute(netns=namespace, flags=0) as ipr:
        messages = ipr.get_links()
        names = {message['index']: message.get_attr('IFLA_IFNAME') for message in messages}
        routes = ipr.get_routes(family=socket.AF_INET, table=254)
        links = {}
        for message in messages:
            name = names[message['index']]
            if name in ('lo', 'eth0'):
                continue
            info = message.get_attr('IFLA_LINKINFO')
            data = info.get_attr('IFLA_INFO_DATA') if info else None
            data = dict(data['attrs']) if data else {}
            links[name] = {
                'kind': info.get_attr('IFLA_INFO_KIND') if info else None,
                'data': {key: data[key] for key in LINK_DATA if key in data},
                'parent': names.get(message.get_attr('IFLA_LINK')),
                'up': bool(message['flags'] & 1),
                'addresses': sorted('%s/%d' % (address.get_attr('IFA_ADDRESS'), address['prefixlen'])
                                    for address in ipr.get_addr(family=socket.AF_INET, index=message['index'])),
                'routes': sorted((route.get_attr('RTA_DST'), route['dst_len'], route.get_attr('RTA_GATEWAY'),
                                  route.get_attr('RTA_PREFSRC'), route['scope'], route['proto'], route['type'])
                                 for route in routes if route.get_attr('RTA_OIF') == message['index']),
            }
    return links


def networkd_in(namespace, config, log):
    """systemd-networkd as a plain process in ``namespace``, reading ``config`` only (ENVIRONMENT.md's recipe)."""
    script = ' && '.join([
        'mount -t sysfs -o ro sysfs /sys',  # read-only: no udev to wait for; the namespace's own devices
        'mount --bind %s /etc/systemd/network' % config,
        'mkdir -p /run/systemd', 'mount -t tmpfs tmpfs /run/systemd',
        'mkdir /run/systemd/netif', 'chown systemd-network:systemd-network /run/systemd/netif',
        'exec timeout 90 %s' % NETWORKD,
    ])
    return subprocess.Popen(['nsenter', '--net=/run/netns/' + namespace, 'unshare', '-m', 'sh', '-c', script],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def recap(run, key='changed'):
    return {host: run.runner.stats[key].get(host, 0) for host in run.runner.stats['ok']}


def files_under(directory):
    return {str(path.relative_to(directory)): path.read_text() for path in directory.rglob('*') if path.is_file()}


def converge_and_render(ansible, lab, stage, backend, config):
    """h1 converged by vlan_host and shim, the files rendered into ``config`` (under ``stage``) by persist,
    twice: the second run changes nothing. A stale file of ours goes, the operator's own stays."""
    lab.up_switch()
    h1 = lab.add_host('h1', address='172.28.252.45/20')
    config.mkdir(parents=True)
    stale = config / ('30-underlay-shim99.netdev' if backend == 'systemd-networkd' else 'underlay-old')
    stale.write_text(HEADER + '\n')  # ours once, no longer rendered
    mine = config / ('90-mine.network' if backend == 'systemd-networkd' else 'mine')
    mine.write_text('# the operator\'s, no header: never removed\n')
    host_vars = {'ansible_connection': 'underlay.network.netns', 'underlay_fleet': FLEET,
                 'underlay_host_plan': '{{ (underlay_fleet | underlay.network.fleet_plan([inventory_hostname]))'
                                       '[inventory_hostname] }}',
                 'persist_backend': backend, 'persist_root': str(stage),
                 'persist_networkd_trunk_network': TRUNK_NETWORK}
    inventory = {'all': {'hosts': {h1: host_vars}}}

    def playbook(*roles):
        return yaml.safe_dump([{'name': 'persistence', 'hosts': 'all', 'gather_facts': False,
                                'tasks': [{'ansible.builtin.include_role': {'name': 'underlay.network.' + role}}
                                          for role in roles]}])

    applied = ansible.playbook(playbook('vlan_host', 'shim', 'persist'), inventory)
    assert applied.status == 'successful', applied.stdout
    assert not stale.exists() and mine.exists()
    rendered = files_under(config)
    again = ansible.playbook(playbook('persist'), inventory)
    assert again.status == 'successful', again.stdout
    assert recap(again) == {h1: 0}, again.stdout
    assert files_under(config) == rendered
    mine.unlink()
    expected = state(h1)
    assert sorted(expected) == ['eth0.10', 'eth0.30', 'shim10', 'shim30'], expected
    assert expected['shim30']['kind'] == 'ipvlan' and expected['shim10']['kind'] == 'macvlan'
    return expected, sorted(rendered)


def built_by(daemon, namespace, expected, log_path):
    """Run ``daemon`` (a Popen factory) until ``namespace`` holds the ``expected`` links or 30 s have passed;
    return what it holds and the time taken."""
    with open(log_path, 'wb') as log:
        process = daemon(log)
        try:
            started = time.monotonic()
            built = state(namespace)
            while built != expected and time.monotonic() < started + 30:
                if process.poll() is not None:  # ifup is done when it exits: one last look
                    built = state(namespace)
                    break
                time.sleep(0.2)
                built = state(namespace)
            took = time.monotonic() - started
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)
    return built, took


def assert_same(built, expected, took, log_path):
    differences = {name: {key: (built.get(name, {}).get(key), expected.get(name, {}).get(key))
                          for key in ('kind', 'data', 'parent', 'up', 'addresses', 'routes')
                          if built.get(name, {}).get(key) != expected.get(name, {}).get(key)}
                   for name in sorted(set(built) | set(expected)) if built.get(name) != expected.get(name)}
    assert not differences, 'after %.1fs, (daemon, roles) differ in %r\nthe daemon said:\n%s' % (
        took, differences, log_path.read_text())


def trunk_addresses(namespace):
    with IPRoute(netns=namespace, flags=0) as ipr:
        trunk = ipr.link_lookup(ifname='eth0')[0]
        return sorted('%s/%d' % (a.get_attr('IFA_ADDRESS'), a['prefixlen'])
                      for a in ipr.get_addr(family=socket.AF_INET, index=trunk))


def test_networkd_builds_from_the_rendered_files_exactly_what_the_roles_build(ansible, lab, tmp_path):
    stage = tmp_path / 'stage'
    config = stage / 'etc' / 'systemd' / 'network'
    expected, rendered = converge_and_render(ansible, lab, stage, 'systemd-networkd', config)
    assert rendered == ['10-lab-trunk.network.d/50-underlay.conf', '20-underlay-eth0.10.netdev',
                        '20-underlay-eth0.10.network', '20-underlay-eth0.30.netdev', '20-underlay-eth0.30.network',
                        '30-underlay-shim10.netdev', '30-underlay-shim10.network', '30-underlay-shim30.netdev',
                        '30-underlay-shim30.network', '90-mine.network']
    h2 = lab.add_host('h2')  # fresh: only its trunk eth0, no address
    # The trunk's own .network file, as the host would have it; the VLANs come from our drop-in of it.
    (config / TRUNK_NETWORK).write_text('[Match]\nName=eth0\n\n[Network]\nAddress=%s\n' % H2_ADDRESS)
    log_path = tmp_path / 'networkd.log'
    built, took = built_by(lambda log: networkd_in(h2, config, log), h2, expected, log_path)
    assert_same(built, expected, took, log_path)
    assert trunk_addresses(h2) == [H2_ADDRESS]  # the host's own configuration of its trunk, and nothing of ours


# scripts/bootstrap.sh unpacks ifupdown there (make test): installing it would write this machine's /etc/network.
UNPACKED_IFUP = Path(__file__).resolve().parents[2] / '.cache' / 'ifupdown' / 'sbin' / 'ifup'


def ifup_binary():
    for found in (os.environ.get('UNDERLAY_IFUP'), str(UNPACKED_IFUP), shutil.which('ifup'), '/sbin/ifup'):
        if found and os.access(found, os.X_OK):
            return found
    return None


def test_ifup_builds_from_the_rendered_file_exactly_what_the_roles_build(ansible, lab, tmp_path):
    ifup = ifup_binary()
    if ifup is None:
        pytest.skip('no ifup here (ifupdown is not installed): give one with UNDERLAY_IFUP, see the module doc')
    stage = tmp_path / 'stage'
    config = stage / 'etc' / 'network' / 'interfaces.d'
    expected, rendered = converge_and_render(ansible, lab, stage, 'ifupdown', config)
    assert rendered == ['mine', 'underlay']
    h2 = lab.add_host('h2', address=H2_ADDRESS)  # fresh: its trunk eth0 with the host's own address
    state_dir = tmp_path / 'ifstate'
    state_dir.mkdir()
    script = 'mount -t sysfs -o ro sysfs /sys && exec timeout 60 %s -a -v --no-scripts -i %s --state-dir=%s' % (
        ifup, config / 'underlay', state_dir)

    def ifup_in(log):
        return subprocess.Popen(['nsenter', '--net=/run/netns/' + h2, 'unshare', '-m', 'sh', '-c', script],
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    log_path = tmp_path / 'ifup.log'
    built, took = built_by(ifup_in, h2, expected, log_path)
    assert_same(built, expected, took, log_path)
    assert trunk_addresses(h2) == [H2_ADDRESS]
