# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The reachability module's input: its argument spec and the probes, validated and normalized (pure).

A probe is one run of the system ``ping`` from one place on the managed host (the task's namespace, a named
namespace, or a Docker container) to an address, with what is expected: reached, not reached, or either."""

from __future__ import annotations

import ipaddress

from ansible_collections.underlay.network.plugins.module_utils._common.errors import ValidationError
from ansible_collections.underlay.network.plugins.module_utils._common.validation import validate_netns_name
from ansible_collections.underlay.network.plugins.module_utils._common.vocabulary import (
    ANY,
    EXPECTATIONS,
    ISOLATED,
    REACH,
)
from ansible_collections.underlay.network.plugins.module_utils._docker.spec import DOCKER_ARGUMENT_SPEC

EXPECTED_WORDS = {REACH: 'reached', ISOLATED: 'not reached', ANY: 'any result'}
DEFAULT_DOCKER_HOST = DOCKER_ARGUMENT_SPEC['docker_host']['default']

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


def is_ok(reached, expect):
    """Whether a probe behaved as expected; one that could not run (reached None) never did."""
    if reached is None:
        return False
    return expect == ANY or reached == (expect == REACH)


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
