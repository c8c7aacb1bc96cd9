import os
import socket

import pytest

from ansible_collections.underlay.network.plugins.module_utils import netns
from ansible_collections.underlay.network.plugins.module_utils.netns_reconcile import STEP_ERRORS
from ansible_collections.underlay.network.plugins.module_utils.validation import (
    ValidationError,
    validate_netns_name,
)


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


@pytest.mark.parametrize('key, path', [
    ('net.ipv4.ip_forward', '/proc/sys/net/ipv4/ip_forward'),
    ('net.ipv6.conf.all.forwarding', '/proc/sys/net/ipv6/conf/all/forwarding'),
    ('net/ipv4/conf/eth0.10/rp_filter', '/proc/sys/net/ipv4/conf/eth0.10/rp_filter'),
])
def test_sysctl_path(key, path):
    assert netns.sysctl_path(key) == path


@pytest.mark.parametrize('value, expected', [
    (1, '1'),
    ('1', '1'),
    (True, '1'),
    (False, '0'),
    ('32768\t60999\n', '32768 60999'),
    ('  4096   87380  6291456 ', '4096 87380 6291456'),
])
def test_sysctl_values_compare_as_folded_strings(value, expected):
    assert netns.normalize_sysctl_value(value) == expected


def test_normalize_sysctls_keeps_order_and_folds_values():
    values = {'net.ipv4.ip_forward': 1, 'net.ipv4.ip_local_port_range': '20000   30000'}
    assert list(netns.normalize_sysctls(values).items()) == [
        ('net.ipv4.ip_forward', '1'), ('net.ipv4.ip_local_port_range', '20000 30000')]


@pytest.mark.parametrize('values, fragment', [
    ({'kernel.hostname': 'x'}, 'not set per network namespace'),
    ({'vm.swappiness': 10}, 'only net.* keys'),
    ({'net..ipv4': 1}, 'not a sysctl key'),
    ({'net.ipv4.': 1}, 'not a sysctl key'),
    ({'net/../kernel/hostname': 'x'}, 'not a sysctl key'),
    ({'': 1}, 'not a sysctl key'),
    ({'net.ipv4.ip_forward': None}, 'has no value'),
    ({'net.ipv4.ip_forward': 1, 'net/ipv4/ip_forward': 1}, 'same setting'),
    (['net.ipv4.ip_forward'], 'must be a dictionary'),
])
def test_bad_sysctls_name_the_parameter(values, fragment):
    with pytest.raises(ValidationError) as info:
        netns.normalize_sysctls(values)
    assert str(info.value).startswith('sysctls ')
    assert fragment in str(info.value)


@pytest.fixture
def fake_proc_sys(tmp_path, monkeypatch):
    """A directory standing in for /proc/sys, so that read/write logic runs without a kernel."""
    monkeypatch.setattr(netns, 'PROC_SYS', str(tmp_path))
    (tmp_path / 'net' / 'ipv4').mkdir(parents=True)
    (tmp_path / 'net' / 'ipv4' / 'ip_forward').write_text('0\n')
    (tmp_path / 'net' / 'ipv4' / 'ip_local_port_range').write_text('32768\t60999\n')
    return tmp_path


def test_read_sysctls_reports_missing_keys(fake_proc_sys):
    found = netns.read_sysctls(['net.ipv4.ip_forward', 'net.ipv4.ip_local_port_range', 'net.ipv4.nonexistent'])
    assert found == {'net.ipv4.ip_forward': ('0', True), 'net.ipv4.ip_local_port_range': ('32768 60999', True),
                     'net.ipv4.nonexistent': (None, False)}


def test_write_sysctls_restores_what_it_wrote_when_one_fails(fake_proc_sys):
    (fake_proc_sys / 'net' / 'ipv4' / 'broken').mkdir()  # writing a directory fails like a refused value
    with pytest.raises(netns.SysctlError, match='net.ipv4.broken.*restored net.ipv4.ip_forward'):
        netns.write_sysctls([('net.ipv4.ip_forward', '0', '1'), ('net.ipv4.broken', '0', '1')])
    assert (fake_proc_sys / 'net' / 'ipv4' / 'ip_forward').read_text() == '0\n'


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
    assert not isinstance(info.value, STEP_ERRORS)


@needs_root
def test_what_the_child_may_fail_with_are_step_errors():
    def refused():
        raise netns.SysctlError("writing sysctl net.ipv4.x = '1' failed: Invalid argument")
    with pytest.raises(netns.SysctlError, match="^in a new network namespace: writing sysctl net.ipv4.x") as info:
        netns.run_in_new_namespace(refused)
    assert isinstance(info.value, STEP_ERRORS)
    missing = 'ul-unit-missing-%d' % os.getpid()
    with pytest.raises(netns.NamespaceError, match="^entering netns '%s' failed: No such file" % missing) as info:
        netns.run_in_namespace(missing, os.getpid)
    assert isinstance(info.value, STEP_ERRORS)
    assert not os.path.exists('/run/netns/' + missing)


def test_only_the_collections_own_errors_are_step_errors():
    assert not issubclass(OSError, STEP_ERRORS) and not issubclass(RuntimeError, STEP_ERRORS)
