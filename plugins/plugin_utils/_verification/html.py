# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The reachability verification's report as one self-contained HTML page.

``render_html(model)`` turns the report model the verify role builds (a dict: the run's title, time, mode and
counts, the segments, the address plan, the per-block summary, the endpoints and every probe) into a page
that needs nothing else: an inline stylesheet, no script, no external CSS, fonts or images. Every value from the
model is escaped (``html.escape``), names included.

The page shows, in order: a header (title, time, mode, the counts in words, the note on what was not probed),
the block summary (one row per from-segment -> to-segment block), every mismatch in full, the address plan, the
host x segment grid and, for a full run of at most ``MATRIX_LIMIT`` endpoints, the endpoint x endpoint matrix.
Its size is linear in probes + plan + hosts x segments; only the optional matrix is quadratic, and bounded.

A probe's outcome (CSS class, colour):

* ``ok-reach``: reached as expected (green);
* ``ok-isolated``: isolated as expected (light blue-grey);
* ``ok-any``: any result allowed (neutral grey);
* ``unchecked``: could not check, the result is 'not run' or 'not probed' (amber), whatever ``ok`` says;
* ``mismatch``: any other probe that is not ok (red): those ``counts['mismatches']`` counts.
"""

from __future__ import annotations

import html

from ansible_collections.underlay.network.plugins.plugin_utils._verification.plan import plural

MATRIX_LIMIT = 80  # endpoints: above this, the pair matrix is left out
TOOLTIP_NAMES = 10  # pairs a grid cell's tooltip names, per kind of problem

# class, legend text, background colour; in the order a cell's worst outcome is chosen by (worst first).
OUTCOMES = (
    ('mismatch', 'mismatch: reached though isolated expected, or not reached though expected to', '#d62828'),
    ('unchecked', 'could not check: not run or not probed', '#f4c95d'),
    ('ok-reach', 'reached as expected', '#a8e6a3'),
    ('ok-isolated', 'isolated as expected', '#c9d6e3'),
    ('ok-any', 'any result allowed', '#eeeeee'),
)
RANK = {cls: rank for rank, (cls, _text, _colour) in enumerate(OUTCOMES)}
UNCHECKED_RESULTS = ('not run', 'not probed')
NONE = '\u2014'  # em dash, for a value the plan does not have

STYLE = '''
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.5em; color: #1d1d1f;
       background: #ffffff; line-height: 1.35; }
h1 { font-size: 1.5em; margin: 0 0 .3em; }
h2 { font-size: 1.15em; margin: 1.6em 0 .5em; border-bottom: 1px solid #ccc; padding-bottom: .2em; }
header p { margin: .2em 0; }
.verdict { font-weight: bold; }
.verdict.bad { color: #b00000; }
.verdict.good { color: #1f6f2a; }
.note { color: #6a4a00; }
table { border-collapse: collapse; margin: .3em 0; }
th, td { border: 1px solid #c8c8c8; padding: .2em .5em; text-align: left; vertical-align: top; }
thead th { background: #f3f3f3; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.has-mismatch td { background: #fde4e4; }
tr.has-mismatch td.mismatch-count { color: #b00000; font-weight: bold; }
.none { color: #888; }
.legend { list-style: none; padding: 0; margin: .3em 0 .8em; }
.legend li { display: inline-block; margin: 0 1.2em .3em 0; }
.swatch { display: inline-block; width: 1em; height: 1em; border: 1px solid #999; vertical-align: -.15em;
          margin-right: .35em; }
td.cell-host-segment { text-align: center; min-width: 4.5em; font-variant-numeric: tabular-nums; }
.matrix-wrap { overflow: auto; max-width: 100%; }
table.matrix { font-size: .75em; }
table.matrix td.cell-pair { width: 1.3em; height: 1.3em; padding: 0; text-align: center; }
table.matrix thead th { padding: .1em; text-align: center; font-weight: normal; }
table.matrix tbody th { white-space: nowrap; font-weight: normal; }
td.diagonal, td.no-probe, td.empty { background: #ffffff; }
td.empty { color: #888; }
'''.strip() + '\n' + '\n'.join('.%s { background-color: %s; }' % (cls, colour) for cls, _text, colour in OUTCOMES) \
    + '\n.mismatch { color: #ffffff; }\n'


def _e(value):
    """``value`` as escaped text (also for attributes); None as ''."""
    return '' if value is None else html.escape(str(value), quote=True)


def _outcome(probe):
    if probe.get('result') in UNCHECKED_RESULTS:
        return 'unchecked'
    if not probe.get('ok'):
        return 'mismatch'
    return {'reach': 'ok-reach', 'isolated': 'ok-isolated'}.get(probe.get('expect'), 'ok-any')


def _tooltip(probe):
    text = '%s -> %s %s: %s, expected %s' % (probe.get('from'), probe.get('to'), probe.get('address'),
                                             probe.get('result'), probe.get('expect'))
    if probe.get('detail'):
        text += '; %s' % probe['detail']
    return text


def _table(head, body_rows, cls=None):
    """A table: ``head`` the column titles, ``body_rows`` the rows' HTML (``<tr>...</tr>``), already escaped."""
    return '<table%s><thead><tr>%s</tr></thead><tbody>\n%s\n</tbody></table>' % (
        ' class="%s"' % cls if cls else '', ''.join('<th>%s</th>' % _e(title) for title in head),
        '\n'.join(body_rows))


