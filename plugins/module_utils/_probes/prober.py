# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Running probes on the managed host: ``Prober`` checks what the probes need (the ping and nsenter binaries,
the namespaces, the engines and their running containers) before the first ping, then pings; a container's
pings run inside it through the engine's exec API (``ProbeEngine``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading

from ansible_collections.underlay.network.plugins.module_utils._common.errors import EngineError, ValidationError
from ansible_collections.underlay.network.plugins.module_utils._docker.engine import Engine
from ansible_collections.underlay.network.plugins.module_utils._kernel.netns import namespace_exists, namespace_path
from ansible_collections.underlay.network.plugins.module_utils._probes.ping import (
    CONTAINER_BATCH,
    parse_batch,
    ping_argv,
    ping_detail,
)
from ansible_collections.underlay.network.plugins.module_utils._probes.probes import result_row

try:
    from docker.errors import NotFound
except ImportError:  # reported by _docker/engine.require_docker when a probe needs the engine
    NotFound = None


# The Docker SDK keeps this many connections per client (docker.constants.DEFAULT_MAX_POOL_SIZE): more
# execs at once on one engine would only open and drop extra connections.
EXECS_PER_ENGINE = 10
# Where ping and nsenter may live, beyond PATH (a module's PATH may lack the sbin directories).
SYSTEM_PATH = ('/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin')


class ProbeEngine(Engine):
    """A Docker engine that runs ping inside containers (exec API); read-only."""

    def __init__(self, url, timeout):
        super().__init__(url, timeout)
        self.slots = threading.BoundedSemaphore(EXECS_PER_ENGINE)

    def container_running(self, name):
        """True when the container runs, False when it is stopped, None when there is no such container."""
        try:
            info = self._call('inspect container %s' % name, self.api.inspect_container, name)
        except EngineError as exc:
            if NotFound is not None and isinstance(exc.__cause__, NotFound):
                return None
            raise
        return bool(info['State'].get('Running'))

    def run_in(self, container, argv):
        """Run ``argv`` in ``container``; return its exit status and its output (stdout and stderr)."""
        with self.slots:
            what = 'run %s in container %s' % (argv[0], container)
            created = self._call(what, self.api.exec_create, container, argv, stdout=True, stderr=True)
            output = self._call(what, self.api.exec_start, created['Id'])
            code = self._call(what, self.api.exec_inspect, created['Id'])['ExitCode']
        return code, output.decode('utf-8', 'replace') if isinstance(output, bytes) else str(output)


