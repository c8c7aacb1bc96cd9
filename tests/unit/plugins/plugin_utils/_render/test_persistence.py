"""Persistent configuration (plugins/plugin_utils/_render/persistence.py) and its filters
(plugins/filter/persistence.py)."""

import copy
import shlex
from pathlib import Path

import pytest
import yaml

from ansible.errors import AnsibleFilterError
from ansible_collections.underlay.network.plugins.filter.persistence import FilterModule
from ansible_collections.underlay.network.plugins.plugin_utils._filters import FilterError
from ansible_collections.underlay.network.plugins.plugin_utils._fleet.plan import fleet_plan
from ansible_collections.underlay.network.plugins.plugin_utils._render.persistence import (
    HEADER,
    ifupdown_files,
    networkd_files,
)

APPS = {'name': 'apps', 'vlan_id': 10, 'subnet': '172.28.10.0/24', 'gateway': '172.28.10.1',
        'container_pool': '172.28.10.128/25'}
EDGE = {'name': 'edge', 'vlan_id': 30, 'subnet': '172.28.30.0/24', 'gateway': '172.28.30.1',
        'driver': 'ipvlan', 'mode': 'l2', 'container_pool': '172.28.30.128/25'}
LAN = {'name': 'lan', 'subnet': '192.168.50.0/24', 'gateway': '192.168.50.1',
       'container_pool': '192.168.50.128/26'}
D = '/etc/systemd/network/'


def plan(*segments, host='h1', hosts=('h1',)):
    description = {'trunk': 'eth0', 'segments': [copy.deepcopy(segment) for segment in segments]}
    return fleet_plan(description, list(hosts))[host]


def text(*lines):
    return '\n'.join((HEADER,) + lines) + '\n'


EXPECTED = {
    D + '10-eth0.network.d/50-underlay.conf': text('', '[Network]', 'VLAN=eth0.10', 'VLAN=eth0.30'),
    D + '20-underlay-eth0.10.netdev': text('', '[NetDev]', 'Name=eth0.10', 'Kind=vlan', '', '[VLAN]', 'Id=10'),
    D + '20-underlay-eth0.10.network': text('', '[Match]', 'Name=eth0.10', '', '[Network]',
                                            'Address=172.28.10.2/24', 'MACVLAN=shim10'),
    D + '20-underlay-eth0.30.netdev': text('', '[NetDev]', 'Name=eth0.30', 'Kind=vlan', '', '[VLAN]', 'Id=30'),
    D + '20-underlay-eth0.30.network': text('', '[Match]', 'Name=eth0.30', '', '[Network]',
                                            'Address=172.28.30.2/24', 'IPVLAN=shim30'),
    D + '30-underlay-shim10.netdev': text('', '[NetDev]', 'Name=shim10', 'Kind=macvlan', '', '[MACVLAN]',
                                          'Mode=bridge'),
    D + '30-underlay-shim10.network': text('', '[Match]', 'Name=shim10', '', '[Network]', 'Address=172.28.10.127/32',
                                           '', '[Route]', 'Destination=172.28.10.128/28', 'Scope=global'),
    D + '30-underlay-shim30.netdev': text('', '[NetDev]', 'Name=shim30', 'Kind=ipvlan', '', '[IPVLAN]', 'Mode=L2'),
    D + '30-underlay-shim30.network': text('', '[Match]', 'Name=shim30', '', '[Network]', 'Address=172.28.30.127/32',
                                           '', '[Route]', 'Destination=172.28.30.128/28', 'Scope=global'),
}


def link_file(name, marker):
    """The .link file that gives a link the marker of the role that applies it (udev's Alias=), with the
    settings of systemd's own 99-default.link, which ours replaces for that link."""
    return text('', '[Match]', 'OriginalName=' + name, '', '[Link]', 'Alias=' + marker,
                'NamePolicy=keep kernel database onboard slot path',
                'AlternativeNamesPolicy=database onboard slot path', 'MACAddressPolicy=persistent')


EXPECTED.update({
    D + '98-underlay-eth0.10.link': link_file('eth0.10', 'underlay.network/vlan_host'),
    D + '98-underlay-eth0.30.link': link_file('eth0.30', 'underlay.network/vlan_host'),
    D + '98-underlay-shim10.link': link_file('shim10', 'underlay.network/shim'),
    D + '98-underlay-shim30.link': link_file('shim30', 'underlay.network/shim'),
})


