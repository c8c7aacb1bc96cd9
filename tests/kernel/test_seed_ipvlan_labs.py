"""The seed's ipvlan L2 and L3 labs, built with ipvlan_link through Ansible on the full kernel (kernel box).

The seed (net1/net2/net3 on ipvlan legs of the lab host's eth0, 172.28.252.45/20,
plus a host "shim") is replayed with the module, and every claim it makes is
checked with real pings (``nsenter --net=/run/netns/NS ping``). Where the kernel
does something more precise than the seed says, the tests assert what the
kernel does and say why:

* L2, net1 -> net3 (another /24 on the same parent) with a default route in
  net1 only: the echo request *does* reach net3 (its ICMP InEchos counter
  moves); net3 cannot answer because it has no route back. An l2 port is one
  broadcast domain: once net3 has a default route too, net1 and net3 talk.
  The seed's "different networks cannot talk even with a route" is about its
  missing return route (and a gateway, 172.28.248.1, that does not exist).
* L2, namespace -> lab host: ipvlan never hands a slave's frames to its own
  parent's stack, so the ARP for 172.28.252.45 goes out on the wire unanswered.
  An l2 shim on the parent answers it (the host answers ARP for any of its
  addresses on any link), and the host's route to the /24 through the shim
  carries the way back.
* L3, namespace -> lab host without a shim: the echo request reaches the host
  (ipvlan l3 routes it in the host's namespace; 172.28.252.45 is local), but
  the reply follows the host's 172.28.240.0/20 route out of eth0 and ARPs for
  the namespace on the wire, where nobody answers. With an l3 shim and routes
  to both /24s, the namespaces reach the host's own address *and* the shim's
  address, and the host reaches them.

An Ansible run costs ~10 s in the box: each play batches a whole step.
"""

from __future__ import annotations

import socket
import subprocess

from pyroute2 import IPRoute
from underlay_dev.testing.harness import netlink_dump, ping_result, reaches, read_link

MODULE = 'underlay.network.ipvlan_link'
HOST = '172.28.252.45'
IPVLAN_MODE = {'l2': 0, 'l3': 1}
IFF_NOARP = 0x80
NUD_INCOMPLETE, NUD_FAILED = 0x01, 0x20


def ipvlan(**args):
    return {MODULE: args}


def leg(netns, address, mode, default_route=False):
    """A namespace's eth0: an ipvlan of the lab host's eth0, created there, moved and renamed."""
    args = dict(name='eth0', parent='eth0', netns=netns, mode=mode, addresses=[address])
    if default_route:
        args['routes'] = [{'dest': 'default'}]
    return ipvlan(**args)


def in_echos(ns):
    """The ICMP InEchos counter of a namespace (/proc/net/snmp is per namespace)."""
    snmp = subprocess.run(['nsenter', '--net=/run/netns/' + ns, 'cat', '/proc/net/snmp'],
                          capture_output=True, text=True, timeout=10, check=True).stdout
    names, values = (line.split()[1:] for line in snmp.splitlines() if line.startswith('Icmp:'))
    return int(dict(zip(names, values, strict=True))['InEchos'])


def neighbour_state(ns, ifname, address):
    with IPRoute(netns=ns, flags=0) as ipr:
        index = ipr.link_lookup(ifname=ifname)[0]
        for entry in ipr.get_neighbours(family=socket.AF_INET):
            if entry['ifindex'] == index and entry.get_attr('NDA_DST') == address:
                return entry['state']
    return None


def mode_and_flags(ns, name):
    with IPRoute(netns=ns, flags=0) as ipr:
        flags = ipr.get_links(ipr.link_lookup(ifname=name)[0])[0]['flags']
    return read_link(ns, name)['data']['IFLA_IPVLAN_MODE'], flags


def port_links(result):
    return {(link['name'], link['netns'], link['mode']) for link in result['port']['links']}


