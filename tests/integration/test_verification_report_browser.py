"""What a real browser shows of the verification's HTML report (plugin_utils/_verification/html.py).

The report is rendered from models built here (a fleet of hosts, segments, containers and a gateway, with
mismatches, probes not run and pairs not probed planted in it), written to a file and opened in headless
Chromium (underlay_dev.testing.chromium: the DevTools protocol over a pipe). The assertions are on what the browser
computed: the background colour of every cell, the rows it lays out, the text it renders, the requests the page
made (none but its own file) and that no script ran.
tests/unit/plugins/plugin_utils/_verification/test_html.py checks the markup.

Chromium comes from scripts/bootstrap.sh; without it the tests are skipped, except under CI, where they fail.
"""

from __future__ import annotations

import random

from ansible_collections.underlay.network.plugins.plugin_utils._verification.html import render_html

# The colours the report's stylesheet gives the outcomes, as getComputedStyle reports them.
MISMATCH_RED = 'rgb(214, 40, 40)'
UNCHECKED_AMBER = 'rgb(244, 201, 93)'
REACHED_GREEN = 'rgb(168, 230, 163)'
ISOLATED_BLUE_GREY = 'rgb(201, 214, 227)'
ANY_NEUTRAL = 'rgb(238, 238, 238)'

HOSTS = ('h1', 'h2', 'h3')
SEGMENTS = (('apps', 10), ('db', 20), ('mgmt', None))


def expectation(source, target):
    if source == target:
        return 'reach'
    if (source, target) == ('db', 'apps'):
        return 'any'
    return 'isolated'


def fleet_endpoints():
    """Every host on every segment, a container per host on apps and a gateway; and the plan's rows."""
    endpoints, plan = [], []
    for index, host in enumerate(HOSTS, start=1):
        for segment, vlan in SEGMENTS:
            third = vlan or 30
            endpoints.append({'name': '%s/%s' % (host, segment), 'host': host, 'segment': segment, 'kind': 'host',
                              'address': '172.28.%d.%d' % (third, index + 1)})
            plan.append({'host': host, 'index': index, 'trunk': 'eth0', 'segment': segment, 'vlan_id': vlan,
                         'interface': 'eth0.%d' % vlan if vlan else 'eth0',
                         'host_address': '172.28.%d.%d/24' % (third, index + 1) if vlan else None,
                         'ip_range': '172.28.%d.%d/28' % (third, 112 + 16 * index),
                         'shim': '172.28.%d.%d/32' % (third, 125 - index) if vlan else None})
        endpoints.append({'name': '%s/web%d' % (host, index), 'host': host, 'segment': 'apps', 'kind': 'container',
                          'address': '172.28.10.%d' % (128 + index)})
    endpoints.append({'name': 'h1/gw-apps', 'host': 'h1', 'segment': 'apps', 'kind': 'gateway',
                      'address': '172.28.10.1'})
    return endpoints, plan


def probed_pairs(endpoints, mode, rng):
    """Every ordered pair (full), or 2 targets per endpoint and segment (sampled), each as it behaved."""
    pairs = [(s, t) for s in endpoints for t in endpoints if s is not t]
    if mode == 'sampled':
        chosen = []
        for source in endpoints:
            for segment, _vlan in SEGMENTS:
                targets = [t for t in endpoints if t is not source and t['segment'] == segment]
                chosen += [(source, t) for t in rng.sample(targets, min(2, len(targets)))]
        pairs = chosen
    probes = []
    for source, target in pairs:
        expect = expectation(source['segment'], target['segment'])
        probes.append({'from': source['name'], 'to': target['name'], 'address': target['address'],
                       'from_segment': source['segment'], 'to_segment': target['segment'], 'expect': expect,
                       'result': 'not reached' if expect == 'isolated' else 'reached', 'ok': True, 'detail': ''})
    return probes


def plant_problems(probes, rng, mismatches, not_run, not_probed):
    """``mismatches``, ``not_run`` and ``not_probed`` probes at random, in place."""
    planted = rng.sample(range(len(probes)), mismatches + not_run + not_probed)
    for n, position in enumerate(planted):
        entry = probes[position]
        entry['ok'] = False
        if n < mismatches:
            if entry['expect'] == 'any':
                entry['expect'] = 'reach'
            entry['result'] = 'reached' if entry['expect'] == 'isolated' else 'not reached'
            entry['detail'] = 'planted mismatch %d' % n
        elif n < mismatches + not_run:
            entry['result'], entry['detail'] = 'not run', 'host unreachable'
        else:
            entry['result'], entry['detail'] = 'not probed', 'no ping in the container'


