"""Named network namespaces and running code inside one (plugins/module_utils/_kernel/netns.py)."""

import os
import socket

import pytest

from ansible_collections.underlay.network.plugins.module_utils._common.errors import (
    NamespaceError,
    SysctlError,
    UnderlayError,
    ValidationError,
)
from ansible_collections.underlay.network.plugins.module_utils._common.validation import validate_netns_name
from ansible_collections.underlay.network.plugins.module_utils._kernel import netns
from ansible_collections.underlay.network.plugins.module_utils._netns.reconcile import STEP_ERRORS


@pytest.mark.parametrize('name', ['net1', 'ult123-ab12-h1', 'router_1.lab', 'a' * 255])
def test_valid_netns_names(name):
    assert validate_netns_name(name) == name


@pytest.mark.parametrize('name, fragment', [
    ('', 'non-empty'),
    (None, 'non-empty'),
    ('a/b', "'/'"),
    ('/run/netns/x', "'/'"),
    ('.', 'not a valid'),
    ('..', 'not a valid'),
    ('a' * 256, 'longer than 255 bytes'),
    ('a' * 300, 'longer than 255 bytes'),
    # pyroute2 passes the name to its helper process as ASCII: anything else crashes there (issue 13 item 12).
    ('tëst', "'tëst' contains 'ë', which is not ASCII"),
    ('é' * 127, 'not ASCII'),
    ('netz-\N{SNOWMAN}', 'not ASCII'),
    ('has space', 'whitespace'),
    ('tab\there', 'whitespace'),
    ('new\nline', 'whitespace'),
    ('nul\0', 'NUL'),
])
def test_invalid_netns_names_name_the_parameter(name, fragment):
    with pytest.raises(ValidationError) as info:
        validate_netns_name(name, 'name')
    assert str(info.value).startswith('name ')
    assert fragment in str(info.value)


def test_netns_name_parameter_defaults_to_netns():
    with pytest.raises(ValidationError, match='^netns '):
        validate_netns_name('a/b')


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason='creating a network namespace needs root')


@needs_root
def test_run_in_new_namespace_is_fresh():
    # Only lo: the child is in a namespace of its own, not the caller's.
    assert netns.run_in_new_namespace(lambda: [name for _index, name in socket.if_nameindex()]) == ['lo']


@needs_root
def test_run_in_new_namespace_reports_errors_of_the_child():
    def boom():
        raise ValueError('nope')
    with pytest.raises(RuntimeError, match='ValueError: nope'):
        netns.run_in_new_namespace(boom)


# What a module may turn into a clean failure (issue 13 item 12): the collection's own errors, never a bug.
@needs_root
def test_a_bug_in_the_child_keeps_its_traceback_and_is_no_step_error():
    def boom():
        raise ValueError('nope')
    with pytest.raises(RuntimeError, match='(?s)Traceback.*ValueError: nope') as info:
        netns.run_in_new_namespace(boom)
    assert not isinstance(info.value, (UnderlayError,) + STEP_ERRORS)


@needs_root
def test_what_the_child_may_fail_with_are_step_errors():
    def refused():
        raise SysctlError("writing sysctl net.ipv4.x = '1' failed: Invalid argument")
    with pytest.raises(SysctlError, match="^in a new network namespace: writing sysctl net.ipv4.x") as info:
        netns.run_in_new_namespace(refused)
    assert isinstance(info.value, STEP_ERRORS)
    missing = 'ul-unit-missing-%d' % os.getpid()
    with pytest.raises(NamespaceError, match="^entering netns '%s' failed: No such file" % missing) as info:
        netns.run_in_namespace(missing, os.getpid)
    assert isinstance(info.value, STEP_ERRORS)
    assert not os.path.exists('/run/netns/' + missing)


def test_only_the_collections_own_errors_are_step_errors():
    assert not issubclass(OSError, STEP_ERRORS) and not issubclass(RuntimeError, STEP_ERRORS)
    # What a module turns into a clean failure (fail_from): a bug is none of it.
    assert all(issubclass(error, UnderlayError) for error in STEP_ERRORS)
    assert not issubclass(OSError, UnderlayError) and not issubclass(RuntimeError, UnderlayError)