def _header(model, counts):
    mode = model.get('mode')
    if mode == 'sampled':
        mode_text = 'Mode: sampled, seed %s, %s per endpoint and segment' % (
            model.get('seed'), plural(int(model.get('sample') or 0), 'probe'))
    else:
        mode_text = 'Mode: %s' % mode
    mismatches = counts.get('mismatches', 0)
    unchecked = counts.get('not_run', 0) + counts.get('not_probed', 0)
    if mismatches:
        verdict = '<p class="verdict bad">%s: see below.</p>' % _e(plural(mismatches, 'mismatch', 'mismatches'))
    elif unchecked:
        verdict = '<p class="verdict">No mismatches, but %s could not be checked.</p>' % _e(
            plural(unchecked, 'probe'))
    else:
        verdict = '<p class="verdict good">No mismatches: every probe as expected.</p>'
    sentence = '%s, %s in the matrix. %d probed: %d reached as expected, %d isolated as expected, ' \
               '%d with any result allowed, %s; %d not run, %d not probed.' % (
                   plural(counts.get('endpoints', 0), 'endpoint'), plural(counts.get('pairs', 0), 'pair'),
                   counts.get('probed', 0), counts.get('reached_ok', 0), counts.get('isolated_ok', 0),
                   counts.get('any', 0), plural(mismatches, 'mismatch', 'mismatches'), counts.get('not_run', 0),
                   counts.get('not_probed', 0))
    parts = ['<header id="summary">', '<h1>%s</h1>' % _e(model.get('title')),
             '<p>Generated: %s</p>' % _e(model.get('generated')), '<p>%s</p>' % _e(mode_text), verdict,
             '<p class="counts">%s</p>' % _e(sentence)]
    if model.get('not_probed_note'):
        parts.append('<p class="note">%s</p>' % _e(model['not_probed_note']))
    parts.append('</header>')
    return '\n'.join(parts)


def _blocks(model):
    blocks = model.get('blocks') or []
    parts = ['<section id="blocks">', '<h2>Blocks: from segment to segment</h2>']
    if not blocks:
        parts.append('<p>No blocks.</p>')
    else:
        rows = []
        for block in blocks:
            mismatches = block.get('mismatches', 0)
            cells = ['<td>%s</td>' % _e('%s \u2192 %s' % (block.get('from_segment'), block.get('to_segment')))]
            for key in ('probed', 'reached_ok', 'isolated_ok', 'any', 'mismatches', 'not_run'):
                cls = 'num mismatch-count' if key == 'mismatches' else 'num'
                cells.append('<td class="%s">%s</td>' % (cls, _e(block.get(key, 0))))
            rows.append('<tr%s>%s</tr>' % (' class="has-mismatch"' if mismatches else '', ''.join(cells)))
        parts.append(_table(['from \u2192 to', 'probed', 'reached as expected', 'isolated as expected',
                             'any result', 'mismatches', 'not run'], rows, 'blocks'))
    parts.append('</section>')
    return '\n'.join(parts)