def fleet_model(mode='full', seed=7, mismatches=5, not_run=3, not_probed=4):
    """A model as the verify role builds it: every ordered pair of endpoints probed (full), or 2 targets per
    endpoint and segment (sampled), with ``mismatches``, ``not_run`` and ``not_probed`` planted at random."""
    rng = random.Random(seed)
    endpoints, plan = fleet_endpoints()
    probes = probed_pairs(endpoints, mode, rng)
    plant_problems(probes, rng, mismatches, not_run, not_probed)
    return {
        'title': 'underlay.network reachability',
        'generated': '2026-12-03 09:30 UTC',
        'mode': mode, 'seed': 'abc123', 'sample': 2,
        'counts': dict(counts(probes), endpoints=len(endpoints), pairs=len(endpoints) * (len(endpoints) - 1)),
        'not_probed_note': '%d pairs were not probed: their containers have no ping.' % not_probed
                           if not_probed else '',
        'segments': [segment for segment, _vlan in SEGMENTS],
        'plan': plan,
        'blocks': [dict(counts([p for p in probes if (p['from_segment'], p['to_segment']) == (source, target)]),
                        from_segment=source, to_segment=target)
                   for source, _v in SEGMENTS for target, _w in SEGMENTS],
        'endpoints': endpoints,
        'probes': probes,
    }


def outcome(probe):
    if probe['result'] in ('not run', 'not probed'):
        return probe['result']
    return probe['expect'] if probe['ok'] else 'mismatch'


def counts(probes):
    outcomes = [outcome(probe) for probe in probes]
    return {'probed': len(outcomes) - outcomes.count('not run') - outcomes.count('not probed'),
            'reached_ok': outcomes.count('reach'), 'isolated_ok': outcomes.count('isolated'),
            'any': outcomes.count('any'), 'mismatches': outcomes.count('mismatch'),
            'not_run': outcomes.count('not run'), 'not_probed': outcomes.count('not probed')}


def host_segment_reds(model):
    host_of = {endpoint['name']: endpoint['host'] for endpoint in model['endpoints']}
    return len({(host_of[probe['from']], probe['to_segment']) for probe in model['probes']
                if outcome(probe) == 'mismatch'})


# What the browser shows, collected in one evaluation: the computed background of each kind of cell.
SHOWN = r'''(() => {
    const bg = el => getComputedStyle(el).backgroundColor;
    const visible = el => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0
                            && getComputedStyle(el).visibility === 'visible'; };
    const cells = sel => [...document.querySelectorAll(sel)].map(el => ({
        bg: bg(el), visible: visible(el), title: el.title, text: el.innerText.trim()}));
    const legend = {};
    for (const el of document.querySelectorAll('.legend [data-outcome]')) legend[el.dataset.outcome] = bg(el);
    return {
        pairs: cells('#matrix td.cell-pair'),
        grid: cells('#grid td.cell-host-segment'),
        planRows: document.querySelectorAll('#plan tbody tr').length,
        planVisible: [...document.querySelectorAll('#plan tbody tr')].every(visible),
        mismatchRows: [...document.querySelectorAll('#mismatches tbody tr')].map(tr => tr.innerText),
        blockRows: [...document.querySelectorAll('#blocks tbody tr')].map(tr => ({
            text: tr.innerText, bg: bg(tr), marked: tr.classList.contains('has-mismatch')})),
        legend: legend,
        text: document.body.innerText,
        scripts: document.scripts.length,
        pwned: window.__pwned === undefined ? null : window.__pwned,
        title: document.title,
    };
})()'''


def show(browser, tmp_path, model, name='report.html'):
    path = tmp_path / name
    path.write_text(render_html(model), encoding='utf-8')
    browser.navigate(path.as_uri())
    shown = browser.evaluate(SHOWN)
    assert browser.requests == [path.as_uri()], 'the page loaded more than itself: %s' % browser.requests
    return shown


def block_line(block):
    """A block's row as the browser renders its text (cells tab-separated)."""
    return '\t'.join(['%s → %s' % (block['from_segment'], block['to_segment'])] + [str(block[key]) for key in (
        'probed', 'reached_ok', 'isolated_ok', 'any', 'mismatches', 'not_run')])


def test_full_report_shows_each_outcome_in_its_colour(browser, tmp_path):
    model = fleet_model()
    shown = show(browser, tmp_path, model)
    assert len(model['endpoints']) == 13
    assert shown['title'] == model['title']
    assert shown['scripts'] == 0

    # the legend's swatches are the colours the cells use, five different ones
    assert shown['legend'] == {'mismatch': MISMATCH_RED, 'unchecked': UNCHECKED_AMBER, 'ok-reach': REACHED_GREEN,
                               'ok-isolated': ISOLATED_BLUE_GREY, 'ok-any': ANY_NEUTRAL}
    assert model['counts']['mismatches'] == 5
    check_pair_matrix(shown, model)
    check_grid_plan_and_summary(shown, model)


