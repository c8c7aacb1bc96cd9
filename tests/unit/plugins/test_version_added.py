"""Every plugin's version_added (and its options') names a version the collection has had or is about to
release: not above galaxy.yml's version. Fails when a page says "New in 0.2.0" in a 0.1.0 collection."""

import importlib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
GALAXY_VERSION = yaml.safe_load((ROOT / 'galaxy.yml').read_text())['version']


def version(text):
    return tuple(int(part) for part in str(text).split('.'))


def documentations():
    """(where, DOCUMENTATION) of every module, filter, connection plugin and doc fragment."""
    for path in sorted((ROOT / 'plugins' / 'filter').glob('*.yml')):
        yield path.name, yaml.safe_load(path.read_text())['DOCUMENTATION']
    for kind in ('modules', 'filter', 'connection'):
        for path in sorted((ROOT / 'plugins' / kind).glob('*.py')):
            module = importlib.import_module('ansible_collections.underlay.network.plugins.%s.%s' % (kind, path.stem))
            if getattr(module, 'DOCUMENTATION', None):
                yield '%s/%s' % (kind, path.name), yaml.safe_load(module.DOCUMENTATION)


def versions_added(doc, where):
    """(where, version_added) of ``doc`` and of every option in it, at any depth."""
    if 'version_added' in doc:
        yield where, doc['version_added']
    for name, option in (doc.get('options') or doc.get('suboptions') or {}).items():
        yield from versions_added(option, '%s.%s' % (where, name))


@pytest.mark.parametrize('where, doc', list(documentations()), ids=lambda value: value if isinstance(value, str)
                         else '')
def test_version_added_is_not_above_the_collections_version(where, doc):
    late = [(place, added) for place, added in versions_added(doc, where) if version(added) > version(GALAXY_VERSION)]
    assert late == [], 'galaxy.yml says %s' % GALAXY_VERSION


def test_every_plugin_says_when_it_was_added():
    assert all('version_added' in doc for _where, doc in documentations())
