"""How the netlink core imports pyroute2 (plugins/module_utils/_kernel/pyroute2_import.py): without the package's
``__init__``, which loads every netlink family pyroute2 knows, and without breaking anyone else's pyroute2."""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = r'''
import json, sys
import ansible_collections.underlay.network.plugins.module_utils._kernel.netlink  # noqa: F401
skipped = [name for name in ('pyroute2.conntrack', 'pyroute2.ndb.main', 'pyroute2.iwutil', 'pyroute2.ipvs')
           if name not in sys.modules]
from pyroute2 import NDB, IPRoute  # someone else in the process wants all of pyroute2
from pyroute2.iproute.linux import IPRoute as LinuxIPRoute
import pyroute2.conntrack  # noqa: F401
print(json.dumps({'skipped': skipped, 'same_iproute': IPRoute is LinuxIPRoute, 'ndb': NDB.__name__}))
'''


def test_the_core_skips_pyroute2s_package_init_and_the_rest_still_imports():
    proc = subprocess.run([sys.executable, '-c', SCRIPT], capture_output=True, text=True,
                          timeout=60, check=True)
    outcome = json.loads(proc.stdout)
    # Fails when the package's __init__ runs at import (each of these is loaded by it, and nothing here needs them).
    assert outcome['skipped'] == ['pyroute2.conntrack', 'pyroute2.ndb.main', 'pyroute2.iwutil', 'pyroute2.ipvs']
    assert outcome == {'skipped': outcome['skipped'], 'same_iproute': True, 'ndb': 'NDB'}