class Prober:
    """Runs probes; ``prepare`` first checks everything they need on this host, before any ping."""

    def __init__(self, count=1, timeout=1, engine_factory=ProbeEngine, which=shutil.which):
        self.count, self.timeout = count, timeout
        self.engine_factory = engine_factory
        self.which = which
        self.tools = {}
        self.engines = {}
        # ping waits `timeout` for the last of `count` pings sent a second apart; beyond that it is stuck.
        self.limit = count + timeout + 5

    def _tool(self, name, package):
        path = os.environ.get('PATH', '') + os.pathsep + os.pathsep.join(SYSTEM_PATH)
        found = self.which(name, path=path)
        if found is None:
            raise ValidationError('%s is not installed on this host (looked in %s); install %s'
                                  % (name, path, package))
        return found

    def prepare(self, probes):
        """Check the tools, namespaces, engines and containers the probes need; raises ValidationError or
        EngineError naming the probe."""
        if any(p['source']['container'] is None for p in probes):
            self.tools['ping'] = self._tool('ping', 'iputils-ping')
        if any(p['source']['netns'] for p in probes):
            self.tools['nsenter'] = self._tool('nsenter', 'util-linux')
        checked = set()
        for position, probe in enumerate(probes):
            source = probe['source']
            where = (source['netns'], source['container'], source['docker_host'])
            if where in checked:
                continue
            checked.add(where)
            label = 'probes[%d] (%s)' % (position, probe['name'])
            if source['netns'] and not namespace_exists(source['netns']):
                raise ValidationError("%s: netns '%s' does not exist on this host (%s is missing; ip netns list "
                                      'shows those that do); create it or fix source.netns'
                                      % (label, source['netns'], namespace_path(source['netns'])))
            if source['container']:
                self._check_container(label, source['docker_host'], source['container'])

    def _check_container(self, label, url, container):
        if url not in self.engines:
            try:
                self.engines[url] = self.engine_factory(url, self.limit + 10)
            except EngineError as exc:
                raise EngineError('%s: %s' % (label, exc)) from exc
        running = self.engines[url].container_running(container)
        if running is None:
            raise ValidationError("%s: container '%s' does not exist on the Docker engine at %s; start it, or fix "
                                  'source.container or source.docker_host' % (label, container, url))
        if not running:
            raise ValidationError("%s: container '%s' on the Docker engine at %s is not running, so nothing can be "
                                  'pinged from it; start it first' % (label, container, url))

    def probe(self, probe):
        """Run one probe; return the result row."""
        return result_row(probe, *self._ping(probe['source'], probe['target']))

    def probe_from_container(self, probes):
        """Run the probes of one container (``probes`` share their source) in one exec; the result rows.

        A container without a shell gets one exec per probe instead.
        """
        source = probes[0]['source']
        engine = self.engines[source['docker_host']]
        argv = ['sh', '-c', CONTAINER_BATCH, 'sh', str(self.count), str(self.timeout)] + [p['target'] for p in probes]
        try:
            code, output = engine.run_in(source['container'], argv)
        except EngineError as exc:
            return [result_row(probe, None, str(exc)) for probe in probes]
        if code in (126, 127):
            return [self.probe(probe) for probe in probes]
        rows = []
        for probe, found in zip(probes, parse_batch(output, len(probes))):
            if found is None:
                rows.append(result_row(probe, None, 'no result from container %s: %s'
                                       % (source['container'], output.strip()[-200:] or 'no output')))
            elif found[0] in (126, 127):
                rows.append(result_row(probe, None, 'ping cannot be run in container %s (status %d): %s'
                                       % (source['container'], found[0], found[1].strip() or 'no output')))
            else:
                rows.append(result_row(probe, found[0] == 0, found[1]))
        return rows

    def _ping(self, source, target):
        """(reached, detail): reached is None when the probe could not run at all."""
        if source['container']:
            return self._ping_in_container(source, target)
        argv = ping_argv(self.count, self.timeout, target)
        argv[0] = self.tools['ping']
        if source['netns']:
            argv = [self.tools['nsenter'], '--net=' + namespace_path(source['netns'])] + argv
        try:
            done = subprocess.run(argv, capture_output=True, timeout=self.limit, check=False,
                                  env=dict(os.environ, LC_ALL='C'))
        except subprocess.TimeoutExpired:
            return None, 'ping gave no result within %d s and was stopped' % self.limit
        except OSError as exc:
            return None, 'cannot run %s: %s' % (argv[0], exc)
        output = (done.stdout + done.stderr).decode('utf-8', 'replace')
        if source['netns'] and done.returncode != 0 and output.startswith('nsenter:'):
            return None, output.strip()  # nsenter itself failed (the namespace went away meanwhile)
        return done.returncode == 0, ping_detail(done.returncode, output)

    def _ping_in_container(self, source, target):
        engine = self.engines[source['docker_host']]
        try:
            code, output = engine.run_in(source['container'], ping_argv(self.count, self.timeout, target,
                                                                        numeric=False))
        except EngineError as exc:
            return None, str(exc)
        if code in (126, 127):
            return None, 'ping cannot be run in container %s (status %d): %s' % (
                source['container'], code, output.strip() or 'no output')
        return code == 0, ping_detail(code, output)

    def close(self):
        for engine in self.engines.values():
            engine.api.close()
        self.engines.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
