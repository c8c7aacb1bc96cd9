"""The expected_reachability filter: the default rule, overrides, and input checks (pure)."""

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.underlay.network.plugins.filter.expected_reachability import FilterModule

# The filter as Ansible calls it: its errors are AnsibleFilterError.
expected_reachability = FilterModule().filters()['expected_reachability']


def host(host, segment='apps', address=None, shim=False, **extra):
    return dict(name='%s/%s' % (host, segment), host=host, segment=segment, kind='host',
                address=address or '172.28.10.%d' % (int(host[-1]) + 1), shim=shim, **extra)


def container(host, name, address, segment='apps', **extra):
    return dict(dict(name='%s/%s' % (host, name), host=host, segment=segment, kind='container', address=address,
                     netns=name), **extra)


def matrix(endpoints, overrides=None):
    """{(from, to): expect} and the rows' order."""
    rows = expected_reachability(endpoints, overrides)
    return {(row['from'], row['to']): row['expect'] for row in rows}


def test_filter_is_registered_under_its_name():
    filters = FilterModule().filters()
    assert list(filters) == ['expected_reachability']
    assert filters['expected_reachability'].__wrapped__ is expected_reachability.__wrapped__


def test_every_ordered_pair_of_distinct_endpoints_once_in_input_order_with_the_target_address():
    endpoints = [host('h1'), container('h1', 'web1', '172.28.10.130'), host('h2')]
    rows = expected_reachability(endpoints)
    assert [(r['from'], r['to'], r['address']) for r in rows] == [
        ('h1/apps', 'h1/web1', '172.28.10.130'), ('h1/apps', 'h2/apps', '172.28.10.3'),
        ('h1/web1', 'h1/apps', '172.28.10.2'), ('h1/web1', 'h2/apps', '172.28.10.3'),
        ('h2/apps', 'h1/apps', '172.28.10.2'), ('h2/apps', 'h1/web1', '172.28.10.130'),
    ]
    assert all(set(r) == {'from', 'to', 'address', 'expect'} for r in rows)


def test_a_host_and_its_own_container_are_isolated_without_a_shim_both_ways():
    endpoints = [host('h1'), container('h1', 'web1', '172.28.10.130'), host('h2'),
                 container('h2', 'db1', '172.28.10.146')]
    assert matrix(endpoints) == {
        ('h1/apps', 'h1/web1'): 'isolated', ('h1/web1', 'h1/apps'): 'isolated',
        ('h2/apps', 'h2/db1'): 'isolated', ('h2/db1', 'h2/apps'): 'isolated',
        # Another host's containers, and containers of any host among themselves, are reached.
        ('h1/apps', 'h2/apps'): 'reach', ('h1/apps', 'h2/db1'): 'reach', ('h1/web1', 'h2/apps'): 'reach',
        ('h1/web1', 'h2/db1'): 'reach', ('h2/apps', 'h1/apps'): 'reach', ('h2/apps', 'h1/web1'): 'reach',
        ('h2/db1', 'h1/apps'): 'reach', ('h2/db1', 'h1/web1'): 'reach',
    }


def test_a_shim_lets_the_host_and_its_containers_reach_each_other():
    endpoints = [host('h1', shim=True), container('h1', 'web1', '172.28.10.130')]
    assert matrix(endpoints) == {('h1/apps', 'h1/web1'): 'reach', ('h1/web1', 'h1/apps'): 'reach'}


def test_two_containers_on_one_host_reach_each_other_and_two_host_endpoints_too():
    endpoints = [container('h1', 'a', '172.28.10.130'), container('h1', 'b', '172.28.10.131'),
                 host('h1'), dict(host('h1', segment='mgmt', address='172.28.20.2'), segment='apps',
                                  name='h1/second')]
    expected = matrix(endpoints)
    assert expected[('h1/a', 'h1/b')] == expected[('h1/b', 'h1/a')] == 'reach'
    assert expected[('h1/apps', 'h1/second')] == 'reach'  # host and host: the rule is about host-container only
    assert expected[('h1/a', 'h1/apps')] == expected[('h1/second', 'h1/b')] == 'isolated'


