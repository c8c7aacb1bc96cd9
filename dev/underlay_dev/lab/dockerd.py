"""A real Docker engine inside a lab network namespace, for the tests and the embedded lab.

``DockerEngine(namespace, workdir)`` starts ``dockerd`` in an existing lab
namespace (never the root one) with every path of its own under ``workdir``:
data root, exec root, API socket, pid file, config file, log. It never touches
the machine's interfaces: no docker0 bridge, no iptables rules, and the only
links it makes are the ones a test or a playbook asks for, in the lab namespace.
The Docker tier's fixtures (underlay_dev/testing/docker_tier.py) and the embedded lab
(underlay_dev/lab/build.py, .venv/bin/labctl) share this one implementation.

    engine = DockerEngine('ult123-dk-docker', Path('/tmp/.../dockerd'))
    engine.start()           # waits until the API answers
    engine.build_image()     # IMAGE: busybox, nothing is ever pulled
    engine.client.networks.create(...)
    engine.reset()           # every container and network gone, engine still up
    engine.stop()            # everything gone: processes, mounts, workdir

A test's engine dies with the test process (it gets SIGTERM when its parent
goes). The embedded lab's engines outlive the ``labctl up`` that started them
(``persistent=True``); ``DockerEngine(None, workdir).stop()`` stops such an
engine later, from another process, through the pid file in its work dir.

Inside the kernel box (underlay_dev/box) the image store is ``vfs``:
overlayfs is not usable there. Nor can the engine import an image there: it
unpacks layers in a re-executed child with a cleared environment, which loses
the box's GODEBUG switch and crashes (AVX state is not preserved in the box).
So ``lab-dockerd build-store DIR`` (run by ``make kernel``, on the
host kernel) imports the image into a vfs data root once, and the box's engine
starts from a copy of it (``DockerEngine(..., image_store=DIR)``).

The engine is started with ``nsenter --net``, not ``ip netns exec``: the latter
also remounts /sys, and dockerd then finds no devices cgroup.
"""

from __future__ import annotations

import ctypes
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time
import uuid
from pathlib import Path

import docker

from underlay_dev.box.config import CPU_ENV
from underlay_dev.box.processes import process_running, processes_matching
from underlay_dev.paths import ROOT

IMAGE = 'underlay-busybox:test'
BUSYBOX = '/bin/busybox'  # Debian's busybox-static: no libraries needed in the image
APPLETS = ('sh', 'cat', 'echo', 'false', 'true', 'grep', 'hostname', 'ifconfig', 'ip', 'ls', 'nc',
           'ping', 'ping6', 'ps', 'route', 'arping', 'sleep')
# The networks every engine has; reset() keeps them (with --bridge=none there is no "bridge").
DEFAULT_NETWORKS = ('bridge', 'host', 'none')

# Inside the kernel box containers run under crun, through this wrapper (see its docstring).
BOX_RUNTIME = Path(__file__).resolve().parent / 'box_oci_runtime.py'
# Where make kernel and labctl up build the image store for the box's engines.
IMAGE_STORE = ROOT / '.cache' / 'docker-image-store'
STORE_COMPLETE = '.underlay-image-store'  # written last: the store is whole
START_TIMEOUT = 60.0
BOX_START_TIMEOUT = 300.0  # about 4 s in the kernel box from the image store; generous for a loaded CI machine
STOP_TIMEOUT = 30.0  # dockerd stops the containers it still runs (10 s each) before exiting
KILL_WAIT = 10.0
REQUEST_TIMEOUT = 300  # a container start in the kernel box takes seconds

_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1
_MNT_DETACH = 2


def kill_until_gone(find, wait=KILL_WAIT):
    """SIGKILL what ``find()`` lists until it lists nothing or ``wait`` seconds are over; what is left."""
    deadline = time.monotonic() + wait
    while (pids := find()) and time.monotonic() < deadline:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.1)
    return find()


