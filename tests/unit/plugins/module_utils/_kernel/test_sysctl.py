"""The per-namespace sysctls (plugins/module_utils/_kernel/sysctl.py): keys, values, reading and writing."""

import pytest

from ansible_collections.underlay.network.plugins.module_utils._common.errors import SysctlError, ValidationError
from ansible_collections.underlay.network.plugins.module_utils._kernel import sysctl


@pytest.mark.parametrize('key, path', [
    ('net.ipv4.ip_forward', '/proc/sys/net/ipv4/ip_forward'),
    ('net.ipv6.conf.all.forwarding', '/proc/sys/net/ipv6/conf/all/forwarding'),
    ('net/ipv4/conf/eth0.10/rp_filter', '/proc/sys/net/ipv4/conf/eth0.10/rp_filter'),
])
def test_sysctl_path(key, path):
    assert sysctl.sysctl_path(key) == path


@pytest.mark.parametrize('value, expected', [
    (1, '1'),
    ('1', '1'),
    (True, '1'),
    (False, '0'),
    ('32768\t60999\n', '32768 60999'),
    ('  4096   87380  6291456 ', '4096 87380 6291456'),
])
def test_sysctl_values_compare_as_folded_strings(value, expected):
    assert sysctl.normalize_sysctl_value(value) == expected


def test_normalize_sysctls_keeps_order_and_folds_values():
    values = {'net.ipv4.ip_forward': 1, 'net.ipv4.ip_local_port_range': '20000   30000'}
    assert list(sysctl.normalize_sysctls(values).items()) == [
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
        sysctl.normalize_sysctls(values)
    assert str(info.value).startswith('sysctls ')
    assert fragment in str(info.value)


@pytest.fixture
def fake_proc_sys(tmp_path, monkeypatch):
    """A directory standing in for /proc/sys, so that read/write logic runs without a kernel."""
    monkeypatch.setattr(sysctl, 'PROC_SYS', str(tmp_path))
    (tmp_path / 'net' / 'ipv4').mkdir(parents=True)
    (tmp_path / 'net' / 'ipv4' / 'ip_forward').write_text('0\n')
    (tmp_path / 'net' / 'ipv4' / 'ip_local_port_range').write_text('32768\t60999\n')
    return tmp_path


def test_read_sysctls_reports_missing_keys(fake_proc_sys):
    found = sysctl.read_sysctls(['net.ipv4.ip_forward', 'net.ipv4.ip_local_port_range', 'net.ipv4.nonexistent'])
    assert found == {'net.ipv4.ip_forward': ('0', True), 'net.ipv4.ip_local_port_range': ('32768 60999', True),
                     'net.ipv4.nonexistent': (None, False)}


def test_write_sysctls_restores_what_it_wrote_when_one_fails(fake_proc_sys):
    (fake_proc_sys / 'net' / 'ipv4' / 'broken').mkdir()  # writing a directory fails like a refused value
    with pytest.raises(SysctlError, match='net.ipv4.broken.*restored net.ipv4.ip_forward'):
        sysctl.write_sysctls([('net.ipv4.ip_forward', '0', '1'), ('net.ipv4.broken', '0', '1')])
    assert (fake_proc_sys / 'net' / 'ipv4' / 'ip_forward').read_text() == '0\n'
