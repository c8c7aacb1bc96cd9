# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reachability probes for the reachability module: real pings, run concurrently, changing nothing.

A probe is one run of the system ``ping`` from one place on the managed host:

* the task's own network namespace: ``ping -c COUNT -W TIMEOUT -n ADDRESS``;
* a named network namespace: the same under ``nsenter --net=/run/netns/NAME``;
* a Docker container: ``ping -c COUNT -W TIMEOUT ADDRESS`` run inside it through the engine's exec API
  (``docker_engine.Engine``); without ``-n``, which busybox's ping does not know (an address needs no
  name lookup anyway).

``normalize_probes`` validates the input (pure); ``Prober`` checks what the probes need on the host (the
ping and nsenter binaries, the namespaces, the engines and their running containers) before the first
ping, then runs them (``run_probes``, a thread pool); ``report`` is the module's result.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.underlay.network.plugins.module_utils.docker_engine import (
    DOCKER_ARGUMENT_SPEC,
    Engine,
    EngineError,
)
from ansible_collections.underlay.network.plugins.module_utils.netns import namespace_exists, namespace_path
from ansible_collections.underlay.network.plugins.module_utils.validation import (
    ValidationError,
    validate_netns_name,
)

try:
    from docker.errors import NotFound
except ImportError:  # reported by docker_engine.require_docker when a probe needs the engine
    NotFound = None

REACH, ISOLATED, ANY = 'reach', 'isolated', 'any'
EXPECTATIONS = (REACH, ISOLATED, ANY)
EXPECTED_WORDS = {REACH: 'reached', ISOLATED: 'not reached', ANY: 'any result'}
DEFAULT_DOCKER_HOST = DOCKER_ARGUMENT_SPEC['docker_host']['default']
# The Docker SDK keeps this many connections per client (docker.constants.DEFAULT_MAX_POOL_SIZE): more
# execs at once on one engine would only open and drop extra connections.
EXECS_PER_ENGINE = 10
# Where ping and nsenter may live, beyond PATH (a module's PATH may lack the sbin directories).
SYSTEM_PATH = ('/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin')

REACHABILITY_ARGUMENT_SPEC = dict(
    # name, target and expect are checked by normalize_probes, whose messages name the probe.
    probes=dict(type='list', elements='dict', required=True, options=dict(
        name=dict(type='str'),
        source=dict(type='dict', options=dict(
            netns=dict(type='str'),
            container=dict(type='str'),
            docker_host=dict(type='str'),
        )),
        target=dict(type='str'),
        expect=dict(type='str', default=ANY),
    )),
    count=dict(type='int', default=1),
    timeout=dict(type='int', default=1),
    retries=dict(type='int', default=1),
    parallel=dict(type='int', default=32),
    fail_on_mismatch=dict(type='bool', default=False),
)


# -- input (pure) -------------------------------------------------------------------
def validate_settings(count, timeout, parallel, retries=0):
    if retries < 0:
        raise ValidationError('retries is %d; it is how often a probe that must reach is tried again: use 0 or '
                              'more' % retries)
    for option, value, meaning in (('count', count, 'pings per probe'), ('timeout', timeout, 'seconds per ping'),
                                   ('parallel', parallel, 'probes at once')):
        if value < 1:
            raise ValidationError('%s is %d; it is the number of %s: use 1 or more' % (option, value, meaning))


def normalize_probes(probes):
    """Validate ``probes`` and return them normalized: name, source (netns, container, docker_host), target, expect.

    Raises ValidationError naming the probe (its position and name) and the fix.
    """
    return [_normalize_probe(position, probe) for position, probe in enumerate(probes)]


def _normalize_probe(position, probe):
    name = probe.get('name')
    label = 'probes[%d]%s' % (position, ' (%s)' % name if name else '')

    def fail(msg):
        raise ValidationError('%s: %s' % (label, msg))

    if not isinstance(name, str) or not name.strip():
        fail('name is required: the label of the probe in the results')
    target = probe.get('target')
    if not target:
        fail('target is required: the IP address to ping')
    try:
        address = ipaddress.ip_address(str(target).strip())
    except ValueError:
        fail("target '%s' is not an IP address; give the address alone (192.0.2.10 or 2001:db8::10), without a "
             'prefix length or a host name' % target)
    expect = probe.get('expect') or ANY
    if expect not in EXPECTATIONS:
        fail("expect '%s' is not one of %s; use reach (must answer), isolated (must not) or any (just report)"
             % (expect, ', '.join(EXPECTATIONS)))
    source = dict(probe.get('source') or {})
    netns, container, docker_host = source.get('netns'), source.get('container'), source.get('docker_host')
    if netns and container:
        fail("source has both netns '%s' and container '%s'; a probe runs from one place: keep one" % (
            netns, container))
    if docker_host and not container:
        fail('source.docker_host goes with source.container only (the engine of that container); add the '
             'container or drop docker_host')
    if netns:
        try:
            netns = validate_netns_name(netns, 'source.netns')
        except ValidationError as exc:
            fail(str(exc))
    if container is not None and not container.strip():
        fail('source.container is empty; name the container (or its id), or drop it')
    return {
        'name': name,
        'source': {'netns': netns or None, 'container': container or None,
                   'docker_host': (docker_host or DEFAULT_DOCKER_HOST) if container else None},
        'target': str(address),
        'expect': expect,
    }


