"""AWX / automation controller readiness: the execution environment's definition and the collection as it ships.

* ``ansible-builder create`` turns execution-environment.yml into a build context (an image cannot be built
  here: no container engine, no registry), which proves the definition valid and shows what goes in.
* The collection is built with ``ansible-galaxy collection build`` (galaxy.yml's build_ignore keeps the
  development files out), installed from the tarball into a temporary path and listed from there with
  ``ansible-galaxy collection list`` and ``ansible-doc``, as an EE or an AWX project sync would see it.

The job itself, site.yml through ansible-runner with AWX's checks of its events, is in test_site_playbook.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import tarfile

import pytest
import yaml
from bindep.depends import Depends
from underlay_dev.testing.harness import ROOT, VENV_BIN

GALAXY = yaml.safe_load((ROOT / 'galaxy.yml').read_text())
FQCN = '%s.%s' % (GALAXY['namespace'], GALAXY['name'])


def run(*args, cwd=None, env=None):
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd, env=env, check=False,
                            timeout=300)
    assert result.returncode == 0, '%s failed:\n%s\n%s' % (' '.join(map(str, args)), result.stdout, result.stderr)
    return result.stdout


@pytest.fixture(scope='module')
def ee_context(tmp_path_factory):
    context = tmp_path_factory.mktemp('ee') / 'context'
    run(VENV_BIN / 'ansible-builder', 'create', '--file', ROOT / 'execution-environment.yml', '--context', context,
        '--output-filename', 'Containerfile')
    return context


def test_ansible_builder_creates_the_ee_build_context(ee_context):
    definition = yaml.safe_load((ROOT / 'execution-environment.yml').read_text())
    assert definition['version'] == 3
    containerfile = (ee_context / 'Containerfile').read_text()
    assert 'ARG EE_BASE_IMAGE="%s"' % definition['images']['base_image']['name'] in containerfile
    assert 'ansible-core>=2.19,<2.20' in containerfile and 'ansible-runner' in containerfile
    # The collection's own requirement files go in as they are, and the collection from its repository.
    build = ee_context / '_build'
    assert (build / 'requirements.txt').read_text() == (ROOT / 'requirements.txt').read_text()
    assert (build / 'bindep.txt').read_text() == (ROOT / 'bindep.txt').read_text()
    collections = yaml.safe_load((build / 'requirements.yml').read_text())['collections']
    assert [c['name'] for c in collections] == [GALAXY['repository'] + '.git']
    assert 'ansible-galaxy collection install' in containerfile and '--user-bindep=bindep.txt' in containerfile
    # community.docker comes from the `ansible` package of requirements.txt.
    assert any(line.startswith('ansible>=') for line in (build / 'requirements.txt').read_text().splitlines())


def test_bindep_names_the_packages_on_debian_and_on_rpm_systems():
    rules = Depends((ROOT / 'bindep.txt').read_text())
    assert [r[0] for r in rules.active_rules(['platform:dpkg'])] == [
        'iproute2', 'util-linux', 'iputils-ping', 'openssh-client']
    assert [r[0] for r in rules.active_rules(['platform:rpm'])] == [
        'iproute', 'util-linux', 'iputils', 'openssh-clients']


@pytest.fixture(scope='module')
def built(tmp_path_factory):
    """The collection tarball, and the collections path it was installed into."""
    out = tmp_path_factory.mktemp('build')
    run(VENV_BIN / 'ansible-galaxy', 'collection', 'build', '--force', '--output-path', out, ROOT)
    tarball = out / ('%s-%s-%s.tar.gz' % (GALAXY['namespace'], GALAXY['name'], GALAXY['version']))
    path = out / 'collections'
    run(VENV_BIN / 'ansible-galaxy', 'collection', 'install', '--force', '-p', path, tarball)
    return tarball, path


def test_the_tarball_leaves_the_development_files_out(built):
    tarball = built[0]
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
    for shipped in ('MANIFEST.json', 'FILES.json', 'README.md', 'meta/runtime.yml', 'requirements.txt', 'bindep.txt',
                    'playbooks/site.yml', 'playbooks/plan.yml', 'plugins/modules/links.py',
                    'plugins/module_utils/_links/spec.py', 'roles/verify/meta/argument_specs.yml',
                    'changelogs/changelog.yaml', 'docs/docsite/extra-docs.yml', 'docs/docsite/rst/guide_install.rst'):
        assert shipped in names
    left_out = ('dev', 'benchmarks', 'scripts', 'tests/output', '.venv', '.cache', '.git', 'docs/site',
                'molecule/default/.molecule')
    assert not [n for n in names if any(n == d or n.startswith(d + '/') for d in left_out)]
    assert not [n for n in names if '__pycache__' in n or n.endswith(('.pyc', '.tar.gz'))]
    for dev_file in ('Makefile', 'ansible.cfg', 'pyproject.toml', 'requirements-test.txt', 'execution-environment.yml'):
        assert dev_file not in names


def installed_env(path):
    # Only the installed copy: not this checkout (its ansible.cfg's collections_path; the commands run in a
    # temporary directory), not the collections of the ansible package.
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(path), ANSIBLE_COLLECTIONS_SCAN_SYS_PATH='False',
               PATH='%s:%s' % (VENV_BIN, os.environ.get('PATH', '')))
    env.pop('ANSIBLE_CONFIG', None)
    return env


def test_the_installed_collection_lists_its_modules_filters_and_roles(built, tmp_path):
    path = built[1]
    env = installed_env(path)
    listed = json.loads(run(VENV_BIN / 'ansible-galaxy', 'collection', 'list', '--format', 'json', '-p', path,
                            FQCN, cwd=tmp_path, env=env))
    assert listed == {str(path / 'ansible_collections'): {FQCN: {'version': GALAXY['version']}}}

    def doc_list(plugin_type):
        out = run(VENV_BIN / 'ansible-doc', '-t', plugin_type, '-l', '--json', FQCN, cwd=tmp_path, env=env)
        return {name.removeprefix(FQCN + '.') for name in json.loads(out)}

    plugins = ROOT / 'plugins'
    modules = {p.stem for p in (plugins / 'modules').glob('*.py')}
    filters = {p.stem for p in (plugins / 'filter').glob('*.yml')}
    filters |= {p.stem for p in (plugins / 'filter').glob('*.py') if 'DOCUMENTATION' in p.read_text()}
    roles = {p.parent.parent.name for p in (ROOT / 'roles').glob('*/meta/argument_specs.yml')}
    assert {'links', 'links_info', 'macvlan_link', 'ipvlan_link', 'vlan_iface', 'netns', 'docker_vlan_network',
            'reachability'} <= modules
    assert {'fleet_plan', 'host_links', 'docker_networks', 'plan_endpoints', 'expected_reachability'} <= filters
    assert {'vlan_host', 'shim', 'docker_underlay', 'netns_lab', 'verify'} <= roles
    assert doc_list('module') == modules
    assert doc_list('filter') == filters
    assert doc_list('role') == roles
    assert doc_list('connection') == {'netns'}
    # The docs of the installed copy render (what an EE's ansible-doc shows).
    for name in ('links', 'fleet_plan'):
        plugin_type = 'module' if name in modules else 'filter'
        out = run(VENV_BIN / 'ansible-doc', '-t', plugin_type, FQCN + '.' + name, cwd=tmp_path, env=env)
        assert 'EXAMPLES' in out and 'RETURN' in out.upper()
    # Every module of the installed copy has the options of the tree's (doc fragments included).
    tree_env = dict(env, ANSIBLE_COLLECTIONS_PATH=str(ROOT / '.cache' / 'collections'))
    names = sorted(FQCN + '.' + name for name in modules)
    installed = json.loads(run(VENV_BIN / 'ansible-doc', '-t', 'module', '--json', *names, cwd=tmp_path, env=env))
    tree = json.loads(run(VENV_BIN / 'ansible-doc', '-t', 'module', '--json', *names, cwd=tmp_path, env=tree_env))
    for name in names:
        assert option_names(installed[name]['doc']['options']) == option_names(tree[name]['doc']['options']), name


def option_names(options):
    """Every option's name, suboptions as PARENT.NAME."""
    names = []
    for name, option in (options or {}).items():
        names.append(name)
        names += ['%s.%s' % (name, sub) for sub in option_names(option.get('suboptions'))]
    return sorted(names)
