"""What the embedded lab is made of, read from the Ansible inventory that the playbooks use.

    spec = read_inventory(Path('inventories/lab'), 'ulab')
    spec.hosts[0]   # LabHost(name='host1', namespace='ulab-host1', port='host1',
                    #         uplink_address='172.28.0.11/24', docker=True)

The inventory is the lab's source of truth, so that the lab and the plays can
never disagree about which hosts exist. It is read with PyYAML, as files
(``hosts.yml`` and the like, plus ``group_vars/`` and ``host_vars/`` next to
them), not through Ansible: no templating, variables merged the simple way
(``all``'s vars, then the other groups' in name order, then the host's own).

* The lab hosts are the members of group ``underlay_hosts`` (child groups
  included). Each needs ``lab_uplink_address``, an IPv4 CIDR put on its
  ``eth0``. All of them share one network; its first address is the lab
  router's (on the switch's bridge) and every host's default gateway.
* A host's namespace is what the ``underlay.network.netns`` connection plugin
  enters: ``ansible_netns_name`` -- literal, or ``PREFIX{{ inventory_hostname
  }}``, the only template understood here -- else the host name itself. It
  must start with the lab's prefix ``<lab name>-`` (so that ``labctl down``
  finds everything), and what follows names the host's switch port, so it is
  a valid interface name.
* The members of group ``docker_hosts`` (which must be lab hosts) get a
  Docker engine whose socket is ``/run/<lab name>/<host>/docker.sock``. A
  host that states ``underlay_docker_host`` must state exactly that URL.

Every mistake raises ``InventoryError`` naming the file, the host or the
variable, and the fix.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

HOSTS_GROUP = 'underlay_hosts'
DOCKER_GROUP = 'docker_hosts'
UPLINK = 'eth0'
# The lab name makes the namespace prefix "<name>-" and the run dir /run/<name>.
LAB_NAME = re.compile(r'[a-z][a-z0-9-]{0,15}\Z')
HOST_NAME = re.compile(r'[A-Za-z0-9][A-Za-z0-9_.-]*\Z')
IFNAME_MAX = 15
RESERVED_PORTS = ('br0', 'lo', 'sw')
NETNS_TEMPLATE = re.compile(r'\s*([^{}\s]*)\{\{\s*inventory_hostname\s*\}\}\s*\Z')
RUN_ROOT = Path('/run')
YAML_SUFFIXES = ('.yml', '.yaml')


class InventoryError(Exception):
    pass


@dataclass(frozen=True)
class LabHost:
    name: str            # the inventory host name
    namespace: str       # its network namespace, "<prefix><port>"
    port: str            # its port on the switch's bridge (and the namespace's suffix)
    uplink_address: str  # CIDR on its eth0
    docker: bool         # runs a Docker engine


@dataclass(frozen=True)
class LabSpec:
    name: str
    router_address: str  # CIDR on the switch's bridge br0
    hosts: tuple[LabHost, ...]

    @property
    def prefix(self):
        return self.name + '-'

    @property
    def switch(self):
        return self.prefix + 'sw'

    @property
    def router(self):
        return str(ipaddress.ip_interface(self.router_address).ip)

    @property
    def docker_hosts(self):
        return tuple(h for h in self.hosts if h.docker)

    @property
    def run_dir(self):
        """The engines' work dirs live here (inside the kernel box: the box's own /run)."""
        return run_dir(self.name)

    def engine_dir(self, host):
        return self.run_dir / host.name

    def docker_url(self, host):
        return 'unix://%s' % (self.engine_dir(host) / 'docker.sock')

    def to_dict(self):
        return asdict(self)

    @classmethod
    def from_dict(cls, data):
        return cls(name=data['name'], router_address=data['router_address'],
                   hosts=tuple(LabHost(**h) for h in data['hosts']))

    def differences(self, wanted):
        """What would change from this lab to ``wanted``, one line each (empty: they are the same)."""
        found = []
        if self.router_address != wanted.router_address:
            found.append('router %s -> %s' % (self.router_address, wanted.router_address))
        ours, theirs = {h.name: h for h in self.hosts}, {h.name: h for h in wanted.hosts}
        found += ['host %s is new' % n for n in theirs if n not in ours]
        found += ['host %s is gone' % n for n in ours if n not in theirs]
        for name in (n for n in theirs if n in ours):
            before, after = asdict(ours[name]), asdict(theirs[name])
            found += ['host %s: %s %s -> %s' % (name, key, before[key], after[key])
                      for key in before if before[key] != after[key]]
        return found


def run_dir(lab_name):
    return RUN_ROOT / lab_name


def check_lab_name(name):
    if not LAB_NAME.match(name):
        raise InventoryError('lab name %r: use 1-16 lower-case letters, digits or "-", starting with a letter'
                             % name)
    return name


class _TolerantLoader(yaml.SafeLoader):
    """SafeLoader that reads Ansible's tags (!vault, !unsafe) as plain values instead of failing."""


