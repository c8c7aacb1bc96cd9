"""The kernel box itself: what the full kernel gives the tests, and that Ansible works inside.

* lo is up, in the box's root namespace and in a lab namespace;
* 802.1Q VLAN links on a lab host's uplink really tag: the same VLAN id talks,
  different ids do not (the lab switch's bridge passes tagged frames untouched);
* ipvlan links, L2 and L3, made for a "container" namespace the way Docker
  makes them (created in the lab host, moved, renamed: 6.1's ipvlan refuses
  to be created directly in another namespace), reach a second lab host;
* userspace is sane despite the box's CPU-feature switches (.venv/bin/kernel-box
  explains them): glibc string functions, OpenSSL hashing and AES-GCM give the
  known answers;
* a module through Ansible (ansible-runner, the netns connection, the
  collection installed from its tarball), timed.
"""

from __future__ import annotations

import hashlib
import subprocess
import time

import pytest
from pyroute2 import IPRoute
from underlay_dev.testing.harness import reaches, read_link

IFF_UP = 1
ETH_P_8021Q = 0x8100
IPVLAN_MODES = {'l2': 0, 'l3': 1}


def configure(ns, ifname, address, routes=()):
    """Bring ``ifname`` up in ``ns`` with ``address`` (CIDR) and ``routes`` ((dst, gateway or None) pairs)."""
    ip, prefixlen = address.split('/')
    with IPRoute(netns=ns, flags=0) as ipr:
        index = ipr.link_lookup(ifname=ifname)[0]
        ipr.link('set', index=index, state='up')
        ipr.addr('add', index=index, address=ip, prefixlen=int(prefixlen))
        for dst, gateway in routes:
            ipr.route('add', dst=dst, **({'gateway': gateway} if gateway else {'oif': index}))


def add_vlan(ns, parent, vlan_id, address):
    name = '%s.%d' % (parent, vlan_id)
    with IPRoute(netns=ns, flags=0) as ipr:
        ipr.link('add', ifname=name, kind='vlan', link=ipr.link_lookup(ifname=parent)[0], vlan_id=vlan_id)
    configure(ns, name, address)
    return name


def test_loopback_is_up(lab):
    with IPRoute() as ipr:  # the box's root namespace: read only
        assert ipr.get_links(ipr.link_lookup(ifname='lo')[0])[0]['flags'] & IFF_UP
    assert read_link(lab.add_namespace('c1'), 'lo')['up']


def test_vlan_tags_separate_traffic(lab):
    lab.up_switch()
    h1, h2 = lab.add_host('h1'), lab.add_host('h2')
    name = add_vlan(h1, 'eth0', 10, '172.28.10.1/24')
    add_vlan(h2, 'eth0', 10, '172.28.10.2/24')
    # Same subnet, different tags: must not reach each other.
    add_vlan(h1, 'eth0', 20, '172.28.20.1/24')
    add_vlan(h2, 'eth0', 30, '172.28.20.2/24')

    link = read_link(h1, name)
    assert link['kind'] == 'vlan'
    assert link['data']['IFLA_VLAN_ID'] == 10
    assert link['data']['IFLA_VLAN_PROTOCOL'] == ETH_P_8021Q
    with IPRoute(netns=h1, flags=0) as ipr:
        assert link['link'] == ipr.link_lookup(ifname='eth0')[0]

    assert reaches(h1, '172.28.10.2')
    assert not reaches(h1, '172.28.20.2')


@pytest.mark.parametrize('mode', sorted(IPVLAN_MODES))
def test_ipvlan_container_reaches_the_network(lab, mode):
    lab.up_switch()
    h1 = lab.add_host('h1', address='172.28.252.45/20')
    h2 = lab.add_host('h2', address='172.28.252.46/20')
    c1 = lab.add_namespace('c1')
    with IPRoute(netns=h1, flags=0) as ipr:
        ipr.link('add', ifname='ivtmp', kind='ipvlan', link=ipr.link_lookup(ifname='eth0')[0],
                 ipvlan_mode=IPVLAN_MODES[mode])
        ipr.link('set', index=ipr.link_lookup(ifname='ivtmp')[0], net_ns_fd=c1)
    with IPRoute(netns=c1, flags=0) as ipr:
        ipr.link('set', index=ipr.link_lookup(ifname='ivtmp')[0], ifname='eth0')
    if mode == 'l2':
        configure(c1, 'eth0', '172.28.248.10/20')
    else:
        # L3: no ARP for the container; its traffic is routed by the lab host's stack,
        # and the network reaches it through a route via the lab host.
        configure(c1, 'eth0', '172.28.248.10/32', routes=[('0.0.0.0/0', None)])
        with IPRoute(netns=h2, flags=0) as ipr:
            ipr.route('add', dst='172.28.248.10/32', gateway='172.28.252.45')

    link = read_link(c1, 'eth0')
    assert link['kind'] == 'ipvlan'
    assert link['data']['IFLA_IPVLAN_MODE'] == IPVLAN_MODES[mode]
    assert link['link_netnsid'] is not None  # the parent stayed in the lab host
    assert link['mac'] == read_link(h1, 'eth0')['mac']  # ipvlan: one MAC, the parent's

    assert reaches(c1, '172.28.252.46')
    assert reaches(h2, '172.28.248.10')


def test_userspace_gives_known_answers():
    """The box hides AVX from glibc and OpenSSL (.venv/bin/kernel-box): their fallbacks must be right."""
    printed = subprocess.run(['sh', '-c', 'printf "%s|%d|%s\\n" "$0" 42 "$(echo kernel box | tr a-z A-Z)"', 'abc'],
                             capture_output=True, text=True, check=True).stdout
    assert printed == 'abc|42|KERNEL BOX\n'
    data = b'kernel box' * 100000
    assert hashlib.sha256(data).hexdigest() == '7e866d7f0169e119af39938748a3fc25e9c1a6faf0c6b402d2b87f23b9affa4a'
    assert data.replace(b'box', b'BOX').count(b'kernel BOX') == 100000

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    sealed = AESGCM(bytes(range(32))).encrypt(bytes(12), data[:10000], None)
    assert sealed[-16:].hex() == '960866650d6ea5b2cc0c3858e1bc33a8'
    assert AESGCM(bytes(range(32))).decrypt(bytes(12), sealed, None) == data[:10000]


def test_ansible_runs_a_module_inside(lab, ansible, capsys):
    """One ansible-playbook run with two tasks: create, then the same again (unchanged).

    Ansible is slow in the box (page faults and forks cost far more under UML):
    tests here should put their tasks in one play rather than run one play per task.
    """
    lab.up_switch()
    host = lab.add_host('h1', address='172.28.252.45/20')
    inventory = {host: {'ansible_connection': 'underlay.network.netns'}}
    task = {'underlay.network.macvlan_link': dict(name='mv0', parent='eth0', mode='bridge',
                                                  addresses=['172.28.248.10/20'])}

    start = time.monotonic()
    run = ansible.play([dict(task, name='create'), dict(task, name='again')], hosts=inventory)
    took = time.monotonic() - start
    assert run.rc == 0, run.stdout
    created, again = run.results
    assert created.changed and not created.failed, created
    assert not again.changed and not again.failed, again
    link = read_link(host, 'mv0')
    assert link['kind'] == 'macvlan' and link['up']
    assert link['addresses'] == ['172.28.248.10/20']

    with capsys.disabled():
        print('\n[kernel box] one ansible-playbook run (2 macvlan_link tasks through the netns connection): '
              '%.1fs' % took)