def _die_with_parent():
    # In the forked child: should pytest die without stopping us, dockerd gets SIGTERM and shuts
    # its containers and containerd down by itself.
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def engine_answers(socket_path, timeout=2.0):
    """True when a Docker engine answers ``GET /_ping`` on the unix socket (no SDK, so it is quick to ask)."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(socket_path))
            sock.sendall(b'GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n')
            answer = sock.recv(64)
    except OSError:
        return False
    return answer.startswith(b'HTTP/1.') and answer[9:12] == b'200'


def _is_root_namespace(path):
    """True if ``path`` is the network namespace we run in (the machine's) or PID 1's."""
    target = os.stat(path)
    for ref in ('/proc/self/ns/net', '/proc/1/ns/net'):
        try:
            st = os.stat(ref)
        except PermissionError:
            continue  # PID 1 may be out of our reach (a VM's agent); our own is the machine's anyway
        if (st.st_dev, st.st_ino) == (target.st_dev, target.st_ino):
            return True
    return False


class DockerEngine:
    def __init__(self, namespace, workdir, kernel_box=False, image_store=None, data_root=None, persistent=False):
        self.namespace = namespace
        self.workdir = Path(workdir)
        self.kernel_box = kernel_box
        self.image_store = Path(image_store) if image_store else None
        self.data_root = Path(data_root) if data_root else self.workdir / 'data'
        self.exec_root = self.workdir / 'exec'
        self.socket = self.workdir / 'docker.sock'
        self.url = 'unix://%s' % self.socket
        self.log = self.workdir / 'dockerd.log'
        self.pidfile = self.workdir / 'docker.pid'
        # True: dockerd outlives this process (the embedded lab); False: it gets SIGTERM when we go.
        self.persistent = persistent
        self.process = None
        self.client = None
        self.start_seconds = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def command(self):
        netns = '/run/netns/' + self.namespace
        # The one guarantee that dockerd never sees the machine's interfaces.
        assert os.path.exists(netns), 'no lab namespace %s' % self.namespace
        assert not _is_root_namespace(netns), '%s is the root namespace' % self.namespace
        argv = ['nsenter', '--net=' + netns, str(self.workdir / 'dockerd') if self.kernel_box else 'dockerd',
                '--data-root', str(self.data_root), '--exec-root', str(self.exec_root),
                '-H', self.url, '--pidfile', str(self.pidfile),
                # Not /etc/docker/daemon.json: nothing of the machine's configuration applies.
                '--config-file', str(self.workdir / 'daemon.json'),
                '--bridge=none', '--iptables=false', '--ip6tables=false']
        if self.kernel_box:
            argv += ['--storage-driver=vfs', '--add-runtime', 'box=%s' % BOX_RUNTIME, '--default-runtime', 'box']
        return argv

    def start(self, timeout=None):
        """Start dockerd and wait until its API answers; on failure raise with the end of its log."""
        timeout = timeout or (BOX_START_TIMEOUT if self.kernel_box else START_TIMEOUT)
        argv = self.command()
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / 'daemon.json').write_text('{}\n')
        env = None
        if self.kernel_box:
            # A container start costs 7.5 s in the box; two cuts make it about 5 s. dockerd
            # re-executes itself three times per container (the network hook, set-ipv6,
            # setup-resolver), faster from a copy on the box's tmpfs (the work dir) than from
            # hostfs. And no iptables on its PATH: the NAT rules of the embedded DNS server (in
            # each container's namespace, --iptables=false or not) fail in the box anyway, which
            # has no nf_tables, and each of the five failing runs costs about 0.5 s there.
            shutil.copy2(shutil.which('dockerd'), self.workdir / 'dockerd')
            path = os.environ.get('PATH', os.defpath).split(os.pathsep)
            env = dict(os.environ, PATH=os.pathsep.join(d for d in path if not os.path.exists(d + '/iptables')))
        if self.image_store is not None and not self.data_root.exists():
            if not (self.image_store / STORE_COMPLETE).exists():
                raise RuntimeError('no image store in %s: build it with .venv/bin/lab-dockerd build-store %s (make '
                                   'kernel and .venv/bin/labctl up do)' % (self.image_store, self.image_store))
            # backingFsBlockDev: a device node the engine makes for quotas, again at each start.
            shutil.copytree(self.image_store, self.data_root, symlinks=True,
                            ignore=shutil.ignore_patterns('backingFsBlockDev'))
        started = time.monotonic()
        with self.log.open('ab') as log:
            self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
                                            start_new_session=True,
                                            preexec_fn=None if self.persistent else _die_with_parent)
        deadline = started + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError('dockerd exited with %d:\n%s' % (self.process.returncode, self.log_tail()))
            if self.socket.exists():
                try:
                    # Asks the engine for its API version: answers once the engine is up.
                    self.client = docker.DockerClient(base_url=self.url, timeout=5)
                    break
                except docker.errors.DockerException:
                    pass
            if time.monotonic() > deadline:
                raise RuntimeError('dockerd did not answer within %gs:\n%s' % (timeout, self.log_tail()))
            time.sleep(0.2)
        self.client.api.timeout = REQUEST_TIMEOUT
        self.start_seconds = time.monotonic() - started

    def log_tail(self, lines=30):
        try:
            return '\n'.join(self.log.read_text(errors='replace').splitlines()[-lines:])
        except OSError as exc:
            return '(no log: %s)' % exc

    def build_image(self):
        """Import IMAGE: busybox and its applet links, nothing to pull."""
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode='w') as tar:
            for name in ('bin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'root'):
                info = tarfile.TarInfo(name)
                info.type, info.mode = tarfile.DIRTYPE, 0o1777 if name == 'tmp' else 0o755
                tar.addfile(info)
            tar.add(BUSYBOX, 'bin/busybox')
            for applet in APPLETS:
                info = tarfile.TarInfo('bin/' + applet)
                info.type, info.linkname = tarfile.SYMTYPE, 'busybox'
                tar.addfile(info)
        changes = ['ENV PATH=/bin', 'CMD ["sleep", "86400"]']
        if self.kernel_box:
            # Containers get the image's environment, not ours: busybox is glibc, and must not use
            # AVX in the box either (underlay_dev/box).
            changes.append('ENV GLIBC_TUNABLES=' + json.dumps(CPU_ENV['GLIBC_TUNABLES']))
        repository, tag = IMAGE.split(':')
        answer = self.client.api.import_image_from_data(buf.getvalue(), repository=repository, tag=tag,
                                                        changes=changes)
        try:
            return self.client.images.get(IMAGE)
        except docker.errors.ImageNotFound:
            raise RuntimeError('importing %s failed: %s' % (IMAGE, answer)) from None

    def has_image(self):
        try:
            self.client.images.get(IMAGE)
        except docker.errors.ImageNotFound:
            return False
        return True

    def reset(self):
        """Remove every container (running or not) and every network but the default ones."""
        for container in self.client.containers.list(all=True):
            container.remove(force=True, v=True)
        for network in self.client.networks.list():
            if network.name not in DEFAULT_NETWORKS:
                network.remove()

    def stop(self):
        """Stop everything this engine started and remove its work dir; safe to call again.

        Also stops an engine another process started (persistent=True), found by its pid file.
        """
        pid = self.running_pid()
        if pid is not None:
            try:
                if self.client is None:
                    self.client = docker.DockerClient(base_url=self.url, timeout=STOP_TIMEOUT)
                self.reset()
            except docker.errors.DockerException:
                pass  # going anyway: what is left is killed below
        if self.client is not None:
            self.client.close()
            self.client = None
        if self.process is not None:
            self._terminate()
            self.process = None
        elif pid is not None:
            self._terminate_pid(pid)
        self._kill_leftovers()
        self._unmount_all()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _terminate(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def running_pid(self):
        """The PID of this engine's dockerd while it runs (ours, or the one its pid file names), else None."""
        if self.process is not None:
            return self.process.pid if self.process.poll() is None else None
        try:
            pid = int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None
        # Only a live dockerd serving our socket: a stale pid file may name any process by now.
        ours = self.url.encode()
        if process_running(pid) and pid in processes_matching(lambda argv: ours in argv):
            return pid
        return None

    def _terminate_pid(self, pid):
        """SIGTERM a dockerd that is not our child, wait for it to go, SIGKILL it after STOP_TIMEOUT."""
        for signum, wait in ((signal.SIGTERM, STOP_TIMEOUT), (signal.SIGKILL, KILL_WAIT)):
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                return
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                if not process_running(pid):
                    return
                time.sleep(0.1)
        raise RuntimeError('dockerd %d of %s survived SIGKILL' % (pid, self.workdir))

    def _processes(self):
        """PIDs of the processes working for this engine: its containerd, shims and runc.

        They are known by our exec root in their command line (containerd's config file, the
        shims' -address); nothing else on the machine has it there.
        """
        ours = os.fsencode(self.exec_root)
        return processes_matching(lambda argv: any(arg == ours or arg.startswith(ours + b'/') for arg in argv))

    def _kill_leftovers(self):
        """Wait for containerd and the shims to go (dockerd stops them); SIGKILL them after a bound."""
        deadline = time.monotonic() + KILL_WAIT
        while self._processes() and time.monotonic() < deadline:
            time.sleep(0.1)
        self._delete_runc_containers()
        pids = kill_until_gone(self._processes)
        if pids:
            raise RuntimeError('processes of the Docker engine in %s survived SIGKILL: %s' % (self.workdir, pids))
        # A killed shim leaves its socket behind in containerd's fixed /run/containerd/s; each of
        # our task bundles names its shim's socket.
        for address in self.exec_root.glob('containerd/daemon/io.containerd.runtime.v2.task/*/*/address'):
            socket = Path(address.read_text().strip().removeprefix('unix://'))
            if socket.parent == Path('/run/containerd/s'):
                socket.unlink(missing_ok=True)

    def _delete_runc_containers(self):
        """Only after dockerd died without stopping its containers: runc still knows them, kill them."""
        for root in self.exec_root.glob('runtime-runc/*'):
            for state in root.iterdir():
                subprocess.run(['runc', '--root', str(root), 'delete', '--force', state.name],
                               capture_output=True, timeout=30, check=False)

    def _mounts(self):
        ours = str(self.workdir)
        with open('/proc/self/mountinfo') as f:
            points = [line.split()[4] for line in f]
        # mountinfo escapes space, tab, newline and backslash as \ooo.
        points = [p.encode().decode('unicode_escape') for p in points]
        return [p for p in points if p == ours or p.startswith(ours + '/')]

    def _unmount_all(self):
        """Unmount what dockerd left under the work dir (overlay, shm, netns files), deepest first."""
        for _attempt in range(20):
            mounts = self._mounts()
            if not mounts:
                return
            for point in sorted(mounts, key=lambda p: p.count('/'), reverse=True):
                if _libc.umount2(point.encode(), 0) != 0:
                    _libc.umount2(point.encode(), _MNT_DETACH)
        raise RuntimeError('still mounted under %s: %s' % (self.workdir, self._mounts()))


def build_store(store):
    """Import IMAGE into a vfs data root at ``store`` with an engine in a namespace of its own."""
    store = Path(store).resolve()
    stamp = store / STORE_COMPLETE
    wanted = '%s %s\n' % (IMAGE, os.stat(BUSYBOX).st_mtime_ns)
    if stamp.exists() and stamp.read_text() == wanted:
        return
    shutil.rmtree(store, ignore_errors=True)
    namespace = 'ulimg-' + uuid.uuid4().hex[:8]
    subprocess.run(['ip', 'netns', 'add', namespace], check=True)
    try:
        engine = DockerEngine(namespace, store.parent / (store.name + '.work'), kernel_box=True, data_root=store)
        try:
            engine.start()
            engine.build_image()
        finally:
            engine.stop()
    finally:
        subprocess.run(['ip', 'netns', 'delete', namespace], check=True)
    stamp.write_text(wanted)


def main(argv=None):
    """``lab-dockerd build-store DIR`` (make kernel, labctl up): the store the box's engines start from."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2 or argv[0] != 'build-store':
        sys.exit('usage: lab-dockerd build-store DIR')
    build_store(argv[1])
    return 0


if __name__ == '__main__':
    sys.exit(main())