def test_l2_lab_shim_and_port_mode_guard(play, host, lab):
    """The seed's L2 lab, then its "L2 lab + l3 shim" recipe.

    The seed gives its L2 lab a host shim made with ``type ipvlan mode l3``. The
    kernel keeps one mode per parent, so that one command silently switches
    net1, net2 and net3 to l3 as well (they turn NOARP); the seed's ping to the
    host still works afterwards, so it never noticed. ipvlan_link refuses that
    task, naming the links, and does it only with allow_port_mode_change.
    """
    net1, net2, net3 = (lab.add_namespace(n) for n in ('net1', 'net2', 'net3'))
    legs = [leg(net1, '172.28.248.10/24', 'l2', default_route=True),
            leg(net2, '172.28.248.11/24', 'l2', default_route=True),
            leg(net3, '172.28.249.10/24', 'l2')]
    seed_l2_lab(play, host, legs, (net1, net2, net3))
    shim = ipvlan(name='ipvl-shim', parent='eth0', mode='l2', addresses=['172.28.248.254/32'],
                  routes=[{'dest': '172.28.248.0/24'}])
    add_l2_shim(play, host, shim, (net1, net2, net3))
    seed_shim = dict(name='ipvlan_shim', parent='eth0', mode='l3', addresses=['172.28.248.222/32'],
                     routes=[{'dest': '172.28.249.0/24'}])
    refuse_l3_shim(play, host, legs + [shim], seed_shim, (net1, net2, net3))
    allow_l3_shim(play, host, seed_shim, (net1, net2, net3))


def seed_l2_lab(play, host, legs, namespaces):
    """The L2 lab as the seed builds it: reach within the /24, not across, not to or from the host."""
    net1, net2, net3 = namespaces
    created = play(*legs)
    assert all(r.changed and not r.failed for r in created), created
    assert created[2]['port']['mode'] == 'l2'
    assert port_links(created[2]) == {('eth0', ns, 'l2') for ns in namespaces}
    assert reaches(net1, '172.28.248.11') and reaches(net2, '172.28.248.10')
    # Another /24 on the same l2 port, default route in net1 only: the request arrives, no reply comes back.
    echos = in_echos(net3)
    assert not reaches(net1, '172.28.249.10')
    assert in_echos(net3) > echos
    # The namespaces cannot reach their own lab host, nor it them, though routes exist both ways.
    assert not reaches(net1, HOST) and not reaches(net2, HOST)
    assert not reaches(host, '172.28.248.10')


def add_l2_shim(play, host, shim, namespaces):
    """An l2 shim in the port's mode: the host and its namespaces reach each other; a route back joins net3."""
    net1, net2, net3 = namespaces
    shimmed = play(shim, leg(net3, '172.28.249.10/24', 'l2', default_route=True))
    assert all(r.changed and not r.failed for r in shimmed), shimmed
    assert port_links(shimmed[0]) == {('ipvl-shim', None, 'l2')} | {('eth0', ns, 'l2') for ns in namespaces}
    for ns, address in ((net1, '172.28.248.10'), (net2, '172.28.248.11')):
        assert reaches(ns, HOST), ns
        assert reaches(host, address), address
    assert reaches(net1, '172.28.249.10') and reaches(net3, '172.28.248.10')  # a route back was all it took


def refuse_l3_shim(play, host, setup, seed_shim, namespaces):
    """The seed's l3 shim on this L2 lab: refused, nothing touched (the setup re-run changes nothing either)."""
    net1 = namespaces[0]
    before = {ns: netlink_dump(ns) for ns in (host,) + namespaces}
    guarded = play(*setup, ipvlan(**seed_shim))
    assert not any(r.changed or r.failed for r in guarded[:-1]), guarded[:-1]
    refused = guarded[-1]
    assert refused.failed and not refused.changed, refused
    assert 'would switch every ipvlan on parent eth0' in refused['msg']
    assert 'allow_port_mode_change: true' in refused['msg']
    assert sorted(refused['would_change']) == sorted(
        ["eth0 in netns '%s' (l2, bridge)" % ns for ns in namespaces]
        + ["ipvl-shim in the task's namespace (l2, bridge)"])
    for described in refused['would_change']:
        assert described in refused['msg']
    assert {ns: netlink_dump(ns) for ns in (host,) + namespaces} == before
    mode, flags = mode_and_flags(net1, 'eth0')
    assert mode == IPVLAN_MODE['l2'] and not flags & IFF_NOARP


