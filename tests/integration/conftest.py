"""Integration tests: the machine's own kernel, real namespaces, Ansible run for real.

The fixtures and helpers live in the dev package's ``underlay_dev.testing``
(shared with the full-kernel tests in tests/kernel); importing the fixtures here
registers them for this directory. Test modules import the helpers from there:
``from underlay_dev.testing.harness import netlink_dump, read_link``.
"""

from __future__ import annotations

from underlay_dev.testing.chromium import browser
from underlay_dev.testing.docker_tier import docker_engine, docker_host
from underlay_dev.testing.harness import (
    ansible,
    collections_path,
    lab,
    netlink_dump,
    no_leftover_namespaces,
    no_leftover_tap_nodes,
    read_link,
    unnamed_processes,
)

__all__ = ['ansible', 'browser', 'collections_path', 'docker_engine', 'docker_host', 'lab', 'netlink_dump',
           'no_leftover_namespaces', 'no_leftover_tap_nodes', 'read_link', 'unnamed_processes']


def pytest_configure(config):
    # Registered here, with the only tests that use it (--strict-markers).
    config.addinivalue_line('markers', 'kernel_box: boots a persistent kernel box from the host side '
                                       '(tests/integration/test_labctl.py); runs in make integration')
