#!/usr/bin/env python3
"""Bring the demo lab up or down: the seed blog's host, in network namespaces.

    .venv/bin/python lab/labctl.py up      # (re)build the lab
    .venv/bin/ansible-playbook -i lab/inventory.yml playbooks/site.yml
    .venv/bin/python lab/labctl.py down    # remove everything

``up`` builds a lab "switch" (namespace ``uldemo-sw`` with bridge ``br0``) and
one lab host, namespace ``uldemo-host1``, whose ``eth0`` (a veth wired to the
switch port ``host1``) carries the seed's host address 172.28.252.45/20.
``up`` always starts from a clean slate: whatever a previous run left under the
``uldemo-`` prefix (including the "containers" uldemo-net1/uldemo-net2 that
playbooks/site.yml creates) is removed first, then the lab is built anew. It
fails only if the lab cannot be built, and then removes what it had made.

``down`` removes every namespace named ``uldemo-*`` (deleting a namespace
deletes the links inside it); it succeeds when there is nothing to remove.

``status`` lists the lab's namespaces (exit status 1 when the lab is not up).

Nothing here touches the machine's own interfaces, routes or firewall.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'lab'))

from pyroute2 import netns  # noqa: E402
from underlay_lab import Lab, remove_leftovers  # noqa: E402

PREFIX = 'uldemo-'
HOST = 'host1'
HOST_ADDRESS = '172.28.252.45/20'
# The working tree as an installed collection (ansible.cfg: collections_path = .cache/collections).
COLLECTION_LINK = ROOT / '.cache' / 'collections' / 'ansible_collections' / 'underlay' / 'network'


def lab_namespaces():
    return sorted(name for name in netns.listnetns() if name.startswith(PREFIX))


def ensure_collection_link():
    """Make the working tree visible as ansible_collections/underlay/network (as scripts/bootstrap.sh does)."""
    if COLLECTION_LINK.is_symlink() or COLLECTION_LINK.exists():
        return
    COLLECTION_LINK.parent.mkdir(parents=True, exist_ok=True)
    COLLECTION_LINK.symlink_to(Path('..', '..', '..', '..'))


def up():
    ensure_collection_link()
    if lab_namespaces():
        print('labctl: removing the previous demo lab: %s' % ' '.join(lab_namespaces()))
        remove_leftovers(PREFIX)
    lab = Lab(PREFIX)
    try:
        lab.up_switch()
        lab.add_host(HOST, address=HOST_ADDRESS)
    except BaseException:
        lab.teardown()
        raise
    print('labctl: lab up: switch %s (br0), host %s (eth0 %s)' % (lab.switch, lab.ns(HOST), HOST_ADDRESS))
    return 0


def down():
    found = lab_namespaces()
    remove_leftovers(PREFIX)
    left = lab_namespaces()
    if left:
        print('labctl: could not remove %s' % ' '.join(left), file=sys.stderr)
        return 1
    print('labctl: lab down (%s)' % (('removed ' + ' '.join(found)) if found else 'nothing to remove'))
    return 0


def status():
    found = lab_namespaces()
    print('\n'.join(found) if found else 'labctl: no demo lab')
    return 0 if PREFIX + HOST in found else 1


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('action', choices=['up', 'down', 'status'])
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        parser.error('must run as root (it creates network namespaces)')
    return {'up': up, 'down': down, 'status': status}[args.action]()


if __name__ == '__main__':
    sys.exit(main())
