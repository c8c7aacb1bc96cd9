import pytest

from ansible_collections.underlay.network.plugins.module_utils._common.errors import ValidationError
from ansible_collections.underlay.network.plugins.module_utils._common.validation import (
    normalize_addresses,
    normalize_mac,
    normalize_route,
    normalize_routes,
    validate_ifname,
    validate_mtu,
)


@pytest.mark.parametrize('name', ['eth0', 'mynet-shim', 'enp129s0f1.4000', 'a' * 15])
def test_valid_ifnames(name):
    assert validate_ifname(name) == name


@pytest.mark.parametrize('name, fragment', [
    ('enp129s0f1.4000.10', 'at most 15 bytes'),
    ('a' * 16, 'is 16 bytes'),
    ('é' * 8, 'is 16 bytes'),
    ('eth/0', "'/'"),
    ('eth0:1', "':'"),
    ('eth 0', 'whitespace'),
    ('eth\t0', 'whitespace'),
    ('.', 'not a valid'),
    ('', 'non-empty'),
])
def test_invalid_ifnames_name_the_parameter(name, fragment):
    with pytest.raises(ValidationError) as err:
        validate_ifname(name, 'parent')
    assert fragment in str(err.value)
    assert str(err.value).startswith('parent')


@pytest.mark.parametrize('value, expected', [
    ('02:42:AC:1C:F8:0A', '02:42:ac:1c:f8:0a'),
    ('02-42-ac-1c-f8-0a', '02:42:ac:1c:f8:0a'),
])
def test_mac_normalized(value, expected):
    assert normalize_mac(value) == expected


@pytest.mark.parametrize('value, fragment', [
    ('02:42:ac:1c:f8', 'six hex pairs'),
    ('zz:42:ac:1c:f8:0a', 'six hex pairs'),
    ('01:00:5e:00:00:01', 'multicast'),
])
def test_bad_macs(value, fragment):
    with pytest.raises(ValidationError, match=fragment):
        normalize_mac(value)


def test_addresses_normalized_sorted_and_deduplicated():
    assert normalize_addresses(['2001:DB8::1/64', '172.28.248.10/20', '172.28.248.9/20', '172.28.248.10/20']) == [
        '172.28.248.9/20', '172.28.248.10/20', '2001:db8::1/64']


@pytest.mark.parametrize('value, fragment', [
    ('172.28.248.10', 'no prefix length'),
    ('172.28.248.300/20', 'not a valid'),
    ('172.28.248.10/33', 'not a valid'),
    ('nonsense/8', 'not a valid'),
])
def test_bad_addresses(value, fragment):
    with pytest.raises(ValidationError, match=fragment) as err:
        normalize_addresses([value])
    assert str(err.value).startswith('addresses')


def test_route_defaults_follow_the_kernel():
    assert normalize_route({'dest': '172.28.248.0/21'}) == {'dest': '172.28.248.0/21', 'gateway': None, 'metric': 0}
    assert normalize_route({'dest': 'default', 'gateway': '2001:db8::1'}) == {
        'dest': '::/0', 'gateway': '2001:db8::1', 'metric': 1024}
    assert normalize_route('default')['dest'] == '0.0.0.0/0'


@pytest.mark.parametrize('route, expected', [
    # The kernel stores a route via the unspecified address as one without a gateway (IPv6 refuses '::' as a
    # gateway, EINVAL): both mean on-link, so a second run finds the route it added (issue 13 item 10).
    ({'dest': '10.88.0.0/16', 'gateway': '0.0.0.0'}, {'dest': '10.88.0.0/16', 'gateway': None, 'metric': 0}),
    ({'dest': '2001:db8:88::/48', 'gateway': '::'}, {'dest': '2001:db8:88::/48', 'gateway': None, 'metric': 1024}),
    ({'dest': '2001:db8:88::/48', 'gateway': '0:0::0'}, {'dest': '2001:db8:88::/48', 'gateway': None, 'metric': 1024}),
    # And an IPv6 route of metric 0 with the kernel's 1024 (IPv4 keeps 0).
    ({'dest': '2001:db8:89::/48', 'metric': 0}, {'dest': '2001:db8:89::/48', 'gateway': None, 'metric': 1024}),
    ({'dest': '10.89.0.0/16', 'metric': 0}, {'dest': '10.89.0.0/16', 'gateway': None, 'metric': 0}),
    ({'dest': 'default', 'gateway': 'FE80::0001'}, {'dest': '::/0', 'gateway': 'fe80::1', 'metric': 1024}),
])
def test_routes_normalized_as_the_kernel_stores_them(route, expected):
    assert normalize_route(route) == expected


@pytest.mark.parametrize('route, fragment', [
    ({'dest': '172.28.248.1/21'}, 'not a network prefix'),
    ({'dest': '10.0.0.0/8', 'gateway': 'x'}, 'not an IP address'),
    ({'dest': '10.0.0.0/8', 'gateway': '2001:db8::1'}, 'same IP version'),
    ({'dest': '10.0.0.0/8', 'gateway': '::'}, 'gateway :: is not of the same IP version'),
    ({'gateway': '10.0.0.1'}, "needs a 'dest'"),
    ({'dest': '10.0.0.0/8', 'via': '10.0.0.1'}, 'unknown keys via'),
])
def test_bad_routes(route, fragment):
    with pytest.raises(ValidationError, match=fragment):
        normalize_route(route)


def test_routes_deduplicated():
    routes = normalize_routes([{'dest': '10.0.0.0/8'}, {'dest': '10.0.0.0/8', 'metric': 0}])
    assert routes == [{'dest': '10.0.0.0/8', 'gateway': None, 'metric': 0}]


def test_mtu_range():
    assert validate_mtu(None) is None
    assert validate_mtu(9000) == 9000
    with pytest.raises(ValidationError, match='mtu 67'):
        validate_mtu(67)
