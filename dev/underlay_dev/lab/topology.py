"""The embedded lab: a switch and lab hosts, all in network namespaces of their own.

A lab "switch" is a namespace holding a Linux bridge ``br0``; each lab host is
a namespace whose uplink ``eth0`` is one end of a veth pair, the other end a
port of that bridge. Nothing here touches the machine's own interfaces, and
``Lab.teardown`` removes every namespace the lab created (deleting a namespace
destroys the links inside it in one go).

Used by the integration tests (``underlay_dev/testing/harness.py``), the benchmarks, the
molecule scenarios and the embedded lab (``underlay_dev/lab/build.py``, driven by
``.venv/bin/labctl``). The switch may carry an address (the embedded lab's
router) and a host a default route through it, as a real fleet host's uplink
carries its default route.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os

from pyroute2 import IPRoute, netns

SWITCH_BRIDGE = 'br0'
# Where underlay.network.convergence_record keeps a namespace's record (plugins/module_utils/_links/host_record.py).
RECORDS = '/run/underlay.network/converged'


class Lab:
    def __init__(self, prefix):
        self.prefix = prefix
        self.switch = prefix + 'sw'
        self.hosts = {}
        self._created = []

    def ns(self, name):
        """The namespace name of lab member ``name``."""
        return self.prefix + name

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.teardown()

    def add_namespace(self, name):
        """Create a bare namespace with lo up (e.g. a "container")."""
        full = self.ns(name)
        netns.create(full)
        self._created.append(full)
        with IPRoute(netns=full, flags=0) as ipr:
            ipr.link('set', index=ipr.link_lookup(ifname='lo')[0], state='up')
        return full

    def up_switch(self, address=None):
        """The switch namespace with bridge ``br0``; ``address`` (CIDR) on the bridge makes it the lab's router."""
        self.add_namespace('sw')
        with IPRoute(netns=self.switch, flags=0) as ipr:
            ipr.link('add', ifname=SWITCH_BRIDGE, kind='bridge')
            index = ipr.link_lookup(ifname=SWITCH_BRIDGE)[0]
            ipr.link('set', index=index, state='up')
            if address:
                _add_address(ipr, index, address)
        return self.switch

    def add_host(self, name, address=None, uplink='eth0', mtu=None, gateway=None):
        """A lab host whose ``uplink`` is wired to a bridge port named after it.

        ``address`` (CIDR) goes on the uplink, and with ``gateway`` (an address on the uplink's
        network, e.g. the switch's) the host gets its default route through the uplink.
        """
        full = self.add_namespace(name)
        with IPRoute(netns=self.switch, flags=0) as sw:
            sw.link('add', ifname=name, kind='veth', peer={'ifname': uplink, 'net_ns_fd': full})
            port = sw.link_lookup(ifname=name)[0]
            bridge = sw.link_lookup(ifname=SWITCH_BRIDGE)[0]
            sw.link('set', index=port, master=bridge, state='up', **({'mtu': mtu} if mtu else {}))
        with IPRoute(netns=full, flags=0) as ipr:
            index = ipr.link_lookup(ifname=uplink)[0]
            ipr.link('set', index=index, state='up', **({'mtu': mtu} if mtu else {}))
            if address:
                _add_address(ipr, index, address)
            if gateway:
                ipr.route('add', dst='default', gateway=str(gateway), oif=index)
        self.hosts[name] = full
        return full

    def remove_host(self, name):
        """Remove a lab host; deleting its namespace removes its uplink and the switch port with it."""
        full = self.hosts.pop(name)
        remove_namespace(full)
        self._created.remove(full)

    def set_hairpin(self, host, enabled):
        """Turn hairpin (reflective relay) on or off at ``host``'s switch port, as VEPA needs."""
        with IPRoute(netns=self.switch, flags=0) as sw:
            port = sw.link_lookup(ifname=host)[0]
            # IFLA_BRPORT_MODE is hairpin; pyroute2 silently ignores a keyword it does not know.
            sw.brport('set', index=port, mode=1 if enabled else 0)

    def teardown(self):
        """Remove what the lab created and any namespace a test made under the lab's prefix."""
        errors = []
        leftovers = [n for n in netns.listnetns() if n.startswith(self.prefix) and n not in self._created]
        for full in leftovers + list(reversed(self._created)):
            try:
                remove_namespace(full)
            except FileNotFoundError:
                pass  # a test removed it itself
            except OSError as exc:
                errors.append('%s: %s' % (full, exc))
        self._created.clear()
        if errors:
            raise RuntimeError('lab teardown left namespaces behind: ' + '; '.join(errors))


def _add_address(ipr, index, address):
    iface = ipaddress.ip_interface(address)
    ipr.addr('add', index=index, address=str(iface.ip), prefixlen=iface.network.prefixlen)


def record_path(name):
    """Where underlay.network.convergence_record keeps namespace ``name``'s record: named by its identity."""
    found = os.stat(os.path.join('/run/netns', name))
    return os.path.join(RECORDS, '%d-%d.json' % (found.st_dev, found.st_ino))


def remove_namespace(name):
    """Remove a namespace and the convergence record a site.yml run left for it (named by its inode, which a
    later namespace may get)."""
    with contextlib.suppress(OSError):
        os.unlink(record_path(name))
    with contextlib.suppress(OSError):  # nothing of the lab's left in the machine's /run once the last record goes
        os.rmdir(RECORDS)
        os.rmdir(os.path.dirname(RECORDS))
    netns.remove(name)


def remove_leftovers(prefix):
    """Remove namespaces a crashed run left behind (only those with our prefix)."""
    for name in netns.listnetns():
        if name.startswith(prefix):
            remove_namespace(name)