def _mismatches(model):
    found = [probe for probe in model.get('probes') or [] if _outcome(probe) == 'mismatch']
    parts = ['<section id="mismatches">', '<h2>Mismatches</h2>']
    if not found:
        parts.append('<p>No mismatches.</p>')
    else:
        rows = ['<tr>%s</tr>' % ''.join('<td>%s</td>' % _e(probe.get(key)) for key in (
            'from', 'to', 'address', 'expect', 'result', 'detail')) for probe in found]
        parts.append(_table(['from', 'to', 'address', 'expected', 'result', 'detail'], rows, 'mismatch-list'))
    parts.append('</section>')
    return '\n'.join(parts)


def _value(value, missing=NONE):
    if value is None or value == '':
        return '<span class="none">%s</span>' % _e(missing)
    return _e(value)


def _plan(model):
    entries = model.get('plan') or []
    parts = ['<section id="plan">', '<h2>Address plan</h2>']
    if not entries:
        parts.append('<p>No plan entries.</p>')
    else:
        rows = []
        for entry in entries:
            trunk = entry.get('trunk')
            rows.append('<tr><td>%s</td><td class="num">%s</td><td>%s</td><td>%s</td><td%s>%s</td><td>%s</td>'
                        '<td>%s</td><td>%s</td></tr>' % (
                            _e(entry.get('host')), _e(entry.get('index')), _e(entry.get('segment')),
                            _value(entry.get('vlan_id'), 'untagged'),
                            ' title="on trunk %s"' % _e(trunk) if trunk else '', _value(entry.get('interface')),
                            _value(entry.get('host_address')), _value(entry.get('ip_range')),
                            _value(entry.get('shim'))))
        parts.append(_table(['host', 'index', 'segment', 'VLAN id', 'interface', 'host address', 'ip_range',
                             'shim'], rows, 'plan'))
    parts.append('</section>')
    return '\n'.join(parts)


def _legend():
    items = ''.join('<li><span class="swatch %s" data-outcome="%s"></span>%s</li>' % (cls, cls, _e(text))
                    for cls, text, _colour in OUTCOMES)
    return '<ul class="legend">%s</ul>' % items


def _names(probes, limit=TOOLTIP_NAMES):
    names = ['%s -> %s' % (probe.get('from'), probe.get('to')) for probe in probes[:limit]]
    if len(probes) > limit:
        names.append('and %d more' % (len(probes) - limit))
    return ', '.join(names)


def _grid_cell(host, segment, probes):
    if not probes:
        return '<td class="cell-host-segment empty" title="%s">\u2013</td>' % _e(
            '%s -> %s: no probes' % (host, segment))
    by_outcome = {cls: [] for cls in RANK}
    for probe in probes:
        by_outcome[_outcome(probe)].append(probe)
    if by_outcome['mismatch']:
        cls = 'mismatch'
    elif by_outcome['unchecked']:
        cls = 'unchecked'
    elif by_outcome['ok-reach']:
        cls = 'ok-reach'
    elif by_outcome['ok-isolated']:
        cls = 'ok-isolated'
    else:
        cls = 'ok-any'
    ok = sum(len(by_outcome[name]) for name in ('ok-reach', 'ok-isolated', 'ok-any'))
    title = '%s -> %s: %s as expected of %d (%d reached, %d isolated, %d any result); %s; %d could not be checked' \
        % (host, segment, ok, len(probes), len(by_outcome['ok-reach']), len(by_outcome['ok-isolated']),
           len(by_outcome['ok-any']), plural(len(by_outcome['mismatch']), 'mismatch', 'mismatches'),
           len(by_outcome['unchecked']))
    if by_outcome['mismatch']:
        title += '. Mismatches: %s' % _names(by_outcome['mismatch'])
    if by_outcome['unchecked']:
        title += '. Not checked: %s' % _names(by_outcome['unchecked'])
    return '<td class="cell-host-segment %s" title="%s">%d/%d</td>' % (cls, _e(title), ok, len(probes))