def ping_argv(count, timeout, target, numeric=True):
    """The ping command line: ``count`` pings, ``timeout`` seconds for each answer, no name lookups."""
    return ['ping', '-c', str(count), '-W', str(timeout)] + (['-n'] if numeric else []) + [target]


def ping_detail(returncode, output):
    """One line for the results: ping's statistics (and round-trip times), else its last words."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    stats = next((line for line in lines if 'packets transmitted' in line), None)
    if stats is not None:
        rtt = next((line for line in lines if line.startswith(('rtt ', 'round-trip '))), None)
        return stats + ('; ' + rtt if rtt else '')
    if lines:
        return lines[-1]
    return 'ping exited with status %d and said nothing' % returncode


# One exec per container runs all of its probes at once (an exec costs far more than a ping): each target's
# ping in a background subshell, which prints one line, "@@ POSITION STATUS OUTPUT", its output squashed onto
# that line (one write, so lines from parallel subshells never mix). Arguments: count, timeout, targets.
CONTAINER_BATCH = (
    'count=$1 timeout=$2; shift 2; position=0; '
    'for target in "$@"; do '
    '(out=$(ping -c "$count" -W "$timeout" "$target" 2>&1); status=$?; echo "@@ $position $status" $out) & '
    'position=$((position + 1)); '
    'done; wait'
)


PING_STATS = re.compile(r'\d+ packets transmitted, .*?% packet loss')
PING_RTT = re.compile(r'(?:rtt|round-trip) min/avg/max\S* = \S+ ms')


def parse_batch(output, count):
    """``count`` (status, detail) pairs from CONTAINER_BATCH's lines, None for a target it did not report."""
    found = [None] * count
    for line in output.splitlines():
        words = line.split(' ', 3)
        if len(words) >= 3 and words[0] == '@@' and words[1].isdigit() and words[2].isdigit() \
                and int(words[1]) < count:
            found[int(words[1])] = (int(words[2]), squashed_detail(int(words[2]), words[3] if len(words) > 3 else ''))
    return found


def squashed_detail(returncode, text):
    """ping_detail for ping's output squashed onto one line."""
    stats, rtt = PING_STATS.search(text), PING_RTT.search(text)
    if stats is not None:
        return stats.group(0) + ('; ' + rtt.group(0) if rtt else '')
    return text.strip()[-200:] or 'ping exited with status %d and said nothing' % returncode


def is_ok(reached, expect):
    """Whether a probe behaved as expected; one that could not run (reached None) never did."""
    if reached is None:
        return False
    return expect == ANY or reached == (expect == REACH)


# -- the probes ---------------------------------------------------------------------
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


def probe_with_retries(prober, probes, parallel, retries):
    """run_probes, then again, up to ``retries`` times, for the probes that had to reach and did not.

    A first ping can be lost while the neighbour is being resolved on a loaded host; a retry can only turn
    "not reached" into "reached", so it is never given to a probe that must stay isolated.
    """
    results = run_probes(prober, probes, parallel)
    for attempt in range(2, retries + 2):
        again = [i for i, row in enumerate(results) if row['expected'] == REACH and row['reached'] is False]
        if not again:
            break
        for position, row in zip(again, run_probes(prober, [probes[i] for i in again], parallel)):
            if row['reached']:
                row['detail'] = '%s (answered on try %d)' % (row['detail'], attempt)
            results[position] = row
    return results


def result_row(probe, reached, detail):
    return {
        'name': probe['name'],
        'source': probe['source'],
        'target': probe['target'],
        'reached': reached,
        'expected': probe['expect'],
        'ok': is_ok(reached, probe['expect']),
        'detail': detail,
    }


def run_probes(prober, probes, parallel):
    """Every probe, at most ``parallel`` jobs at once (a container's probes are one job, one exec); the results
    in the order of ``probes``."""
    if not probes:
        return []
    jobs, by_container = [], {}
    for position, probe in enumerate(probes):
        source = probe['source']
        if source['container'] is None:
            jobs.append([position])
            continue
        key = (source['docker_host'], source['container'])
        if key not in by_container:
            by_container[key] = []
            jobs.append(by_container[key])
        by_container[key].append(position)
    results = [None] * len(probes)

    def run(positions):
        if probes[positions[0]]['source']['container'] is None:
            rows = [prober.probe(probes[positions[0]])]
        else:
            rows = prober.probe_from_container([probes[position] for position in positions])
        for position, row in zip(positions, rows):
            results[position] = row

    with ThreadPoolExecutor(max_workers=min(parallel, len(jobs))) as pool:
        list(pool.map(run, jobs))
    return results


def report(results):
    """The module's result (without ``changed``)."""
    mismatches = [r for r in results if not r['ok']]
    summary = {
        'total': len(results),
        'reached': sum(1 for r in results if r['reached']),
        'not_reached': sum(1 for r in results if r['reached'] is False),
        'not_run': sum(1 for r in results if r['reached'] is None),
        'mismatches': len(mismatches),
    }
    return {'results': results, 'mismatches': len(mismatches), 'summary': summary}


def describe_mismatch(result):
    """One mismatching result in a sentence, for messages."""
    if result['reached'] is None:
        got = 'could not run (%s)' % result['detail']
    else:
        got = 'reached' if result['reached'] else 'not reached'
    return '%s (%s): %s, expected %s' % (result['name'], result['target'], got, EXPECTED_WORDS[result['expected']])
