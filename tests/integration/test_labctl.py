""".venv/bin/labctl end to end: the embedded lab up, idempotent, inspected, used, rebuilt and down, leaving nothing.

* On the host kernel (``--kernel host``, forced on this machine, whose kernel
  has no 802.1Q VLAN / ipvlan: labctl says so), with a scratch inventory of two
  hosts, one of them a docker host: the lab is what the inventory says (eth0
  addresses, default routes via the lab router, a Docker engine with the test
  image at the socket the inventory states), a second ``up`` changes nothing,
  ``run`` passes the exit status on and Ansible reaches the hosts through the
  inventory, a changed inventory makes ``up`` say what differs and rebuild,
  and after ``down`` no namespace, process, mount or file of the lab is left.
* In the persistent kernel box (marked ``kernel_box``; it is booted from the
  host side, so it lives here and not in tests/kernel): two hosts, a VLAN made
  in a lab host's namespace through ``run``, Ctrl-C cancelling a job, and no
  UML process left after ``down``. About 15 s.
* Inventory mistakes fail before anything is built, naming the host and the fix.

Each test's lab has a name of its own under this run's prefix (``ult<pid>-``),
so the user's lab (``ulab``) is never touched, and the session's cleanup
removes namespaces a failed test left.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import docker
import pytest
import yaml
from pyroute2 import IPRoute, netns
from underlay_dev.box.processes import processes_matching, uml_processes_of_runner
from underlay_dev.lab.build import leftovers, missing_features
from underlay_dev.lab.dockerd import IMAGE
from underlay_dev.lab.inventory import InventoryError, read_inventory
from underlay_dev.testing.harness import PREFIX_ROOT, ROOT, VENV_BIN, in_kernel_box, reaches, read_link

LABCTL = VENV_BIN / 'labctl'
STATE_ROOT = ROOT / '.cache' / 'lab'

needs_root = pytest.mark.skipif(os.geteuid() != 0 or in_kernel_box(),
                                reason='needs root on the host kernel (the lab is made of namespaces)')


def write_inventory(path, lab_name, addresses, docker_hosts=()):
    """A lab inventory: hosts -> uplink address; docker hosts state their engine's socket."""
    hosts = {}
    for host, address in addresses.items():
        hosts[host] = {'lab_uplink_address': address}
        if host in docker_hosts:
            hosts[host]['underlay_docker_host'] = 'unix:///run/%s/%s/docker.sock' % (lab_name, host)
    inventory = {'all': {'children': {
        'underlay_hosts': {
            'vars': {'ansible_connection': 'underlay.network.netns',
                     'ansible_netns_name': lab_name + '-{{ inventory_hostname }}',
                     'ansible_python_interpreter': sys.executable},
            'hosts': hosts},
        'docker_hosts': {'hosts': {host: None for host in docker_hosts}},
    }}}
    path.write_text(yaml.safe_dump(inventory, sort_keys=False))
    return path


