"""Persistence proof: the real daemon, from the persist role's files alone, builds what the roles build.

In lab host h1 the vlan_host and shim roles converge a plan of two VLAN segments (a macvlan shim and an
ipvlan l2 shim); the persist role renders the files of the same plan into a staging directory (never /etc:
lab hosts share this machine's file system). In a fresh lab host h2, whose trunk has the same name, the
real daemon then builds the links from those files alone:

* systemd-networkd as in ENVIRONMENT.md: a private mount namespace, the staging directory bound onto
  /etc/systemd/network, a tmpfs on /run/systemd; with udev beside it, as on every systemd host (networkd
  cannot give a link an alias: the .link files' ``Alias=`` is udev's, applied when the link appears). The
  udevd is Debian's, unpacked into .cache/udev by scripts/bootstrap.sh (never installed), or $UNDERLAY_UDEVADM;
  it runs with the namespace's own read-write sysfs, a private /dev and /run/udev, and one rule only (the
  ``net_setup_link`` builtin for network links), so it touches nothing but the namespace's links;
* ifupdown: ``ifup -a -i FILE --state-dir DIR --no-scripts`` in a private mount namespace with the
  namespace's own sysfs (ifup looks for the trunk in /sys/class/net). ifupdown is not installed on this
  machine (installing it would write /etc/network): the test takes ``ifup`` from $UNDERLAY_IFUP, else
  .cache/ifupdown (which scripts/bootstrap.sh unpacks from Debian's package), else the PATH, else
  /sbin/ifup, and is skipped without one.

The normalized netlink state of both namespaces, read with raw pyroute2, must be equal: kinds, VLAN ids and
protocols, macvlan and ipvlan modes and flags, parents, up state, aliases (the owner marker each role gives
its links: ``links_info`` on the rebuilt host must report ``managed_by``, or after a reboot the planner loses
the host's index evidence and ``overridden`` never prunes), IPv4 addresses and routes (destination, gateway,
source, scope, protocol, type). Needs the kernel box: 802.1Q VLANs and ipvlan.
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
# The owner marker each link carries: the role that applies it (owner vlan_host, owner shim).
MARKERS = {'eth0.10': 'underlay.network/vlan_host', 'eth0.30': 'underlay.network/vlan_host',
           'shim10': 'underlay.network/shim', 'shim30': 'underlay.network/shim'}
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
                'alias': message.get_attr('IFLA_IFALIAS'),
                'addresses': sorted('%s/%d' % (address.get_attr('IFA_ADDRESS'), address['prefixlen'])
                                    for address in ipr.get_addr(family=socket.AF_INET, index=message['index'])),
                'routes': sorted((route.get_attr('RTA_DST'), route['dst_len'], route.get_attr('RTA_GATEWAY'),
                                  route.get_attr('RTA_PREFSRC'), route['scope'], route['proto'], route['type'])
                                 for route in routes if route.get_attr('RTA_OIF') == message['index']),
            }
    return links


# udev's own rule for network links (80-net-setup-link.rules), the only rule the test's udevd has.
NET_SETUP_LINK_RULE = """SUBSYSTEM!="net", GOTO="end"
ACTION=="remove", GOTO="end"
IMPORT{builtin}="net_setup_link"
LABEL="end"
"""
# scripts/bootstrap.sh unpacks udev there (make test): installing it would start udev on this machine.
UNPACKED_UDEVADM = Path(__file__).resolve().parents[2] / '.cache' / 'udev' / 'bin' / 'udevadm'


def udevadm_binary():
    for found in (os.environ.get('UNDERLAY_UDEVADM'), str(UNPACKED_UDEVADM), shutil.which('udevadm'),
                  '/bin/udevadm'):
        if found and os.access(found, os.X_OK):
            return found
    return None


def networkd_in(namespace, config, udevadm, scratch, log):
    """systemd-networkd as a plain process in ``namespace``, reading ``config`` only (ENVIRONMENT.md's recipe),
    with a udevd of its own beside it, as on a host: the .link files (Alias=) are udev's."""
    rules = scratch / 'rules.d'
    rules.mkdir()
    (rules / '80-net-setup-link.rules').write_text(NET_SETUP_LINK_RULE)
    udevd = scratch / 'systemd-udevd'  # udevadm is udevd when called by that name
    udevd.symlink_to(udevadm)
    script = ' && '.join([
        'mount -t sysfs sysfs /sys',  # the namespace's own devices; read-write: networkd waits for udev
        'mount --bind %s /etc/systemd/network' % config,
        'mount -t tmpfs tmpfs /dev', 'mknod -m 666 /dev/null c 1 3',  # no device node of the box is touched
        'mkdir -p /run/systemd /run/udev', 'mount -t tmpfs tmpfs /run/systemd', 'mount -t tmpfs tmpfs /run/udev',
        '{ ! [ -d /usr/lib/udev/rules.d ] || mount --bind %s /usr/lib/udev/rules.d; }' % rules,
        '{ ! [ -d /etc/udev/rules.d ] || mount --bind %s /etc/udev/rules.d; }' % rules,
        'mkdir /run/systemd/netif', 'chown systemd-network:systemd-network /run/systemd/netif',
        '{ timeout 160 %s & }' % udevd,
        'for i in $(seq 100); do [ -S /run/udev/control ] && break; sleep 0.1; done',
        # the links that were there before udevd: announced again, so that networkd sees them initialized
        'for link in /sys/class/net/*; do echo add > $link/uevent; done',
        '%s settle --timeout=20' % udevadm,
        'exec timeout 150 %s' % NETWORKD,
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
    assert {name: link['alias'] for name, link in expected.items()} == MARKERS, expected
    return expected, sorted(rendered)


def built_by(daemon, namespace, expected, log_path):
    """Run ``daemon`` (a Popen factory) until ``namespace`` holds the ``expected`` links or 90 s have passed;
    return what it holds and the time taken. The clock includes the udevd's start and settle before networkd:
    in a loaded box (CI runs two at once) 30 s was once not enough for networkd to get to the VLANs."""
    with open(log_path, 'wb') as log:
        process = daemon(log)
        try:
            started = time.monotonic()
            built = state(namespace)
            while built != expected and time.monotonic() < started + 90:
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
                          for key in ('kind', 'data', 'parent', 'up', 'alias', 'addresses', 'routes')
                          if built.get(name, {}).get(key) != expected.get(name, {}).get(key)}
                   for name in sorted(set(built) | set(expected)) if built.get(name) != expected.get(name)}
    assert not differences, 'after %.1fs, (daemon, roles) differ in %r\nthe daemon said:\n%s' % (
        took, differences, log_path.read_text())


def assert_marked(ansible, collections_path, namespace):
    """What the planner and ``overridden`` go by: links_info on the rebuilt host (as site.yml reads it) reports
    each link's owner, and the fleet plan therefore keeps the host at the index its addresses say (0, h1's)
    when a new host that sorts before it joins."""
    info = ansible.module('underlay.network.links_info', devices=True, hosts={namespace: {
        'ansible_connection': 'underlay.network.netns'}})
    assert not info.failed, info
    assert {link['name']: link['managed_by'] for link in info['links'] if link['name'] in MARKERS} == MARKERS, info
    from ansible_collections.underlay.network.plugins.plugin_utils._fleet.plan import fleet_plan
    from ansible_collections.underlay.network.plugins.plugin_utils._fleet.planner_input import planner_input

    plans = fleet_plan(FLEET, {'a-new-host': {}, namespace: planner_input(dict(info), {})})
    assert (plans[namespace]['index'], plans['a-new-host']['index']) == (0, 1), plans


def trunk_addresses(namespace):
    with IPRoute(netns=namespace, flags=0) as ipr:
        trunk = ipr.link_lookup(ifname='eth0')[0]
        return sorted('%s/%d' % (a.get_attr('IFA_ADDRESS'), a['prefixlen'])
                      for a in ipr.get_addr(family=socket.AF_INET, index=trunk))


def test_networkd_builds_from_the_rendered_files_exactly_what_the_roles_build(ansible, collections_path, lab,
                                                                              tmp_path):
    udevadm = udevadm_binary()
    if udevadm is None:
        pytest.skip('no udevadm here (udev is not installed): give one with UNDERLAY_UDEVADM, see the module doc')
    stage = tmp_path / 'stage'
    config = stage / 'etc' / 'systemd' / 'network'
    expected, rendered = converge_and_render(ansible, lab, stage, 'systemd-networkd', config)
    assert rendered == ['10-lab-trunk.network.d/50-underlay.conf', '20-underlay-eth0.10.netdev',
                        '20-underlay-eth0.10.network', '20-underlay-eth0.30.netdev', '20-underlay-eth0.30.network',
                        '30-underlay-shim10.netdev', '30-underlay-shim10.network', '30-underlay-shim30.netdev',
                        '30-underlay-shim30.network', '90-mine.network', '98-underlay-eth0.10.link',
                        '98-underlay-eth0.30.link', '98-underlay-shim10.link', '98-underlay-shim30.link']
    h2 = lab.add_host('h2')  # fresh: only its trunk eth0, no address
    # The trunk's own .network file, as the host would have it; the VLANs come from our drop-in of it.
    (config / TRUNK_NETWORK).write_text('[Match]\nName=eth0\n\n[Network]\nAddress=%s\n' % H2_ADDRESS)
    log_path = tmp_path / 'networkd.log'
    scratch = tmp_path / 'udev'
    scratch.mkdir()
    built, took = built_by(lambda log: networkd_in(h2, config, udevadm, scratch, log), h2, expected, log_path)
    assert_same(built, expected, took, log_path)
    assert trunk_addresses(h2) == [H2_ADDRESS]  # the host's own configuration of its trunk, and nothing of ours
    assert_marked(ansible, collections_path, h2)


# scripts/bootstrap.sh unpacks ifupdown there (make test): installing it would write this machine's /etc/network.
UNPACKED_IFUP = Path(__file__).resolve().parents[2] / '.cache' / 'ifupdown' / 'sbin' / 'ifup'


def ifup_binary():
    for found in (os.environ.get('UNDERLAY_IFUP'), str(UNPACKED_IFUP), shutil.which('ifup'), '/sbin/ifup'):
        if found and os.access(found, os.X_OK):
            return found
    return None


def test_ifup_builds_from_the_rendered_file_exactly_what_the_roles_build(ansible, collections_path, lab, tmp_path):
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
    assert_marked(ansible, collections_path, h2)