def test_a_host_is_on_all_its_segments_a_container_on_its_own_only():
    endpoints = [host('h1', 'apps', shim=True), container('h1', 'web1', '172.28.10.130'),
                 host('h1', 'db', address='172.28.20.2', shim=True),
                 container('h1', 'db1', '172.28.20.130', segment='db'),
                 host('h2', 'apps'), container('h2', 'db2', '172.28.20.140', segment='db'),
                 host('h3', 'web', address='172.28.30.4'), container('h3', 'web3', '172.28.30.130', segment='web')]
    expected = matrix(endpoints)
    # A container reaches nothing off its segment, its own host's other addresses included.
    assert expected[('h1/web1', 'h1/db1')] == expected[('h1/web1', 'h1/db')] == 'isolated'
    assert expected[('h2/db2', 'h2/apps')] == expected[('h1/web1', 'h2/db2')] == 'isolated'
    assert expected[('h1/web1', 'h2/apps')] == expected[('h2/db2', 'h1/db')] == 'reach'
    # The host's namespace has a leg on every segment it joins: any of its addresses reaches them all...
    assert expected[('h1/apps', 'h1/db')] == expected[('h1/db', 'h1/web1')] == 'reach'
    assert expected[('h1/apps', 'h2/db2')] == expected[('h1/db', 'h2/apps')] == 'reach'
    # ...and nothing on a segment it does not join; h2 joins only apps (no endpoint on db).
    assert expected[('h1/apps', 'h3/web')] == expected[('h1/db', 'h3/web3')] == 'isolated'
    assert expected[('h2/apps', 'h1/db1')] == expected[('h2/apps', 'h2/db2')] == 'isolated'
    assert expected[('h3/web', 'h1/apps')] == 'isolated'


def test_kind_defaults_to_host_and_shim_to_false():
    bare = {'name': 'h1/apps', 'host': 'h1', 'segment': 'apps', 'address': '172.28.10.2'}
    assert matrix([bare, container('h1', 'c', '172.28.10.130')]) == {
        ('h1/apps', 'h1/c'): 'isolated', ('h1/c', 'h1/apps'): 'isolated'}


def test_a_prefix_length_is_dropped_and_ipv6_is_fine():
    endpoints = [host('h1', address='172.28.10.2/24'), dict(host('h2'), address='2001:db8::3/64')]
    assert [r['address'] for r in expected_reachability(endpoints)] == ['2001:db8::3', '172.28.10.2']


def test_overrides_apply_in_order_last_match_wins_with_wildcards():
    endpoints = [host('h1'), container('h1', 'web1', '172.28.10.130'), host('h2'),
                 container('h2', 'db1', '172.28.10.146')]
    overrides = [
        {'from': '*/db1', 'to': '*', 'expect': 'isolated'},  # db1 reaches nothing ...
        {'from': 'h2/db1', 'to': 'h1/web1', 'expect': 'reach'},  # ... but web1
        {'from': 'h1/apps', 'to': 'h1/web?', 'expect': 'any'},
        {'from': 'h[2]/apps', 'to': 'h2/db1', 'expect': 'reach'},
    ]
    expected = matrix(endpoints, overrides)
    assert expected[('h2/db1', 'h1/apps')] == expected[('h2/db1', 'h2/apps')] == 'isolated'
    assert expected[('h2/db1', 'h1/web1')] == 'reach'
    assert expected[('h1/apps', 'h1/web1')] == 'any'
    assert expected[('h2/apps', 'h2/db1')] == 'reach'
    assert expected[('h1/web1', 'h1/apps')] == 'isolated'  # untouched by the overrides
    # The other order: the later wildcard wins over the single row.
    assert matrix(endpoints, [overrides[1], overrides[0]])[('h2/db1', 'h1/web1')] == 'isolated'


def test_patterns_are_case_sensitive():
    with pytest.raises(AnsibleFilterError, match=r'override 0 \(H1/apps -> \*\) matches no pair'):
        expected_reachability([host('h1'), host('h2')], [{'from': 'H1/apps', 'to': '*', 'expect': 'reach'}])