def test_a_multi_vlan_host_with_shims_gets_exactly_these_files_sorted_by_path():
    files = networkd_files(plan(APPS, EDGE), trunk_network='10-eth0.network')
    assert [entry['path'] for entry in files] == sorted(EXPECTED)
    assert {entry['path']: entry['content'] for entry in files} == EXPECTED


def test_rendering_is_deterministic_and_every_file_starts_with_the_header():
    host_plan = plan(APPS, EDGE)
    first = networkd_files(host_plan, trunk_network='10-eth0.network')
    assert networkd_files(copy.deepcopy(host_plan), trunk_network='10-eth0.network') == first
    assert all(entry['content'].startswith(HEADER + '\n') for entry in first)


def test_root_prefixes_every_path_and_a_trunk_network_path_is_reduced_to_its_name():
    files = networkd_files(plan(APPS, EDGE), root='/tmp/stage',
                           trunk_network='/run/systemd/network/10-eth0.network')
    assert [entry['path'] for entry in files] == ['/tmp/stage' + path for path in sorted(EXPECTED)]


def test_an_ipvlan_shim_takes_the_mode_and_flag_of_the_port_it_joins():
    existing = [{'kind': 'ipvlan', 'name': 'c1', 'parent': 'eth0.30', 'mode': 'l3', 'flag': 'private'}]
    files = {entry['path']: entry['content']
             for entry in networkd_files(plan(EDGE), trunk_network='10-eth0.network', existing=existing)}
    assert files[D + '30-underlay-shim30.netdev'] == text('', '[NetDev]', 'Name=shim30', 'Kind=ipvlan', '',
                                                          '[IPVLAN]', 'Mode=L3', 'Flags=private')


def test_an_untagged_segment_puts_its_shim_in_the_trunk_drop_in_and_routes_the_whole_subnet():
    files = {entry['path']: entry['content'] for entry in networkd_files(plan(LAN), trunk_network='10-eth0.network')}
    assert sorted(files) == [D + '10-eth0.network.d/50-underlay.conf', D + '30-underlay-shim-lan.netdev',
                             D + '30-underlay-shim-lan.network', D + '98-underlay-shim-lan.link']
    assert files[D + '10-eth0.network.d/50-underlay.conf'] == text('', '[Network]', 'MACVLAN=shim-lan')
    assert 'Destination=192.168.50.0/24' in files[D + '30-underlay-shim-lan.network']


def test_a_segment_without_shim_or_host_address_gets_a_bare_vlan():
    files = {entry['path']: entry['content']
             for entry in networkd_files(plan(dict(APPS, shim=False, host_address=False)),
                                         trunk_network='10-eth0.network')}
    assert sorted(files) == [D + '10-eth0.network.d/50-underlay.conf', D + '20-underlay-eth0.10.netdev',
                             D + '20-underlay-eth0.10.network', D + '98-underlay-eth0.10.link']
    assert files[D + '20-underlay-eth0.10.network'] == text('', '[Match]', 'Name=eth0.10', '', '[Network]')


def test_a_plan_with_nothing_renders_no_file_and_needs_no_trunk_network():
    assert networkd_files({'index': 0, 'trunk': 'eth0', 'segments': []}) == []


def test_the_trunk_is_never_taken_over_without_its_network_file_the_filter_refuses():
    with pytest.raises(FilterError) as err:
        networkd_files(plan(APPS))
    assert 'eth0.10, shim10' not in str(err.value)  # the shim sits on eth0.10, not on the trunk
    assert "puts eth0.10 on the trunk eth0, but no trunk_network" in str(err.value)
    assert 'networkctl status eth0' in str(err.value)


@pytest.mark.parametrize('bad', ['eth0', '.network', '', 7])
def test_a_trunk_network_that_is_no_network_file_is_refused(bad):
    with pytest.raises(FilterError, match='trunk_network must name the .network file'):
        networkd_files(plan(APPS), trunk_network=bad)


