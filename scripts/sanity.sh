#!/usr/bin/env bash
# ansible-test sanity, without docker.
#
# ansible-test only runs from a directory .../ansible_collections/NAMESPACE/NAME,
# and it resolves symlinks (os.getcwd()), so a symlink to this checkout is not
# enough. Instead, build the collection exactly as it ships (galaxy.yml
# build_ignore applies) and unpack it into
# .cache/sanity/ansible_collections/underlay/network: sanity then checks what we
# ship, and dev-only files (lab/, scripts/) are left to ruff.
#
# --local uses this venv's Python as the controller; each sanity test still gets
# its own pinned virtualenv under ~/.ansible/test/venv (built from PyPI on the
# first run, reused afterwards). Extra arguments go to ansible-test, e.g.
# `scripts/sanity.sh --test validate-modules plugins/modules/macvlan_link.py`.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
py=$repo/.venv/bin/python

# Put our get-pip.py stand-in where ansible-test looks for a cached one
# (named after the pip version ansible-test pins).
pip_version=$(cd / && "$py" -c 'import types
from ansible_test._internal.python_requirements import get_venv_packages
print(get_venv_packages(types.SimpleNamespace(version="3.11"))["pip"])')
get_pip=$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py
if [[ ! -f $get_pip ]]; then
    mkdir -p "$(dirname "$get_pip")"
    cp scripts/get_pip_shim.py "$get_pip"
fi
copy=.cache/sanity/ansible_collections/underlay/network

rm -rf .cache/sanity
mkdir -p "$copy"
"$repo/.venv/bin/ansible-galaxy" collection build --force --output-path .cache/sanity . >/dev/null
tar -xzf .cache/sanity/underlay-network-*.tar.gz -C "$copy"

cd "$copy"
# ansible-test lists files with git, from the nearest .git upwards; without a
# repository of its own the copy would be looked up in ours, where .cache is
# ignored, and every target skipped.
git init --quiet .
exec "$repo/.venv/bin/ansible-test" sanity --local --python 3.11 --color no "$@"