def _untagged(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_mapping(node)


_TolerantLoader.add_multi_constructor('!', _untagged)


def _load(path):
    try:
        with open(path) as f:
            return yaml.load(f, Loader=_TolerantLoader)  # a SafeLoader: no arbitrary objects
    except (OSError, yaml.YAMLError) as exc:
        raise InventoryError('%s: %s' % (path, exc)) from None


def _vars_files(base, name):
    """group_vars/NAME.yml, NAME.yaml, NAME/*.yml (sorted), as Ansible reads them."""
    files = [base / (name + suffix) for suffix in YAML_SUFFIXES]
    folder = base / name
    if folder.is_dir():
        files += sorted(p for p in folder.rglob('*') if p.suffix in YAML_SUFFIXES and p.is_file())
    return [p for p in files if p.is_file()]


class _Inventory:
    def __init__(self):
        self.group_hosts = {}     # group -> hosts listed directly
        self.group_children = {}  # group -> child groups
        self.group_vars = {}      # group -> inline vars
        self.host_vars = {}       # host -> inline vars (merged over its entries)
        self.host_files = {}      # host -> the file that lists it first

    def add_file(self, path):
        data = _load(path)
        if data is None:
            return
        if not isinstance(data, dict):
            raise InventoryError('%s: not a YAML inventory (a mapping of groups)' % path)
        for group, body in data.items():
            self._add_group(path, group, body)
            if group != 'all':
                self.group_children.setdefault('all', set()).add(group)

    def _add_group(self, path, group, body):
        body = body or {}
        if not isinstance(body, dict):
            raise InventoryError('%s: group %s must be a mapping (hosts, vars, children)' % (path, group))
        hosts = self.group_hosts.setdefault(group, [])
        self.group_children.setdefault(group, set())
        for host, host_vars in (body.get('hosts') or {}).items():
            host = str(host)
            if host not in hosts:
                hosts.append(host)
            self.host_files.setdefault(host, path)
            self.host_vars.setdefault(host, {}).update(host_vars or {})
        self.group_vars.setdefault(group, {}).update(body.get('vars') or {})
        for child, child_body in (body.get('children') or {}).items():
            self.group_children[group].add(child)
            self._add_group(path, child, child_body)

    def members(self, group, seen=None):
        """The hosts of ``group`` and of its children, in the order they are listed."""
        seen = set() if seen is None else seen
        if group in seen:
            return []
        seen.add(group)
        found = list(self.group_hosts.get(group, ()))
        for child in sorted(self.group_children.get(group, ())):
            found += [h for h in self.members(child, seen) if h not in found]
        return found

    def variables(self, host, bases):
        merged = {}
        groups = ['all'] + sorted(g for g in self.group_hosts if g != 'all' and host in self.members(g))
        for group in groups:
            merged.update(self.group_vars.get(group, {}))
            for base in bases:
                for path in _vars_files(base / 'group_vars', group):
                    merged.update(_load(path) or {})
        merged.update(self.host_vars.get(host, {}))
        for base in bases:
            for path in _vars_files(base / 'host_vars', host):
                merged.update(_load(path) or {})
        return merged


def inventory_files(path):
    """The inventory file, or the YAML files directly in an inventory directory."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in YAML_SUFFIXES and p.is_file())
        if not files:
            raise InventoryError('%s: no YAML inventory file (*.yml) in this directory' % path)
        return files
    if path.is_file():
        return [path]
    raise InventoryError('%s: no such inventory file or directory' % path)


def _namespace(host, variables, prefix, where):
    value = variables.get('ansible_netns_name')
    if value is None:
        namespace = host
    else:
        value = str(value)
        template = NETNS_TEMPLATE.match(value)
        if template:
            namespace = template.group(1) + host
        elif '{{' in value:
            raise InventoryError('%s: host %s: ansible_netns_name %r: labctl understands only a literal name or '
                                 '"PREFIX{{ inventory_hostname }}"' % (where, host, value))
        else:
            namespace = value
    if not namespace.startswith(prefix) or len(namespace) == len(prefix):
        raise InventoryError('%s: host %s: its namespace %r does not start with the lab prefix %r; set '
                             'ansible_netns_name: "%s{{ inventory_hostname }}" (or name the host %s...)'
                             % (where, host, namespace, prefix, prefix, prefix))
    port = namespace[len(prefix):]
    if len(port) > IFNAME_MAX or not HOST_NAME.match(port) or port in RESERVED_PORTS:
        raise InventoryError('%s: host %s: namespace %r: what follows %r names its switch port, so it must be an '
                             'interface name of at most %d characters (letters, digits, _ . -) other than %s'
                             % (where, host, namespace, prefix, IFNAME_MAX, ', '.join(RESERVED_PORTS)))
    return namespace, port


def _uplink_address(host, variables, where):
    value = variables.get('lab_uplink_address')
    if value is None:
        raise InventoryError('%s: host %s: set lab_uplink_address, the IPv4 CIDR of its %s (e.g. 172.28.0.11/24)'
                             % (where, host, UPLINK))
    try:
        iface = ipaddress.IPv4Interface(str(value))
    except ValueError:
        raise InventoryError('%s: host %s: lab_uplink_address %r is not an IPv4 CIDR such as 172.28.0.11/24'
                             % (where, host, value)) from None
    if iface.network.prefixlen > 30 or iface.ip in (iface.network.network_address, iface.network.broadcast_address):
        raise InventoryError('%s: host %s: lab_uplink_address %s is not a host address of a network that has room '
                             'for a router' % (where, host, value))
    return iface


def read_inventory(path, lab_name):
    """The LabSpec the inventory at ``path`` (a file or a directory) describes for the lab ``lab_name``."""
    check_lab_name(lab_name)
    prefix = lab_name + '-'
    files = inventory_files(path)
    inventory = _Inventory()
    for file in files:
        inventory.add_file(file)
    bases = sorted({f.parent for f in files})
    names = inventory.members(HOSTS_GROUP)
    if not names:
        raise InventoryError('%s: no host in group %s: the lab hosts are its members' % (path, HOSTS_GROUP))
    docker = inventory.members(DOCKER_GROUP)
    strangers = [h for h in docker if h not in names]
    if strangers:
        raise InventoryError('%s: %s in group %s but not in %s: a Docker engine runs on a lab host only'
                             % (path, ', '.join(strangers), DOCKER_GROUP, HOSTS_GROUP))
    hosts, addresses, namespaces = [], {}, {}
    for name in names:
        where = inventory.host_files[name]
        if not HOST_NAME.match(name):
            raise InventoryError('%s: host %r: use letters, digits, "_", "." or "-" (it names a directory)'
                                 % (where, name))
        variables = inventory.variables(name, bases)
        namespace, port = _namespace(name, variables, prefix, where)
        iface = _uplink_address(name, variables, where)
        for seen, what in ((namespaces, namespace), (addresses, iface.ip)):
            if what in seen:
                raise InventoryError('%s: hosts %s and %s both have %s' % (where, seen[what], name, what))
            seen[what] = name
        host = LabHost(name=name, namespace=namespace, port=port, uplink_address=str(iface), docker=name in docker)
        hosts.append((host, iface, where, variables.get('underlay_docker_host')))
    networks = sorted({str(iface.network) for _host, iface, _where, _url in hosts})
    if len(networks) > 1:
        raise InventoryError('%s: the lab hosts\' uplink addresses are on %s: put them on one network, the lab '
                             'switch\'s' % (path, ' and '.join(networks)))
    network = hosts[0][1].network
    router = ipaddress.IPv4Interface('%s/%d' % (network.network_address + 1, network.prefixlen))
    spec = LabSpec(name=lab_name, router_address=str(router), hosts=tuple(h for h, _iface, _where, _url in hosts))
    for host, iface, where, url in hosts:
        if iface.ip == router.ip:
            raise InventoryError('%s: host %s: %s is the lab router\'s address (the first of %s): take another'
                                 % (where, host.name, iface.ip, network))
        expected = spec.docker_url(host)
        if url is not None and '{{' not in str(url):
            if not host.docker:
                raise InventoryError('%s: host %s has underlay_docker_host but is not in group %s, so the lab runs '
                                     'no engine there: add it to %s or drop the variable'
                                     % (where, host.name, DOCKER_GROUP, DOCKER_GROUP))
            if url != expected:
                raise InventoryError('%s: host %s: underlay_docker_host is %s, but the lab\'s engine there listens '
                                     'on %s' % (where, host.name, url, expected))
    return spec