def allow_l3_shim(play, host, seed_shim, namespaces):
    """With allow_port_mode_change the whole port goes l3 (NOARP), and the host is still reachable: why the seed
    did not notice."""
    net1, net2, net3 = namespaces
    allowed = play(ipvlan(**seed_shim, allow_port_mode_change=True))[0]
    assert allowed.changed and not allowed.failed, allowed
    assert allowed['port']['mode'] == 'l3'
    assert port_links(allowed) == ({('ipvl-shim', None, 'l3'), ('ipvlan_shim', None, 'l3')}
                                   | {('eth0', ns, 'l3') for ns in namespaces})
    for ns, name in ((net1, 'eth0'), (net2, 'eth0'), (net3, 'eth0'), (host, 'ipvl-shim'), (host, 'ipvlan_shim')):
        mode, flags = mode_and_flags(ns, name)
        assert mode == IPVLAN_MODE['l3'], (ns, name)
        assert flags & IFF_NOARP, (ns, name)  # what the switch does to every link: no more ARP
    assert reaches(net1, HOST) and reaches(host, '172.28.248.10')
    assert reaches(net3, HOST)  # through the l3 shim's route to 172.28.249.0/24


def test_l3_lab_default_routes_and_shim(play, host, lab):
    """The seed's L3 lab: net1 and net3 on ipvlan l3 legs, in different /24s.

    What the kernel does for namespace -> lab host: without a shim the echo
    request reaches the host (its InEchos counter moves) and the reply is lost,
    ARPed for on eth0 (the host's 172.28.240.0/20 covers the namespaces) where
    nobody answers. With the l3 shim (172.28.250.254/32, routes to both /24s)
    the namespaces reach both the host's own address 172.28.252.45 and the
    shim's 172.28.250.254, and the host reaches them.
    """
    net1, net3 = lab.add_namespace('net1'), lab.add_namespace('net3')
    plan = ((net1, '172.28.248.10/24'), (net3, '172.28.249.10/24'))

    created = play(*(leg(ns, address, 'l3') for ns, address in plan))
    assert all(r.changed and not r.failed for r in created), created
    assert port_links(created[1]) == {('eth0', net1, 'l3'), ('eth0', net3, 'l3')}
    for ns, _address in plan:
        assert mode_and_flags(ns, 'eth0')[0] == IPVLAN_MODE['l3']
    # No route: refused before anything is sent, as in the seed ("connect: Network is unreachable").
    unrouted = ping_result(net1, '172.28.249.10')
    assert unrouted.returncode != 0 and 'Network is unreachable' in unrouted.stdout + unrouted.stderr

    routed = play(*(leg(ns, address, 'l3', default_route=True) for ns, address in plan))
    assert all(r.changed and not r.failed for r in routed), routed
    for ns, _address in plan:
        assert read_link(ns, 'eth0')['routes'] == [(None, 0, None)]  # default, on-link through the leg
    assert reaches(net1, '172.28.249.10') and reaches(net3, '172.28.248.10')
    # The lab host: the request gets there, the reply goes out of eth0 and is lost.
    echos = in_echos(host)
    assert not reaches(net1, HOST)
    assert in_echos(host) > echos
    assert neighbour_state(host, 'eth0', '172.28.248.10') in (NUD_INCOMPLETE, NUD_FAILED)
    assert not reaches(host, '172.28.248.10')

    shim = play(ipvlan(name='ipvl-shim', parent='eth0', mode='l3', addresses=['172.28.250.254/32'],
                       routes=[{'dest': '172.28.248.0/24'}, {'dest': '172.28.249.0/24'}]))[0]
    assert shim.changed and not shim.failed, shim
    assert port_links(shim) == {('ipvl-shim', None, 'l3'), ('eth0', net1, 'l3'), ('eth0', net3, 'l3')}
    for ns, address in plan:
        ip = address.split('/', maxsplit=1)[0]
        assert reaches(ns, HOST), ns
        assert reaches(ns, '172.28.250.254'), ns
        assert reaches(host, ip), ip
