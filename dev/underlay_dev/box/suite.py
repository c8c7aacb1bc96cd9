"""Run the full-kernel test suite (tests/kernel) in several kernel boxes at once.

A User-Mode Linux box runs on one CPU, so on a 2-core machine one box leaves
a core idle. This splits the test files into ``--boxes`` groups of about the
same run time, runs one kernel box (``kernel-box``) per group in parallel, and
prints each box's output when it is done. The exit status is the worst of the
boxes' (pytest's 5, "no tests collected", counts as success).

A file's run time is the one measured in an earlier suite run, from
tests/kernel/durations.json; a file not in it (a new one) is weighed by its
size, at the seconds per byte of the measured files. Every run measures the
files again (pytest's JUnit XML: each test's time with its fixtures), prints
the figures and writes them to .cache/box/durations.json; ``--record`` writes
them to tests/kernel/durations.json as well, to commit when the suite changed;
it takes no extra pytest arguments and writes only when every box passed.

    .venv/bin/kernel-suite --boxes 2 --timeout 1200 [--record] [-- extra pytest args, e.g. -x]

One test is quicker in a single box: make kernel PYTEST_ARGS='tests/kernel/FILE.py::TEST'.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

from underlay_dev.paths import ROOT, VENV_BIN

KERNEL_TESTS = ROOT / 'tests' / 'kernel'
DURATIONS = KERNEL_TESTS / 'durations.json'
MEASURED = ROOT / '.cache' / 'box' / 'durations.json'


def weights(files, durations):
    """Seconds per file: measured, or for a file not measured its size at the measured files' seconds per byte
    (1 per byte when nothing is measured)."""
    known = [f for f in files if f.name in durations]
    rate = statistics.median(durations[f.name] / max(1, f.stat().st_size) for f in known) if known else 1.0
    return {f: float(durations[f.name]) if f.name in durations else f.stat().st_size * rate for f in files}


def split(files, boxes, durations):
    """Greedy longest-first packing of the files into ``boxes`` groups of about equal run time."""
    weight = weights(files, durations)
    groups = [[] for _ in range(boxes)]
    loads = [0.0] * boxes
    for path in sorted(files, key=lambda f: (-weight[f], f.name)):
        emptiest = loads.index(min(loads))
        groups[emptiest].append(path)
        loads[emptiest] += weight[path]
    return [(group, load) for group, load in zip(groups, loads, strict=True) if group]


def measured_seconds(report):
    """Seconds per test file from a JUnit XML report (each test case's time includes its fixtures' set-up)."""
    seconds = {}
    for case in ET.parse(report).iter('testcase'):
        name = case.get('classname', '').split('.')
        module = next((part for part in name if part.startswith('test_')), None)
        if module:
            seconds[module + '.py'] = seconds.get(module + '.py', 0.0) + float(case.get('time') or 0)
    return seconds


def write_measured(measured, record, statuses):
    """Print the seconds per file and keep them in .cache; with ``record``, also in tests/kernel/durations.json,
    but only when every box passed (a failed box's seconds are not those of its whole group)."""
    if not measured:
        return
    print('kernel suite: seconds per file: %s' % ', '.join(
        '%s %.0f' % (name, seconds) for name, seconds in sorted(measured.items(), key=lambda item: -item[1])))
    text = json.dumps(dict(sorted((name, round(seconds)) for name, seconds in measured.items())), indent=1) + '\n'
    MEASURED.parent.mkdir(parents=True, exist_ok=True)
    MEASURED.write_text(text)
    if not record:
        return
    if all(status == 0 for status in statuses):
        DURATIONS.write_text(text)
        print('kernel suite: wrote %s' % DURATIONS.relative_to(ROOT))
    else:
        print('kernel suite: did not write %s: a box failed (exit %s)' % (
            DURATIONS.relative_to(ROOT), ', '.join(str(status) for status in statuses)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--boxes', type=int, default=2)
    parser.add_argument('--timeout', type=float, default=1200)
    parser.add_argument('--record', action='store_true', help='write the measured seconds to %s'
                                                              % DURATIONS.relative_to(ROOT))
    parser.add_argument('pytest_args', nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    extra = [a for a in args.pytest_args if a != '--']
    if args.record and extra:
        # Extra pytest arguments (-k, -x, one file) run part of the suite: its seconds are no record of the whole.
        parser.error('--record measures the whole suite: drop the extra pytest arguments (%s)' % ' '.join(extra))

    durations = json.loads(DURATIONS.read_text()) if DURATIONS.exists() else {}
    groups = split(sorted(KERNEL_TESTS.glob('test_*.py')), max(1, args.boxes), durations)

    runs = []
    for number, (group, load) in enumerate(groups, 1):
        log = ROOT / '.cache' / 'box' / ('suite-%d.log' % number)
        report = log.with_suffix('.xml')
        log.parent.mkdir(parents=True, exist_ok=True)
        report.unlink(missing_ok=True)
        # No pytest cache: the boxes share the checkout and would write it at the same time.
        command = [str(VENV_BIN / 'pytest'), '-p', 'no:cacheprovider', '--junitxml', str(report),
                   *[str(f.relative_to(ROOT)) for f in group], *extra]
        print('kernel suite: box %d runs %s (%s)' % (
            number, ' '.join(f.name for f in group),
            'about %.0f s as measured before' % load if durations else 'split by file size: nothing measured yet'),
            flush=True)
        handle = log.open('w')
        process = subprocess.Popen([str(VENV_BIN / 'kernel-box'), '--timeout', str(args.timeout), '--', *command],
                                   stdout=handle, stderr=subprocess.STDOUT, cwd=ROOT)
        runs.append((number, group, log, report, handle, process, time.monotonic()))

    # Each box's time is taken when it ends, whichever ends first.
    ended = {}
    while len(ended) < len(runs):
        for number, *_rest, process, _started in runs:
            if number not in ended and process.poll() is not None:
                ended[number] = time.monotonic()
        time.sleep(0.5)
    worst, statuses, measured = 0, [], {}
    for number, group, log, report, handle, process, started in runs:
        status = process.wait()
        handle.close()
        elapsed = ended[number] - started
        print('\n===== kernel box %d (%s): exit %d after %.0fs =====' % (
            number, ' '.join(f.name for f in group), status, elapsed), flush=True)
        sys.stdout.write(log.read_text(errors='replace'))
        log.unlink()
        if report.exists():
            measured.update(measured_seconds(report))
            report.unlink()
        if status not in (0, 5):
            worst = max(worst, status)
        statuses.append(status)
    write_measured(measured, args.record, statuses)
    return worst


if __name__ == '__main__':
    sys.exit(main())
