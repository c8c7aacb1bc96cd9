"""The self-contained HTML report of a reachability verification (plugin_utils/_verification/html.py).

The page is parsed back with the standard library's ``html.parser`` into a small tree, and the tests count
what is in it: cells per outcome class, table rows, escaped text. What a real browser shows of it is proven by
tests/integration/test_verification_report_browser.py.
"""

from __future__ import annotations

import copy
from html.parser import HTMLParser

import pytest

from ansible_collections.underlay.network.plugins.plugin_utils._verification.html import render_html

VOID = {'area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'source', 'track', 'wbr'}


class Node:
    def __init__(self, tag, attrs, parent=None):
        self.tag = tag
        self.attrs = dict(attrs)
        self.parent = parent
        self.children = []

    @property
    def classes(self):
        return set((self.attrs.get('class') or '').split())

    def text(self):
        return ''.join(child if isinstance(child, str) else child.text() for child in self.children)

    def iter(self):
        for child in self.children:
            if isinstance(child, Node):
                yield child
                yield from child.iter()

    def find_all(self, tag=None, cls=None):
        return [node for node in self.iter()
                if (tag is None or node.tag == tag) and (cls is None or cls in node.classes)]

    def by_id(self, ident):
        found = [node for node in self.iter() if node.attrs.get('id') == ident]
        assert len(found) <= 1, 'id %r given %d times' % (ident, len(found))
        return found[0] if found else None


class TreeBuilder(HTMLParser):
    """A forgiving tree: the report closes what it opens, which ``check_nesting`` verifies."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node('#document', [])
        self.current = self.root
        self.errors = []

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Node(tag, attrs, self.current))

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if self.current.tag != tag:
            self.errors.append('</%s> closes <%s>' % (tag, self.current.tag))
            node = self.current
            while node is not None and node.tag != tag:
                node = node.parent
            if node is None:
                return
            self.current = node
        self.current = self.current.parent

    def handle_data(self, data):
        self.current.children.append(data)


def parse(page):
    builder = TreeBuilder()
    builder.feed(page)
    builder.close()
    assert not builder.errors, builder.errors
    assert builder.current is builder.root, 'unclosed <%s>' % builder.current.tag
    return builder.root


def words(text):
    return ' '.join(text.split())


def rows(table):
    """The body rows of a table (those in <tbody>)."""
    return [row for body in table.find_all('tbody') for row in body.find_all('tr')]


# A small fleet: two hosts, two segments; h1 has an endpoint on each, h2 one on db and a container.
ENDPOINTS = [
    {'name': 'h1/apps', 'host': 'h1', 'segment': 'apps', 'kind': 'host', 'address': '172.28.10.2'},
    {'name': 'h1/db', 'host': 'h1', 'segment': 'db', 'kind': 'host', 'address': '172.28.20.2'},
    {'name': 'h2/db', 'host': 'h2', 'segment': 'db', 'kind': 'host', 'address': '172.28.20.3'},
    {'name': 'h2/web1', 'host': 'h2', 'segment': 'apps', 'kind': 'container', 'address': '172.28.10.130'},
]
ADDRESS = {endpoint['name']: endpoint['address'] for endpoint in ENDPOINTS}
SEGMENT = {endpoint['name']: endpoint['segment'] for endpoint in ENDPOINTS}


def probe(source, target, expect, result, ok, detail=''):
    return {'from': source, 'to': target, 'address': ADDRESS.get(target, '10.0.0.1'),
            'from_segment': SEGMENT.get(source, 'apps'), 'to_segment': SEGMENT.get(target, 'apps'),
            'expect': expect, 'result': result, 'ok': ok, 'detail': detail}


def all_probes():
    """Every ordered pair once: same segment reaches, apps -> db is isolated, db -> apps is 'any';
    then two mismatches, one not run and one not probed are planted."""
    probes = []
    for source in ENDPOINTS:
        for target in ENDPOINTS:
            if source is target:
                continue
            if source['segment'] == target['segment']:
                expect, result = 'reach', 'reached'
            elif source['segment'] == 'apps':
                expect, result = 'isolated', 'not reached'
            else:
                expect, result = 'any', 'reached'
            probes.append(probe(source['name'], target['name'], expect, result, True))
    plant = {
        ('h1/apps', 'h2/web1'): ('not reached', False, '3 of 3 pings lost'),           # mismatch
        ('h2/web1', 'h2/db'): ('reached', False, 'reached, but isolated expected'),   # mismatch
        ('h1/db', 'h2/db'): ('not run', False, 'h1 unreachable'),                     # unchecked
        ('h2/db', 'h1/db'): ('not probed', False, 'no ping in the container'),        # unchecked
    }
    for entry in probes:
        change = plant.get((entry['from'], entry['to']))
        if change:
            entry['result'], entry['ok'], entry['detail'] = change
    return probes


def counts_of(probes, endpoints):
    def outcome(entry):
        if entry['result'] in ('not run', 'not probed'):
            return entry['result']
        if not entry['ok']:
            return 'mismatch'
        return entry['expect']
    outcomes = [outcome(entry) for entry in probes]
    return {'endpoints': len(endpoints), 'pairs': len(endpoints) * (len(endpoints) - 1),
            'probed': sum(o not in ('not run', 'not probed') for o in outcomes),
            'reached_ok': outcomes.count('reach'), 'isolated_ok': outcomes.count('isolated'),
            'any': outcomes.count('any'), 'mismatches': outcomes.count('mismatch'),
            'not_run': outcomes.count('not run'), 'not_probed': outcomes.count('not probed')}


def plan():
    entries = []
    for index, host in enumerate(('h1', 'h2'), start=1):
        for segment, vlan in (('apps', 10), ('db', None)):
            entries.append({'host': host, 'index': index, 'trunk': 'eth0', 'segment': segment, 'vlan_id': vlan,
                            'interface': 'eth0.%d' % vlan if vlan else 'eth0',
                            'host_address': '172.28.%d.%d/24' % (vlan or 20, index + 1) if vlan else None,
                            'ip_range': '172.28.%d.%d/28' % (vlan or 20, 112 + 16 * index),
                            'shim': '172.28.%d.125/32' % (vlan or 20) if vlan else None})
    return entries


def blocks(probes):
    result = []
    for source in ('apps', 'db'):
        for target in ('apps', 'db'):
            these = [entry for entry in probes if entry['from_segment'] == source and entry['to_segment'] == target]
            counts = counts_of(these, [])
            result.append({'from_segment': source, 'to_segment': target, 'probed': counts['probed'],
                           'reached_ok': counts['reached_ok'], 'isolated_ok': counts['isolated_ok'],
                           'any': counts['any'], 'mismatches': counts['mismatches'], 'not_run': counts['not_run']})
    return result


def model(**changes):
    probes = all_probes()
    base = {
        'title': 'underlay.network reachability',
        'generated': '2026-12-03 09:30 UTC',
        'mode': 'full', 'seed': 'abc123', 'sample': 3,
        'counts': counts_of(probes, ENDPOINTS),
        'not_probed_note': '1 pair was not probed: the container h2/db has no ping.',
        'segments': ['apps', 'db'],
        'plan': plan(),
        'blocks': blocks(probes),
        'endpoints': copy.deepcopy(ENDPOINTS),
        'probes': probes,
    }
    base.update(changes)
    return base


@pytest.fixture
def page():
    return parse(render_html(model()))


def test_a_complete_document():
    text = render_html(model())
    assert isinstance(text, str)
    assert text.lstrip().lower().startswith('<!doctype html>')
    doc = parse(text)
    assert [node.tag for node in doc.find_all('html')] == ['html']
    assert doc.find_all('meta') and any(m.attrs.get('charset', '').lower() == 'utf-8' for m in doc.find_all('meta'))
    assert words(doc.find_all('title')[0].text()) == 'underlay.network reachability'


def test_self_contained_no_script_no_external_resources():
    text = render_html(model())
    doc = parse(text)
    assert not doc.find_all('script')
    assert not doc.find_all('link')
    assert not doc.find_all('img') and not doc.find_all('iframe')
    assert len(doc.find_all('style')) == 1
    assert not any('src' in node.attrs or 'href' in node.attrs for node in doc.iter())
    for needle in ('http://', 'https://', '@import', 'url(', '//fonts'):
        assert needle not in text.replace('https://www.gnu.org', '')


def test_sections_in_order(page):
    body = page.find_all('body')[0]
    order = [node.attrs['id'] for node in body.iter() if node.attrs.get('id') in
             ('summary', 'blocks', 'mismatches', 'plan', 'grid', 'matrix')]
    assert order == ['summary', 'blocks', 'mismatches', 'plan', 'grid', 'matrix']


def test_header_gives_the_run_and_its_counts_in_words(page):
    header = words(page.by_id('summary').text())
    assert 'underlay.network reachability' in header
    assert '2026-12-03 09:30 UTC' in header
    assert 'full' in header
    assert '4 endpoints' in header
    assert '12 pairs' in header
    assert '2 mismatches' in header
    assert '1 not run' in header
    assert '1 not probed' in header
    assert '1 pair was not probed: the container h2/db has no ping.' in header


def test_sampled_header_gives_seed_and_sample():
    header = words(parse(render_html(model(mode='sampled', seed='s33d', sample=5))).by_id('summary').text())
    assert 'sampled' in header
    assert 's33d' in header
    assert '5 probes per endpoint and segment' in header


def test_no_note_when_everything_was_probed():
    doc = parse(render_html(model(not_probed_note='')))
    assert not doc.find_all(cls='note')


def test_pair_matrix_one_cell_per_pair_one_red_per_mismatch(page):
    matrix = page.by_id('matrix')
    cells = matrix.find_all('td', 'cell-pair')
    assert len(cells) == 4 * 4
    by_class = {cls: len([c for c in cells if cls in c.classes])
                for cls in ('mismatch', 'unchecked', 'ok-reach', 'ok-isolated', 'ok-any', 'diagonal')}
    # apps -> apps: 2 pairs, one a mismatch; apps -> db: 4, one a mismatch; db -> apps: 4 'any';
    # db -> db: one not run, one not probed
    assert by_class == {'mismatch': 2, 'unchecked': 2, 'ok-reach': 1, 'ok-isolated': 3, 'ok-any': 4, 'diagonal': 4}
    # every cell one outcome class only
    for cell in cells:
        assert len(cell.classes & set(by_class)) == 1, cell.classes
    # no red cell elsewhere but in the grid at a glance
    assert len(page.find_all('td', 'mismatch')) == 2 + len(page.by_id('grid').find_all('td', 'mismatch'))


def test_pair_matrix_rows_from_columns_to_and_tooltips(page):
    matrix = page.by_id('matrix')
    body_rows = rows(matrix.find_all('table')[0])
    assert [words(row.find_all('th')[0].text()) for row in body_rows] == \
        ['%d %s' % (n, e['name']) for n, e in enumerate(ENDPOINTS, start=1)]
    names = [e['name'] for e in ENDPOINTS]
    for i, row in enumerate(body_rows):
        cells = row.find_all('td')
        assert len(cells) == len(names)
        assert 'diagonal' in cells[i].classes and not cells[i].attrs.get('title')
    red = body_rows[names.index('h1/apps')].find_all('td')[names.index('h2/web1')]
    assert 'mismatch' in red.classes
    assert red.attrs['title'].startswith('h1/apps -> h2/web1 172.28.10.130: not reached, expected reach')
    assert '3 of 3 pings lost' in red.attrs['title']


def test_pair_matrix_ignores_probes_to_unknown_endpoints():
    probes = all_probes() + [probe('h1/apps', 'ghost/apps', 'reach', 'not reached', False)]
    doc = parse(render_html(model(probes=probes)))
    assert len(doc.by_id('matrix').find_all('td', 'cell-pair')) == 16
    assert len(doc.by_id('matrix').find_all('td', 'mismatch')) == 2
    # but the mismatch list gives it all the same
    assert len(rows(doc.by_id('mismatches').find_all('table')[0])) == 3


@pytest.mark.parametrize('changes, reason', [
    ({'mode': 'sampled'}, 'sampled'),
    ({'endpoints': [{'name': 'e%d' % n, 'host': 'h%d' % (n % 9), 'segment': 'apps', 'kind': 'host',
                     'address': '10.0.%d.%d' % (n // 200, n % 200)} for n in range(81)]}, '80'),
])
def test_pair_matrix_left_out(changes, reason):
    doc = parse(render_html(model(**changes)))
    matrix = doc.by_id('matrix')
    assert not matrix.find_all('td', 'cell-pair')
    assert not matrix.find_all('table')
    assert 'left out' in words(matrix.text()) and reason in words(matrix.text())


def test_pair_matrix_for_80_endpoints():
    endpoints = [{'name': 'e%d' % n, 'host': 'h%d' % (n % 8), 'segment': 'apps', 'kind': 'host',
                  'address': '10.0.0.%d' % n} for n in range(80)]
    doc = parse(render_html(model(endpoints=endpoints, probes=[])))
    assert len(doc.by_id('matrix').find_all('td', 'cell-pair')) == 80 * 80


def test_host_segment_grid(page):
    grid = page.by_id('grid')
    cells = grid.find_all('td', 'cell-host-segment')
    assert len(cells) == 2 * 2
    body_rows = rows(grid.find_all('table')[0])
    assert [words(row.find_all('th')[0].text()) for row in body_rows] == ['h1', 'h2']
    heads = [words(th.text()) for th in grid.find_all('thead')[0].find_all('th')]
    assert heads[-2:] == ['apps', 'db']
    cell = {(host, segment): body_rows[i].find_all('td')[j]
            for i, host in enumerate(('h1', 'h2')) for j, segment in enumerate(('apps', 'db'))}
    # h1 -> apps: h1/apps -> h2/web1 is a mismatch; h2 -> db: h2/web1 -> h2/db is one
    assert 'mismatch' in cell['h1', 'apps'].classes
    assert 'mismatch' in cell['h2', 'db'].classes
    # h1 -> db: h1/db -> h2/db not run (the other probes are fine)
    assert 'unchecked' in cell['h1', 'db'].classes
    # h2 -> apps: h2/db -> h1/apps and h2/db -> h2/web1 any, h2/web1 -> h1/apps reach: all fine
    assert 'ok-reach' in cell['h2', 'apps'].classes
    # text: as expected / probes
    assert words(cell['h2', 'apps'].text()) == '3/3'
    assert words(cell['h1', 'apps'].text()) == '2/3'
    assert '1 mismatch' in cell['h1', 'apps'].attrs['title']
    assert cell['h1', 'apps'].attrs['title'].startswith('h1 -> apps')


def test_host_segment_grid_blue_grey_when_all_isolated():
    endpoints = ENDPOINTS[:1] + ENDPOINTS[2:3]   # h1/apps, h2/db
    probes = [probe('h1/apps', 'h2/db', 'isolated', 'not reached', True),
              probe('h2/db', 'h1/apps', 'any', 'reached', True)]
    doc = parse(render_html(model(endpoints=endpoints, probes=probes, counts=counts_of(probes, endpoints))))
    cells = doc.by_id('grid').find_all('td', 'cell-host-segment')
    assert [sorted(c.classes & {'ok-isolated', 'ok-any', 'empty'}) for c in cells] == \
        [['empty'], ['ok-isolated'], ['ok-any'], ['empty']]


def test_block_summary_one_row_per_block_mismatches_marked(page):
    table = page.by_id('blocks').find_all('table')[0]
    body_rows = rows(table)
    assert len(body_rows) == 4
    texts = [[words(cell.text()) for cell in row.find_all('td')] for row in body_rows]
    # from -> to, probed, reached as expected, isolated as expected, any, mismatches, not run
    assert texts[0] == ['apps → apps', '2', '1', '0', '0', '1', '0']
    assert texts[1] == ['apps → db', '4', '0', '3', '0', '1', '0']
    assert texts[2] == ['db → apps', '4', '0', '0', '4', '0', '0']
    assert texts[3] == ['db → db', '0', '0', '0', '0', '0', '1']
    marked = ['has-mismatch' in row.classes for row in body_rows]
    assert marked == [True, True, False, False]


def test_mismatches_in_full(page):
    section = page.by_id('mismatches')
    body_rows = rows(section.find_all('table')[0])
    texts = [[words(cell.text()) for cell in row.find_all('td')] for row in body_rows]
    assert texts == [
        ['h1/apps', 'h2/web1', '172.28.10.130', 'reach', 'not reached', '3 of 3 pings lost'],
        ['h2/web1', 'h2/db', '172.28.20.3', 'isolated', 'reached', 'reached, but isolated expected'],
    ]


def test_no_mismatches():
    probes = [entry for entry in all_probes() if entry['ok'] or entry['result'] in ('not run', 'not probed')]
    doc = parse(render_html(model(probes=probes, counts=counts_of(probes, ENDPOINTS))))
    section = doc.by_id('mismatches')
    assert not section.find_all('table')
    assert 'No mismatches.' in words(section.text())
    assert not doc.find_all('td', 'mismatch')


def test_plan_one_row_per_entry(page):
    table = page.by_id('plan').find_all('table')[0]
    body_rows = rows(table)
    assert len(body_rows) == 4
    heads = [words(th.text()) for th in table.find_all('thead')[0].find_all('th')]
    assert heads == ['host', 'index', 'segment', 'VLAN id', 'interface', 'host address', 'ip_range', 'shim']
    texts = [[words(cell.text()) for cell in row.find_all('td')] for row in body_rows]
    assert texts[0] == ['h1', '1', 'apps', '10', 'eth0.10', '172.28.10.2/24', '172.28.10.128/28', '172.28.10.125/32']
    assert texts[1] == ['h1', '1', 'db', 'untagged', 'eth0', '—', '172.28.20.128/28', '—']


def test_empty_plan():
    doc = parse(render_html(model(plan=[])))
    section = doc.by_id('plan')
    assert not section.find_all('table')
    assert 'No plan' in words(section.text())


def test_hostile_names_are_escaped():
    evil = '<script>alert("x")</script>'
    endpoints = copy.deepcopy(ENDPOINTS)
    endpoints[0]['name'] = evil
    endpoints[0]['host'] = '<b>h1</b>&'
    probes = all_probes()
    for entry in probes:
        for key in ('from', 'to'):
            if entry[key] == 'h1/apps':
                entry[key] = evil
        entry['detail'] = entry['detail'] and entry['detail'] + ' "quoted" <i>&amp;'
    entries = plan()
    entries[0]['host'] = '<img src=x onerror=alert(1)>'
    text = render_html(model(title='A & <B>', endpoints=endpoints, probes=probes, plan=entries,
                             segments=['apps', '<db>'], not_probed_note='<u>note</u>'))
    doc = parse(text)
    assert not doc.find_all('script') and not doc.find_all('img') and not doc.find_all('b')
    assert not doc.find_all('i') and not doc.find_all('u')
    assert words(doc.find_all('title')[0].text()) == 'A & <B>'
    assert evil in doc.text()
    assert '<img src=x onerror=alert(1)>' in doc.text()
    assert '"quoted" <i>&amp;' in doc.text()
    assert '<u>note</u>' in doc.text()
    titles = [node.attrs['title'] for node in doc.iter() if node.attrs.get('title')]
    assert any(evil in title for title in titles)
    assert any('"quoted"' in title for title in titles)


def test_size_linear_without_the_pair_matrix():
    def fleet(hosts):
        endpoints = [{'name': 'h%d/%s' % (h, s), 'host': 'h%d' % h, 'segment': s, 'kind': 'host',
                      'address': '10.%d.%d.1' % (h, i)} for h in range(hosts) for i, s in enumerate(('a', 'b'))]
        probes = [{'from': e['name'], 'to': endpoints[(n * 7 + k) % len(endpoints)]['name'], 'address': '10.0.0.1',
                   'from_segment': e['segment'], 'to_segment': 'a', 'expect': 'reach', 'result': 'reached',
                   'ok': True, 'detail': ''} for n, e in enumerate(endpoints) for k in range(3)]
        return len(render_html(model(mode='sampled', endpoints=endpoints, probes=probes, segments=['a', 'b'],
                                     plan=[])))
    small, large = fleet(200), fleet(400)
    assert large < 2.2 * small


def test_missing_counts_and_optional_values_do_not_break():
    minimal = {'title': 't', 'generated': 'g', 'mode': 'full', 'counts': {}, 'not_probed_note': '',
               'segments': [], 'plan': [], 'blocks': [], 'endpoints': [], 'probes': []}
    doc = parse(render_html(minimal))
    assert 'No mismatches.' in words(doc.by_id('mismatches').text())
