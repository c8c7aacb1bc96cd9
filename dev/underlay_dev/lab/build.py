"""The embedded lab on the kernel this process runs on: build it, check it, find what is left, remove it.

    missing = missing_features('ulab-')            # ['802.1Q VLAN', 'ipvlan'] on this machine's kernel
    lab, engines = build(spec, persistent=True)    # spec: a LabSpec (underlay_dev/lab/inventory.py)
    health(spec)                                   # [] when every namespace is there and every engine answers
    teardown('ulab')                               # engines, namespaces, /run/ulab
    leftovers('ulab')                              # {} when nothing of the lab remains

``labctl up --kernel host`` calls ``build`` itself; in the kernel box the
agent (underlay_dev/lab/box_agent.py) calls it inside the box, so that the lab is the same
wherever it lives:

* a switch namespace ``<prefix>sw`` with bridge ``br0``, which carries the lab
  router's address (no VLAN filtering: tagged frames pass, and the hosts'
  VLAN sub-interfaces keep VLANs apart);
* per host a namespace whose ``eth0`` is a veth wired to a bridge port named
  after it, with the host's uplink address and its default route via the
  router, as a fleet host's uplink has (the roles must not cut it off);
* per docker host a real dockerd in the host's namespace (underlay_dev/lab/dockerd.py),
  work dir ``/run/<lab>/<host>`` (socket ``docker.sock`` there), with the
  busybox test image: imported on the host kernel, copied from the image
  store inside the box (where the engine cannot import).

Everything the lab owns is found by name, never by memory of a process:
namespaces by the prefix, engines by their work dirs under ``/run/<lab>``,
their processes and mounts by that path. So ``teardown`` and ``leftovers``
work from any process, after any crash.
"""

from __future__ import annotations

import os
import shutil

from pyroute2 import IPRoute, NetlinkError, netns

from underlay_dev.box.processes import processes_matching
from underlay_dev.lab.dockerd import DockerEngine, engine_answers, kill_until_gone
from underlay_dev.lab.inventory import run_dir
from underlay_dev.lab.topology import Lab, remove_leftovers

# What the plays need beyond macvlan, each tried as a link on a veth in a scratch namespace.
FEATURES = (
    ('802.1Q VLAN', {'kind': 'vlan', 'vlan_id': 10}),
    ('ipvlan', {'kind': 'ipvlan', 'ipvlan_mode': 0}),
)


def missing_features(prefix):
    """The FEATURES this kernel lacks, found in a scratch namespace ``<prefix>probe<pid>`` that is removed again."""
    scratch = '%sprobe%d' % (prefix, os.getpid())
    netns.create(scratch)
    try:
        with IPRoute(netns=scratch, flags=0) as ipr:
            ipr.link('add', ifname='probe0', kind='veth', peer='probe1')
            parent = ipr.link_lookup(ifname='probe0')[0]
            missing = []
            for number, (feature, attrs) in enumerate(FEATURES):
                try:
                    ipr.link('add', ifname='probe%d' % (number + 2), link=parent, **attrs)
                except NetlinkError:
                    missing.append(feature)
            return missing
    finally:
        netns.remove(scratch)


def build(spec, kernel_box=False, persistent=False, image_store=None):
    """Build the lab ``spec`` describes; on any failure remove what was made, then raise.

    Returns the ``Lab`` and the started engines by host name. ``persistent``: the engines outlive
    this process (labctl up on the host kernel); ``image_store``: where the box's engines copy
    their image store from.
    """
    lab = Lab(spec.prefix)
    engines = {}
    try:
        lab.up_switch(address=spec.router_address)
        for host in spec.hosts:
            lab.add_host(host.port, address=host.uplink_address, gateway=spec.router)
        for host in spec.docker_hosts:
            engine = DockerEngine(host.namespace, spec.engine_dir(host), kernel_box=kernel_box,
                                  image_store=image_store if kernel_box else None, persistent=persistent)
            engines[host.name] = engine
            engine.start()
            if not engine.has_image():
                engine.build_image()
    except BaseException:
        for engine in engines.values():
            engine.stop()
        lab.teardown()
        shutil.rmtree(spec.run_dir, ignore_errors=True)
        raise
    return lab, engines


def lab_namespaces(prefix):
    return sorted(name for name in netns.listnetns() if name.startswith(prefix))


def health(spec):
    """What is wrong with the lab ``spec`` describes, as built on this kernel: one line per problem."""
    present = set(lab_namespaces(spec.prefix))
    problems = ['namespace %s is missing' % ns for ns in [spec.switch] + [h.namespace for h in spec.hosts]
                if ns not in present]
    problems += ['the Docker engine of %s does not answer at %s' % (h.name, spec.docker_url(h))
                 for h in spec.docker_hosts if not engine_answers(spec.engine_dir(h) / 'docker.sock')]
    return problems


def _lab_processes(lab_name):
    """PIDs of processes with the lab's run dir in their command line: its engines, containerds and shims."""
    marker = os.fsencode(run_dir(lab_name)) + b'/'
    own = os.getpid()
    return [pid for pid in processes_matching(lambda argv: any(marker in arg for arg in argv)) if pid != own]


def _lab_mounts(lab_name):
    """Mount points of the lab: under its run dir, and its namespaces' bind mounts under /run/netns."""
    ours = str(run_dir(lab_name))
    namespaces = '/run/netns/%s-' % lab_name
    with open('/proc/self/mountinfo') as f:
        points = [line.split()[4].encode().decode('unicode_escape') for line in f]
    return [p for p in points if p == ours or p.startswith(ours + '/') or p.startswith(namespaces)]


def teardown(lab_name):
    """Remove the lab ``lab_name`` from this kernel: its engines, namespaces and run dir. Returns what was there."""
    removed = []
    base = run_dir(lab_name)
    if base.is_dir():
        for workdir in sorted(p for p in base.iterdir() if p.is_dir()):
            DockerEngine(None, workdir).stop()
            removed.append('Docker engine %s' % workdir.name)
    # Whatever still runs from the run dir (an engine whose pid file was lost): it is ours, by its path.
    kill_until_gone(lambda: _lab_processes(lab_name))
    namespaces = lab_namespaces(lab_name + '-')
    remove_leftovers(lab_name + '-')
    removed += ['namespace %s' % ns for ns in namespaces]
    shutil.rmtree(base, ignore_errors=True)
    return removed


def leftovers(lab_name):
    """What remains of the lab ``lab_name`` on this kernel, by kind; empty when nothing does."""
    found = {
        'namespaces': lab_namespaces(lab_name + '-'),
        'processes': ['%d (%s)' % (pid, _command_name(pid)) for pid in _lab_processes(lab_name)],
        'mounts': _lab_mounts(lab_name),
        'files': [str(run_dir(lab_name))] if run_dir(lab_name).exists() else [],
    }
    return {kind: items for kind, items in found.items() if items}


def _command_name(pid):
    try:
        with open('/proc/%d/comm' % pid) as f:
            return f.read().strip()
    except OSError:
        return 'gone'