@pytest.mark.parametrize('bad', ['relative/dir', '', None])
def test_root_must_be_absolute(bad):
    with pytest.raises(FilterError, match='root must be an absolute directory'):
        networkd_files(plan(APPS), root=bad, trunk_network='10-eth0.network')


def test_the_filter_reports_errors_as_ansible_filter_errors():
    networkd = FilterModule().filters()['networkd_files']
    assert networkd(plan(APPS), trunk_network='10-eth0.network')
    with pytest.raises(AnsibleFilterError, match='no trunk_network'):
        networkd(plan(APPS))
    with pytest.raises(AnsibleFilterError, match="takes one host's plan"):
        networkd('not a plan')


IFUPDOWN = text(
    '# Sourced by /etc/network/interfaces (source /etc/network/interfaces.d/*).',
    '',
    'auto eth0.10',
    'iface eth0.10 inet static',
    '    address 172.28.10.2/24',
    '    up ip link set dev eth0.10 alias underlay.network/vlan_host',
    '',
    'auto eth0.30',
    'iface eth0.30 inet static',
    '    address 172.28.30.2/24',
    '    up ip link set dev eth0.30 alias underlay.network/vlan_host',
    '',
    'auto shim10',
    'iface shim10 inet static',
    '    pre-up ip link add link eth0.10 name shim10 type macvlan mode bridge',
    '    pre-up ip link set dev shim10 alias underlay.network/shim',
    '    address 172.28.10.127/32',
    '    up ip route add 172.28.10.128/28 dev shim10 proto static scope global',
    '    post-down ip link delete shim10',
    '',
    'auto shim30',
    'iface shim30 inet static',
    '    pre-up ip link add link eth0.30 name shim30 type ipvlan mode l2',
    '    pre-up ip link set dev shim30 alias underlay.network/shim',
    '    address 172.28.30.127/32',
    '    up ip route add 172.28.30.128/28 dev shim30 proto static scope global',
    '    post-down ip link delete shim30',
)


def test_ifupdown_a_multi_vlan_host_with_shims_gets_exactly_this_file():
    assert ifupdown_files(plan(APPS, EDGE), root='/stage') == [
        {'path': '/stage/etc/network/interfaces.d/underlay', 'content': IFUPDOWN}]
    assert ifupdown_files(plan(APPS, EDGE)) == [{'path': '/etc/network/interfaces.d/underlay', 'content': IFUPDOWN}]


def test_ifupdown_an_ipvlan_shim_takes_the_port_mode_a_bare_vlan_is_manual_and_untagged_shims_sit_on_the_trunk():
    existing = [{'kind': 'ipvlan', 'name': 'c1', 'parent': 'eth0.30', 'mode': 'l3', 'flag': 'private'}]
    content = ifupdown_files(plan(EDGE), existing=existing)[0]['content']
    assert '    pre-up ip link add link eth0.30 name shim30 type ipvlan mode l3 private\n' in content
    content = ifupdown_files(plan(dict(APPS, shim=False, host_address=False)))[0]['content']
    assert content.endswith('\nauto eth0.10\niface eth0.10 inet manual\n'
                            '    up ip link set dev eth0.10 alias underlay.network/vlan_host\n')
    content = ifupdown_files(plan(LAN))[0]['content']
    assert 'iface eth0 ' not in content  # the trunk's stanza is the host's
    assert '    pre-up ip link add link eth0 name shim-lan type macvlan mode bridge\n' in content
    assert '    up ip route add 192.168.50.0/24 dev shim-lan proto static scope global\n' in content


def test_ifupdown_a_plan_with_nothing_renders_no_file():
    assert ifupdown_files({'index': 0, 'trunk': 'eth0', 'segments': []}) == []


def test_the_ifupdown_filter_reports_errors_as_ansible_filter_errors():
    ifupdown = FilterModule().filters()['ifupdown_files']
    assert ifupdown(plan(APPS))[0]['content'].startswith(HEADER + '\n')
    with pytest.raises(AnsibleFilterError, match='root must be an absolute directory'):
        ifupdown(plan(APPS), root='stage')


# -- issue 13 item 11: what reaches a shell line (ifupdown) or a Key=value line (networkd) is checked and quoted --
HOSTILE_NAMES = ['x;reboot', 'a b', '$(reboot)', 'e`id`', "x'y", 'x\ny', '-rf', 'eth0|sh', '']