def check_pair_matrix(shown, model):
    """Every pair's cell in the colour of its outcome, the diagonal blank, each red cell naming its mismatch."""
    n = len(model['endpoints'])
    pairs = shown['pairs']
    assert len(pairs) == n * n
    assert all(cell['visible'] for cell in pairs)
    by_colour = {}
    for cell in pairs:
        by_colour.setdefault(cell['bg'], []).append(cell)
    c = model['counts']
    assert len(by_colour[MISMATCH_RED]) == c['mismatches']
    assert len(by_colour[UNCHECKED_AMBER]) == c['not_run'] + c['not_probed']
    assert len(by_colour[REACHED_GREEN]) == c['reached_ok']
    assert len(by_colour[ISOLATED_BLUE_GREY]) == c['isolated_ok']
    assert len(by_colour[ANY_NEUTRAL]) == c['any']
    # the rest: the diagonal, blank
    rest = [cell for colour, cells in by_colour.items() if colour not in (
        MISMATCH_RED, UNCHECKED_AMBER, REACHED_GREEN, ISOLATED_BLUE_GREY, ANY_NEUTRAL) for cell in cells]
    assert len(rest) == n and all(not cell['text'] and not cell['title'] for cell in rest)
    mismatches = [p for p in model['probes'] if outcome(p) == 'mismatch']
    planted = ['%s -> %s %s: %s, expected %s; %s' % (p['from'], p['to'], p['address'], p['result'], p['expect'],
                                                     p['detail']) for p in mismatches]
    assert sorted(cell['title'] for cell in by_colour[MISMATCH_RED]) == sorted(planted)


def check_grid_plan_and_summary(shown, model):
    """The grid (hosts x segments, red where a mismatch is), the plan's rows, every mismatch in full, and the
    summary lines, blocks with mismatches marked."""
    grid = shown['grid']
    assert len(grid) == len(HOSTS) * len(SEGMENTS)
    assert all(cell['visible'] for cell in grid)
    assert sum(cell['bg'] == MISMATCH_RED for cell in grid) == host_segment_reds(model) > 0
    assert sum(int(cell['text'].split('/')[1]) for cell in grid) == len(model['probes'])
    assert shown['planRows'] == len(HOSTS) * len(SEGMENTS) == len(model['plan'])
    assert shown['planVisible']
    c = model['counts']
    assert len(shown['mismatchRows']) == c['mismatches']
    for p in (p for p in model['probes'] if outcome(p) == 'mismatch'):
        assert any(row.split('\t') == [p['from'], p['to'], p['address'], p['expect'], p['result'], p['detail']]
                   for row in shown['mismatchRows'])
    text = shown['text']
    for line in ('underlay.network reachability', 'Generated: 2026-12-03 09:30 UTC', 'Mode: full',
                 '13 endpoints, 156 pairs in the matrix.', '%d mismatches' % c['mismatches'],
                 model['not_probed_note']):
        assert line in text
    assert [row['text'] for row in shown['blockRows']] == [block_line(block) for block in model['blocks']]
    for row, block in zip(shown['blockRows'], model['blocks'], strict=True):
        assert row['marked'] == bool(block['mismatches'])
        assert block_line(block) in text


def test_sampled_report_leaves_the_pair_matrix_out(browser, tmp_path):
    model = fleet_model(mode='sampled', seed=11, mismatches=2, not_run=1, not_probed=0)
    shown = show(browser, tmp_path, model)
    assert shown['pairs'] == []
    assert 'pair matrix is left out' in shown['text']
    assert 'Mode: sampled' in shown['text'] and 'seed abc123' in shown['text']
    assert model['not_probed_note'] == ''
    assert len(shown['grid']) == len(HOSTS) * len(SEGMENTS)
    assert sum(cell['bg'] == MISMATCH_RED for cell in shown['grid']) == host_segment_reds(model)
    assert sum(int(cell['text'].split('/')[1]) for cell in shown['grid']) == len(model['probes'])
    assert len(shown['mismatchRows']) == 2


def test_no_mismatches_no_red(browser, tmp_path):
    model = fleet_model(mismatches=0, not_run=0, not_probed=0)
    model['plan'] = []
    shown = show(browser, tmp_path, model)
    assert 'No mismatches.' in shown['text']
    assert shown['planRows'] == 0
    assert not any(cell['bg'] in (MISMATCH_RED, UNCHECKED_AMBER) for cell in shown['pairs'] + shown['grid'])
    assert not any(row['marked'] for row in shown['blockRows'])


def test_hostile_names_are_shown_not_run(browser, tmp_path):
    model = fleet_model(seed=3)
    evil = '<script>window.__pwned = 1</script>'
    trap = '<img src=x onerror="window.__pwned = 2">'
    renames = {model['endpoints'][0]['name']: evil, model['endpoints'][1]['name']: trap}
    for endpoint in model['endpoints']:
        endpoint['name'] = renames.get(endpoint['name'], endpoint['name'])
    for probe in model['probes']:
        probe['from'] = renames.get(probe['from'], probe['from'])
        probe['to'] = renames.get(probe['to'], probe['to'])
        probe['detail'] = probe['detail'] and probe['detail'] + ' "' + trap
    model['title'] = '</title><script>window.__pwned = 3</script>'
    shown = show(browser, tmp_path, model)
    assert shown['pwned'] is None and shown['scripts'] == 0
    assert shown['title'] == model['title']
    assert evil in shown['text'] and trap in shown['text']
    assert any(evil in cell['title'] for cell in shown['pairs'])
