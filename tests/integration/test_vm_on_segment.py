"""A real VM on a segment: qemu (TCG) boots a Debian kernel with a busybox initramfs (dev/underlay_dev/vm), its NIC
on a macvtap that macvtap_link made on a lab host's uplink, with an address from that host's container range, and
real pings prove what the collection promises of it:

- VM <-> a namespace "container" on the same segment on another lab host: reach, both ways;
- VM <-> its own host: only through the host's shim (the kernel passes nothing between a parent and its macvtap);
- VM <-> a private-mode container on the same host: isolated, both ways, as the mode says.

qemu runs as ``nobody`` and opens the tap device itself: the node's owner (tap_owner) is what lets it. It is
always killed at the end; the lab goes with its namespaces.
"""

from __future__ import annotations

import pytest
from underlay_dev.testing.harness import reaches
from underlay_dev.vm.qemu import Vm

H1, H2 = '172.28.240.11/20', '172.28.240.12/20'  # the lab hosts' own addresses
VM, C1, C2 = '172.28.248.40', '172.28.248.41', '172.28.248.50'  # from the containers' range 172.28.248.0/24
SHIM = '172.28.248.254'
NETNS = 'underlay.network.netns'


pytestmark = pytest.mark.usefixtures('no_leftover_tap_nodes')


@pytest.fixture
def segment(lab, ansible):
    """Two lab hosts on one switch; on h1 the VM's macvtap (owned by nobody) and a private-mode container c1, on
    h2 a container c2: all with addresses from the containers' range."""
    lab.up_switch()
    h1, h2 = lab.add_host('h1', address=H1), lab.add_host('h2', address=H2)
    c1, c2 = lab.add_namespace('c1'), lab.add_namespace('c2')
    container = 'underlay.network.macvlan_link'
    run = ansible.play([
        {'name': 'the VM macvtap', 'underlay.network.macvtap_link': dict(
            name='vm1', parent='eth0', mode='bridge', tap_owner='nobody', tap_mode='0600')},
        {'name': 'private container c1', container: dict(name='eth0', parent='eth0', netns=c1, mode='private',
                                                         addresses=[C1 + '/20'])},
    ], hosts={h1: {'ansible_connection': NETNS}})
    assert not any(result.failed for result in run.results), run.stdout
    tap = run.results[0]['link']
    run = ansible.play([{'name': 'container c2', container: dict(name='eth0', parent='eth0', netns=c2,
                                                                 addresses=[C2 + '/20'])}],
                       hosts={h2: {'ansible_connection': NETNS}})
    assert not run.results[0].failed, run.stdout
    return {'h1': h1, 'h2': h2, 'c1': c1, 'c2': c2, 'tap': tap}


def test_a_vm_on_a_macvtap_reaches_the_segment_and_its_host_only_through_the_shim(segment, ansible):
    tap = segment['tap']
    assert tap['tap_device']['owner'] == 'nobody'
    with Vm(segment['h1'], tap['tap_device']['path'], tap['mac_address'], VM + '/20', user='nobody') as vm:
        print('\n[vm] booted in %.1f s (TCG)' % vm.boot_seconds)
        # Another host's container on the same segment.
        assert vm.reaches(C2) and reaches(segment['c2'], VM)
        # Its own host: the kernel passes nothing between a parent and its macvtap.
        assert not vm.reaches(H1.split('/', maxsplit=1)[0]) and not reaches(segment['h1'], VM)
        # A private-mode container on the same parent: isolated, as its mode says.
        assert not vm.reaches(C1) and not reaches(segment['c1'], VM)

        shim = ansible.play([{'name': 'host shim', 'underlay.network.macvlan_link': dict(
            name='shim', parent='eth0', addresses=[SHIM + '/32'], routes=[{'dest': VM + '/32'}])}],
            hosts={segment['h1']: {'ansible_connection': NETNS}})
        assert not shim.results[0].failed, shim.stdout
        # Through the shim, both ways; the private container stays isolated.
        assert reaches(segment['h1'], VM) and vm.reaches(SHIM)
        assert not vm.reaches(C1)
