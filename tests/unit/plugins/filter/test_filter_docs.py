"""Each filter's documentation against its code: the documented options are the arguments its function takes
(positional ones first, in order; required ones without a default), and fleet_plan's documented keys and
choices are those the planner reads."""

import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest
import yaml

from ansible_collections.underlay.network.plugins import filter as filter_package
from ansible_collections.underlay.network.plugins.module_utils._common.vocabulary import SEGMENT_MODES
from ansible_collections.underlay.network.plugins.plugin_utils._fleet.segments import FLEET_KEYS, SEGMENT_KEYS
from ansible_collections.underlay.network.plugins.plugin_utils._verification.plan import MODES

FILTER_DIR = Path(list(filter_package.__path__)[0])


def all_filters():
    """{name: function} of every FilterModule in plugins/filter."""
    found = {}
    for info in pkgutil.iter_modules([str(FILTER_DIR)]):
        module = importlib.import_module('%s.%s' % (filter_package.__name__, info.name))
        found.update(module.FilterModule().filters())
    return found


FILTERS = all_filters()


def documentation(name):
    """A filter's DOCUMENTATION: the .yml of its name, else the DOCUMENTATION of the .py of its name."""
    path = FILTER_DIR / ('%s.yml' % name)
    if path.exists():
        return yaml.safe_load(path.read_text())['DOCUMENTATION']
    module = importlib.import_module('%s.%s' % (filter_package.__name__, name))
    return yaml.safe_load(module.DOCUMENTATION)


def test_the_collection_has_the_filters_it_documents():
    assert sorted(FILTERS) == sorted([path.stem for path in FILTER_DIR.glob('*.yml')] + ['expected_reachability'])


@pytest.mark.parametrize('name', sorted(FILTERS))
def test_documented_options_are_the_functions_arguments(name):
    doc = documentation(name)
    assert doc['name'] == name
    function = inspect.unwrap(FILTERS[name])
    params = list(inspect.signature(function).parameters.values())
    options = doc['options']
    assert list(options)[0] == '_input'
    assert sorted(options) == sorted(['_input'] + [param.name for param in params[1:]]), name
    positional = [text.strip() for text in str(doc.get('positional') or '').split(',') if text.strip()]
    assert positional == [param.name for param in params[1:1 + len(positional)]], name
    for param in params[1:]:
        assert bool(options[param.name].get('required')) == (param.default is inspect.Parameter.empty), param.name


def test_fleet_plans_documented_keys_and_choices_are_the_planners():
    segments = documentation('fleet_plan')['options']['_input']['suboptions']
    assert sorted(segments) == sorted(FLEET_KEYS)
    keys = segments['segments']['suboptions']
    assert sorted(keys) == sorted(SEGMENT_KEYS)
    assert keys['driver']['choices'] == list(SEGMENT_MODES)
    assert keys['driver']['default'] == list(SEGMENT_MODES)[0]
    assert keys['mode']['choices'] == [mode for modes in SEGMENT_MODES.values() for mode in modes]


def test_verification_plans_documented_modes_are_the_codes():
    assert documentation('verification_plan')['options']['mode']['choices'] == list(MODES)
