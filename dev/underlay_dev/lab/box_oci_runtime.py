#!/usr/bin/env python
"""The Docker engine's OCI runtime inside the kernel box: crun, with GODEBUG handed to OCI hooks.

Go programs must run with the box's GODEBUG switch (underlay_dev/box: AVX state does not
survive in the box). runc is Go, and re-executes itself for a container's init with an
environment of its own, so it crashes there: crun (C) runs the containers instead. The engine's
network hook (``dockerd libnetwork-setkey``) is Go too and runs with the hook's environment from
the bundle's config.json, which is empty: this wrapper adds GODEBUG to every hook, then becomes
crun with the same arguments (the runc command line, which crun accepts).
"""

import json
import os
import sys

argv = sys.argv[1:]
if 'create' in argv and '--bundle' in argv:
    config_path = os.path.join(argv[argv.index('--bundle') + 1], 'config.json')
    with open(config_path) as f:
        config = json.load(f)
    for hooks in (config.get('hooks') or {}).values():
        for hook in hooks:
            hook['env'] = [e for e in hook.get('env') or () if not e.startswith('GODEBUG=')] + [
                'GODEBUG=' + os.environ.get('GODEBUG', '')]
    with open(config_path, 'w') as f:
        json.dump(config, f)
os.execvp('crun', ['crun'] + argv)
