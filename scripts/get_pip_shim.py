"""Offline stand-in for get-pip.py, used by scripts/sanity.sh.

ansible-test creates each sanity virtualenv without pip and bootstraps it with
get-pip.py downloaded from ci-files.testing.ansible.com, which this network
cannot reach; it first looks for a copy in ~/.ansible/test/cache. This file is
that copy: it installs pip with the interpreter's own ensurepip, then lets that
pip install what ansible-test asked for (e.g. pip==24.2) from PyPI.
"""

import subprocess
import sys

# get-pip.py options that plain `pip install` does not know.
args = [arg for arg in sys.argv[1:] if arg not in ('--no-setuptools', '--no-wheel')]
subprocess.check_call([sys.executable, '-m', 'ensurepip', '--default-pip'], stdout=subprocess.DEVNULL)
subprocess.check_call([sys.executable, '-m', 'pip', 'install', *args])