def _grid(model):
    endpoints = model.get('endpoints') or []
    segments = list(model.get('segments') or [])
    host_of = {}
    hosts = []
    for endpoint in endpoints:
        host_of.setdefault(endpoint.get('name'), endpoint.get('host'))
        if endpoint.get('host') is not None and endpoint.get('host') not in hosts:  # a gateway has none
            hosts.append(endpoint.get('host'))
    cells = {}
    for probe in model.get('probes') or []:
        if probe.get('from') in host_of:  # else from an endpoint the model does not list
            cells.setdefault((host_of[probe['from']], probe.get('to_segment')), []).append(probe)
    parts = ['<section id="grid">', '<h2>At a glance: hosts \u00d7 target segments</h2>',
             '<p>Each cell: the probes from the host&#39;s endpoints to targets on the segment, as expected of '
             'all (hover for details). Red: a mismatch there; amber: something could not be checked; green: all '
             'as expected, some reached; blue-grey: all as expected, isolated.</p>', _legend()]
    if not hosts or not segments:
        parts.append('<p>No endpoints or segments.</p>')
    else:
        rows = ['<tr><th>%s</th>%s</tr>' % (_e(host), ''.join(_grid_cell(host, segment, cells.get((host, segment)))
                                                              for segment in segments)) for host in hosts]
        parts.append(_table(['host'] + segments, rows, 'grid'))
    parts.append('</section>')
    return '\n'.join(parts)


def _matrix(model):
    endpoints = model.get('endpoints') or []
    parts = ['<section id="matrix">', '<h2>Every pair: from endpoint (rows) to endpoint (columns)</h2>']
    if model.get('mode') != 'full':
        parts.append('<p>The pair matrix is left out: this run was %s, not full, so most pairs were not probed; '
                     'the grid above and the mismatch list give every probe.</p>' % _e(model.get('mode')))
    elif len(endpoints) > MATRIX_LIMIT:
        parts.append('<p>The pair matrix is left out: %d endpoints are more than %d (it would have %d cells); '
                     'the grid above and the mismatch list give every probe.</p>'
                     % (len(endpoints), MATRIX_LIMIT, len(endpoints) * len(endpoints)))
    elif not endpoints:
        parts.append('<p>No endpoints.</p>')
    else:
        position = {}
        for number, endpoint in enumerate(endpoints):
            position.setdefault(endpoint.get('name'), number)
        by_pair = {}
        for probe in model.get('probes') or []:
            pair = (position.get(probe.get('from')), position.get(probe.get('to')))
            if None in pair or pair[0] == pair[1]:
                continue  # to or from an endpoint the model does not list
            by_pair.setdefault(pair, []).append(probe)
        head = ''.join('<th title="%s">%d</th>' % (_e(endpoint.get('name')), number)
                       for number, endpoint in enumerate(endpoints, start=1))
        rows = []
        symbols = {'mismatch': '\u2717', 'unchecked': '?'}
        for row, endpoint in enumerate(endpoints):
            cells = []
            for column, target in enumerate(endpoints):
                probes = by_pair.get((row, column))
                if row == column:
                    cells.append('<td class="cell-pair diagonal"></td>')
                elif not probes:
                    cells.append('<td class="cell-pair no-probe" title="%s"></td>' % _e(
                        '%s -> %s: not in this run' % (endpoint.get('name'), target.get('name'))))
                else:
                    cls = min((_outcome(probe) for probe in probes), key=RANK.get)
                    cells.append('<td class="cell-pair %s" title="%s">%s</td>' % (
                        cls, _e(' | '.join(_tooltip(probe) for probe in probes)), symbols.get(cls, '')))
            rows.append('<tr><th><span class="number">%d</span> %s</th>%s</tr>' % (
                row + 1, _e(endpoint.get('name')), ''.join(cells)))
        parts.append('<p>Rows: from; columns: to, numbered as the rows (hover a number for its name, a cell for '
                     'its probe). Colours as in the legend above; the diagonal is blank.</p>')
        parts.append('<div class="matrix-wrap"><table class="matrix"><thead><tr><th>from \\ to</th>%s</tr></thead>'
                     '<tbody>\n%s\n</tbody></table></div>' % (head, '\n'.join(rows)))
    parts.append('</section>')
    return '\n'.join(parts)


def render_html(model):
    """The report ``model`` (see the module's documentation and the verify role) as one self-contained page."""
    counts = model.get('counts') or {}
    return '\n'.join([
        '<!DOCTYPE html>',
        '<html lang="en">',
        '<head>',
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<title>%s</title>' % _e(model.get('title')),
        '<style>\n%s</style>' % STYLE,
        '</head>',
        '<body>',
        _header(model, counts),
        _blocks(model),
        _mismatches(model),
        _plan(model),
        _grid(model),
        _matrix(model),
        '</body>',
        '</html>',
        '',
    ])