def hostile(host_plan, key, value):
    """``host_plan`` with ``key`` (a path like segments.0.shim.name) set to ``value``."""
    host_plan = copy.deepcopy(host_plan)
    *path, last = key.split('.')
    target = host_plan
    for part in path:
        target = target[int(part)] if isinstance(target, list) else target[part]
    target[int(last) if isinstance(target, list) else last] = value
    return host_plan


RENDERERS = [pytest.param(ifupdown_files, id='ifupdown'),
             pytest.param(lambda host_plan: networkd_files(host_plan, trunk_network='10-eth0.network'), id='networkd')]


@pytest.mark.parametrize('render', RENDERERS)
@pytest.mark.parametrize('name', HOSTILE_NAMES)
@pytest.mark.parametrize('key, where', [('segments.0.shim.name', "segments[0] (apps).shim.name"),
                                        ('segments.0.interface', "segments[0] (apps).interface"),
                                        ('trunk', 'trunk')])
def test_a_name_that_is_not_safe_in_a_shell_line_is_refused_naming_the_plan_key(render, name, key, where):
    with pytest.raises(FilterError) as err:
        render(hostile(plan(APPS), key, name))
    message = str(err.value)
    assert "the plan's %s %r is not an interface name" % (where, name) in message, message
    assert "letters, digits, '.', '_' and '-'" in message and 'underlay.network.fleet_plan' in message, message


@pytest.mark.parametrize('render', RENDERERS)
@pytest.mark.parametrize('key, value, where', [
    ('segments.0.host_address', '172.28.10.2/24; reboot', 'segments[0] (apps).host_address'),
    ('segments.0.shim.address', '$(reboot)', 'segments[0] (apps).shim.address'),
    ('segments.0.shim.address', '172.28.10.127', 'segments[0] (apps).shim.address'),
    ('segments.0.shim.routes.0', '172.28.10.128/28 via 1.2.3.4', 'segments[0] (apps).shim.routes[0]'),
])
def test_an_address_or_route_that_is_not_one_is_refused_naming_the_plan_key(render, key, value, where):
    with pytest.raises(FilterError) as err:
        render(hostile(plan(APPS), key, value))
    assert "the plan's %s %r is not an address with its prefix length" % (where, value) in str(err.value) \
        or "the plan's %s %r is not a network" % (where, value) in str(err.value), str(err.value)


@pytest.mark.parametrize('render', RENDERERS)
@pytest.mark.parametrize('key, value, message', [
    ('segments.0.vlan_id', '10;reboot', "the plan's segments[0] (apps).vlan_id '10;reboot' is not a VLAN id"),
    ('segments.0.vlan_id', 4095, "the plan's segments[0] (apps).vlan_id 4095 is not a VLAN id"),
    ('segments.0.vlan_id', True, "the plan's segments[0] (apps).vlan_id True is not a VLAN id"),
    ('segments.0.driver', 'macvlan;reboot', "the plan's segments[0] (apps).driver 'macvlan;reboot' is not"),
    ('segments.0.mode', 'l2 && reboot', "the plan's segments[0] (edge).mode 'l2 && reboot' is not"),
])
def test_a_vlan_id_driver_or_mode_that_is_not_one_is_refused(render, key, value, message):
    host_plan = plan(EDGE) if key == 'segments.0.mode' else plan(APPS)
    with pytest.raises(FilterError) as err:
        render(hostile(host_plan, key, value))
    assert message in str(err.value), str(err.value)


def test_an_ipvlan_port_mode_or_flag_from_existing_that_is_not_one_is_refused():
    for existing in ([{'kind': 'ipvlan', 'name': 'c1', 'parent': 'eth0.30', 'mode': 'l3;reboot'}],
                     [{'kind': 'ipvlan', 'name': 'c1', 'parent': 'eth0.30', 'mode': 'l3', 'flag': 'private;reboot'}]):
        with pytest.raises(FilterError, match=r"existing: the ipvlan port eth0\.30 .* is not"):
            ifupdown_files(plan(EDGE), existing=existing)