def test_no_endpoints_or_one_give_no_rows():
    assert expected_reachability([]) == []
    assert expected_reachability([host('h1')]) == []


@pytest.mark.parametrize('endpoints, message', [
    ([dict(host('h1'), netn='x')], r'endpoint 0 \(h1/apps\): unknown key netn; the keys are name, host, segment, '
                                   r'kind, address, netns, container, docker_host, shim'),
    ([dict(host('h1'), a=1, b=2)], 'unknown keys a, b'),
    ([{'host': 'h1', 'segment': 'apps', 'address': '172.28.10.2'}], r'endpoint 0: name is required'),
    ([host('h1'), {'name': 'x', 'host': 'h1', 'segment': 'apps'}], r'endpoint 1 \(x\): address is required'),
    ([{'name': 'x', 'segment': 'apps', 'address': '172.28.10.2'}], r'endpoint 0 \(x\): host is required'),
    ([{'name': 'x', 'host': 'h', 'address': '172.28.10.2'}], r'segment is required'),
    ([dict(host('h1'), name='')], 'endpoint 0: name is required'),
    ([dict(host('h1'), address=7)], r'address is required \(a non-empty string\), got 7'),
    ([host('h1'), dict(host('h2'), name='h1/apps')], 'endpoints 0 and 1 are both named h1/apps; names must be unique'),
    ([dict(host('h1'), address='172.28.10.300')], r"address '172.28.10.300' is not an IP address"),
    ([dict(host('h1'), kind='pod')], "kind 'pod' is not host, container or vm"),
    ([container('h1', 'c', '172.28.10.130', container='c')], 'netns and container are both set'),
    ([dict(host('h1'), docker_host='unix:///run/docker.sock')], 'docker_host goes with container only'),
    ([dict(container('h1', 'c', '172.28.10.130'), shim=True)], 'shim applies to kind host only'),
    ([dict(host('h1'), shim='yes')], "shim must be true or false, got 'yes'"),
    (['h1'], 'endpoint 0 is a str, not a dictionary'),
    ({'h1': host('h1')}, 'the input must be the list of endpoints, not a dict'),
])
def test_bad_endpoints_fail_naming_the_endpoint(endpoints, message):
    with pytest.raises(AnsibleFilterError, match=message):
        expected_reachability(endpoints)


@pytest.mark.parametrize('overrides, message', [
    ([{'from': 'h1/apps', 'to': 'h2/apps', 'expect': 'reached'}],
     r"override 0 \(h1/apps -> h2/apps\): expect 'reached' is not one of reach, isolated, any"),
    ([{'from': 'h1/apps', 'to': 'h2/apps'}], "expect 'None' is not one of"),
    ([{'from': 'h1/apps', 'expect': 'reach'}], 'override 0: to is required'),
    ([{'from': 'h1/apps', 'to': 'h2/apps', 'expect': 'reach', 'why': 'x'}],
     'override 0: unknown key why; the keys are from, to and expect'),
    ([{'from': 'h1/apps', 'to': 'h2/apps', 'expect': 'reach'}, {'from': 'h1/app', 'to': '*', 'expect': 'reach'},
      {'from': '*', 'to': 'h3/*', 'expect': 'any'}],
     r'override 1 \(h1/app -> \*\), override 2 \(\* -> h3/\*\) match no pair of endpoints; fix the names or '
     r'patterns \(the endpoints are h1/apps, h2/apps\)'),
    ([{'from': 'h1/apps', 'to': 'h1/apps', 'expect': 'reach'}], 'matches no pair'),  # never a pair with itself
    ({'from': 'h1/apps'}, 'overrides must be a list'),
    (['x'], 'override 0 is a str, not a dictionary'),
])
def test_bad_overrides_fail_naming_the_override(overrides, message):
    with pytest.raises(AnsibleFilterError, match=message):
        expected_reachability([host('h1'), host('h2')], overrides)