class Labctl:
    def __init__(self, name):
        self.name = name

    def __call__(self, *args, timeout=300):
        """Run labctl for this lab; returns (exit status, stdout + stderr)."""
        done = subprocess.run([str(LABCTL), '--name', self.name, *args], cwd=ROOT,
                              capture_output=True, text=True, timeout=timeout, check=False)
        return done.returncode, done.stdout + done.stderr

    def start(self, *args):
        return subprocess.Popen([str(LABCTL), '--name', self.name, *args], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def state(self):
        return json.loads((STATE_ROOT / self.name / 'state.json').read_text())


@pytest.fixture
def labctl(request):
    ctl = Labctl(PREFIX_ROOT + request.param)
    try:
        yield ctl
    finally:
        ctl('down')


def lab_processes(name):
    marker = ('/run/%s/' % name).encode()
    return processes_matching(lambda argv: any(marker in arg for arg in argv))


def assert_nothing_left(name):
    assert leftovers(name) == {}
    assert not [n for n in netns.listnetns() if n.startswith(name + '-')]
    assert not lab_processes(name)
    assert not (STATE_ROOT / name).exists()
    assert not os.path.exists('/run/%s' % name)
    with open('/proc/self/mountinfo') as f:
        assert not [line for line in f if '/run/%s' % name in line or '/run/netns/%s-' % name in line]


@needs_root
@pytest.mark.parametrize('labctl', ['lc'], indirect=True)
def test_host_kernel_lab_up_idempotent_run_rebuilt_and_down_leaving_nothing(labctl, tmp_path):
    name = labctl.name
    inventory = write_inventory(tmp_path / 'hosts.yml', name, {'h1': '172.28.0.11/24', 'h2': '172.28.0.12/24'},
                                docker_hosts=('h1',))

    code, out = labctl('up', '--inventory', str(inventory), '--kernel', 'host')
    assert code == 0, out
    assert 'is up in the host kernel' in out, out
    if missing_features(name + '-'):
        assert 'no 802.1Q VLAN / ipvlan' in out, out
    h1, h2 = name + '-h1', name + '-h2'
    assert read_link(h1, 'eth0')['addresses'] == ['172.28.0.11/24']
    with IPRoute(netns=h2, flags=0) as ipr:
        assert [r.get_attr('RTA_GATEWAY') for r in ipr.get_default_routes()] == ['172.28.0.1']
    assert reaches(h2, '172.28.0.1') and reaches(h2, '172.28.0.11')
    client = docker.DockerClient(base_url='unix:///run/%s/h1/docker.sock' % name, timeout=30)
    try:
        assert client.images.get(IMAGE)
    finally:
        client.close()

    code, out = labctl('up', '--inventory', str(inventory), '--kernel', 'host')
    assert code == 0 and 'already up' in out, out
    code, out = labctl('status')
    assert code == 0 and 'unix:///run/%s/h1/docker.sock' % name in out and h2 in out, out

    assert labctl('run', '--', 'sh', '-c', 'exit 3')[0] == 3
    code, out = labctl('run', '--', str(ROOT / '.venv' / 'bin' / 'ansible'), '-i', str(inventory), 'underlay_hosts',
                       '-m', 'ansible.builtin.command', '-a', 'ip -4 -o addr show eth0')
    assert code == 0 and '172.28.0.11/24' in out and '172.28.0.12/24' in out, out

    write_inventory(inventory, name, {'h1': '172.28.0.11/24', 'h2': '172.28.0.22/24'}, docker_hosts=('h1',))
    code, out = labctl('up', '--inventory', str(inventory), '--kernel', 'host')
    assert code == 0 and 'host h2: uplink_address 172.28.0.12/24 -> 172.28.0.22/24' in out, out
    assert read_link(h2, 'eth0')['addresses'] == ['172.28.0.22/24']

    code, out = labctl('down')
    assert code == 0 and 'verified' in out and 'Docker engine h1' in out, out
    assert_nothing_left(name)
    code, out = labctl('down')
    assert code == 0 and 'nothing to remove' in out, out
    assert labctl('status')[0] == 1
    code, out = labctl('run', '--', 'true')
    assert code == 125 and 'not up' in out, out


@needs_root
@pytest.mark.kernel_box
@pytest.mark.parametrize('labctl', ['lb'], indirect=True)
def test_kernel_box_lab_runs_jobs_with_the_full_kernel_and_goes_down_completely(labctl, tmp_path):
    name = labctl.name
    inventory = write_inventory(tmp_path / 'hosts.yml', name, {'h1': '172.28.0.11/24', 'h2': '172.28.0.12/24'})
    started = time.monotonic()
    code, out = labctl('up', '--inventory', str(inventory), '--kernel', 'box', '--timeout', '120')
    assert code == 0 and 'in the kernel box (User-Mode Linux' in out, out
    up_seconds = time.monotonic() - started
    supervisor = labctl.state()['supervisor']
    assert uml_processes_of_runner(supervisor)
    assert not [n for n in netns.listnetns() if n.startswith(name + '-')], 'the lab must live in the box'

    h1 = name + '-h1'
    code, out = labctl('run', '--', 'sh', '-c', 'ip -n %s link add link eth0 name eth0.7 type vlan id 7 && '
                                                'ip -n %s -d link show eth0.7 && ip -n %s route' % (h1, h1, h1))
    assert code == 0 and 'vlan protocol 802.1Q id 7' in out and 'default via 172.28.0.1' in out, out
    code, out = labctl('status')
    assert code == 0 and 'kernel box' in out, out

    job = labctl.start('run', '--', 'sh', '-c', 'echo started; sleep 60; echo finished')
    assert job.stdout.readline().strip() == 'started'
    job.send_signal(signal.SIGINT)
    assert job.wait(timeout=20) == 130
    assert 'finished' not in job.stdout.read()

    code, out = labctl('down')
    assert code == 0 and 'verified' in out, out
    assert not uml_processes_of_runner(supervisor)
    assert_nothing_left(name)
    assert up_seconds < 60, 'the box took %.0fs to come up' % up_seconds


@pytest.mark.parametrize('hosts, docker_hosts, message', [
    ({'h1': None}, (), 'host h1: set lab_uplink_address'),
    ({'h1': '172.28.0.11/24', 'h2': '172.28.1.12/24'}, (), 'put them on one network'),
    ({'h1': '172.28.0.1/24'}, (), "172.28.0.1 is the lab router's address"),
    ({'h1': '172.28.0.11/24'}, ('h9',), 'h9 in group docker_hosts but not in underlay_hosts'),
])
def test_inventory_mistakes_fail_naming_the_host_and_the_fix(tmp_path, hosts, docker_hosts, message):
    path = write_inventory(tmp_path / 'hosts.yml', 'ulab', hosts)
    data = yaml.safe_load(path.read_text())
    data['all']['children']['docker_hosts']['hosts'] = {h: None for h in docker_hosts}
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(InventoryError, match=message):
        read_inventory(path, 'ulab')


def test_inventory_namespace_and_socket_must_be_the_labs(tmp_path):
    path = write_inventory(tmp_path / 'hosts.yml', 'other', {'h1': '172.28.0.11/24'})
    with pytest.raises(InventoryError, match="namespace 'other-h1' does not start with the lab prefix 'ulab-'"):
        read_inventory(path, 'ulab')
    path = write_inventory(tmp_path / 'hosts.yml', 'ulab', {'h1': '172.28.0.11/24'}, docker_hosts=('h1',))
    data = yaml.safe_load(path.read_text())
    data['all']['children']['underlay_hosts']['hosts']['h1']['underlay_docker_host'] = 'unix:///var/run/docker.sock'
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(InventoryError, match='listens on unix:///run/ulab/h1/docker.sock'):
        read_inventory(path, 'ulab')


def test_the_lab_inventory_describes_three_hosts_one_with_docker():
    spec = read_inventory(ROOT / 'inventories' / 'lab', 'ulab')
    assert [(h.name, h.namespace, h.docker) for h in spec.hosts] == [
        ('host1', 'ulab-host1', True), ('host2', 'ulab-host2', False), ('host3', 'ulab-host3', False)]
    assert spec.router_address == '172.28.0.1/24'