def test_the_filters_name_the_plan_key_in_an_ansible_filter_error():
    filters = FilterModule().filters()
    bad = hostile(plan(APPS), 'segments.0.shim.name', 'x;reboot')
    for render in (lambda: filters['ifupdown_files'](bad),
                   lambda: filters['networkd_files'](bad, trunk_network='10-eth0.network')):
        with pytest.raises(AnsibleFilterError, match=r"segments\[0\] \(apps\)\.shim\.name 'x;reboot'"):
            render()


def test_a_shell_line_quotes_every_value_and_splits_back_into_its_argv():
    from ansible_collections.underlay.network.plugins.plugin_utils._render.persistence import shell_command

    argv = ['ip', 'link', 'set', 'dev', 'shim10', 'alias', "an alias with spaces and 'quotes'; reboot"]
    line = shell_command(argv)
    assert line == "ip link set dev shim10 alias 'an alias with spaces and '\"'\"'quotes'\"'\"'; reboot'"
    assert shlex.split(line) == argv
    assert shell_command(['ip', 'link', 'delete', 'shim10']) == 'ip link delete shim10'  # nothing to quote


def test_every_command_line_of_an_ifupdown_file_splits_back_into_the_argv_the_links_module_would_apply():
    content = ifupdown_files(plan(APPS, EDGE))[0]['content']
    commands = [line.strip().split(' ', 1) for line in content.splitlines()
                if line.strip().split(' ', 1)[0] in ('pre-up', 'up', 'down', 'post-down')]
    argvs = [(keyword, shlex.split(command)) for keyword, command in commands]
    assert ('pre-up', ['ip', 'link', 'add', 'link', 'eth0.30', 'name', 'shim30', 'type', 'ipvlan', 'mode',
                       'l2']) in argvs
    assert ('up', ['ip', 'route', 'add', '172.28.10.128/28', 'dev', 'shim10', 'proto', 'static', 'scope',
                   'global']) in argvs
    assert ('post-down', ['ip', 'link', 'delete', 'shim10']) in argvs
    assert all(' '.join(shlex.quote(arg) for arg in argv) == command
               for (_keyword, argv), (_same, command) in zip(argvs, commands, strict=True))


# -- issue 13 item 4: the links come back at boot with the marker of the role that applies them ----------------
ROLES = Path(__file__).resolve().parents[5] / 'roles'


@pytest.mark.parametrize('role, which', [('vlan_host', 'vlans'), ('shim', 'shims')])
def test_the_persisted_marker_is_the_one_the_role_applies_its_links_with(role, which):
    from ansible_collections.underlay.network.plugins.plugin_utils._render.persistence import MARKERS

    tasks = yaml.safe_load((ROLES / role / 'tasks' / 'main.yml').read_text())
    owners = {task['underlay.network.links']['owner'] for task in tasks if 'underlay.network.links' in task}
    assert owners == {role}
    assert MARKERS[which] == 'underlay.network/' + role


def test_every_vlan_and_shim_gets_its_marker_in_the_file_that_makes_it():
    content = ifupdown_files(plan(APPS, EDGE))[0]['content']
    stanzas = {block.splitlines()[0]: block + '\n' for block in content.rstrip('\n').split('\n\n')[1:]}
    for name, marker in (('eth0.10', 'vlan_host'), ('eth0.30', 'vlan_host'), ('shim10', 'shim'), ('shim30', 'shim')):
        assert 'ip link set dev %s alias underlay.network/%s\n' % (name, marker) in stanzas['auto ' + name]
    shim = stanzas['auto shim10'].splitlines()
    # the marker right after the link is made, before anything else is configured on it
    assert shim.index('    pre-up ip link set dev shim10 alias underlay.network/shim') == \
        shim.index('    pre-up ip link add link eth0.10 name shim10 type macvlan mode bridge') + 1
    files = {entry['path'] for entry in networkd_files(plan(APPS, EDGE), trunk_network='10-eth0.network')}
    # sorted after the admin's own .link files (the first that matches a link wins), before systemd's 99-default
    assert {path for path in files if path.endswith('.link')} == {
        D + '98-underlay-%s.link' % name for name in ('eth0.10', 'eth0.30', 'shim10', 'shim30')}
