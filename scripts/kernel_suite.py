#!/usr/bin/env python3
"""Run the full-kernel test suite (tests/kernel) in several kernel boxes at once.

A User-Mode Linux box runs on one CPU, so on a 2-core machine one box leaves
a core idle. This splits the test files into ``--boxes`` groups of about the
same size (a file's size stands in for its run time: the tests are Ansible
plays, each costing seconds in the box), runs one ``scripts/kernel_box.py``
per group in parallel, and prints each box's output when it is done. The exit
status is the worst of the boxes' (pytest's 5, "no tests collected", counts
as success).

    scripts/kernel_suite.py --boxes 2 --timeout 1200 [-- extra pytest args, e.g. -x]

One test is quicker in a single box: make kernel PYTEST_ARGS='tests/kernel/FILE.py::TEST'.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KERNEL_TESTS = ROOT / 'tests' / 'kernel'


def split(files, boxes):
    """Greedy largest-first packing of the files into ``boxes`` groups of about equal size."""
    groups = [[] for _ in range(boxes)]
    loads = [0] * boxes
    for path in sorted(files, key=lambda f: (-f.stat().st_size, f.name)):
        emptiest = loads.index(min(loads))
        groups[emptiest].append(path)
        loads[emptiest] += path.stat().st_size
    return [group for group in groups if group]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--boxes', type=int, default=2)
    parser.add_argument('--timeout', type=float, default=1200)
    parser.add_argument('pytest_args', nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    extra = [a for a in args.pytest_args if a != '--']

    groups = split(sorted(KERNEL_TESTS.glob('test_*.py')), max(1, args.boxes))

    runs = []
    for number, group in enumerate(groups, 1):
        log = ROOT / '.cache' / 'box' / ('suite-%d.log' % number)
        log.parent.mkdir(parents=True, exist_ok=True)
        # No pytest cache: the boxes share the checkout and would write it at the same time.
        command = [str(ROOT / '.venv' / 'bin' / 'pytest'), '-p', 'no:cacheprovider',
                   *[str(f.relative_to(ROOT)) for f in group], *extra]
        print('kernel suite: box %d runs %s' % (number, ' '.join(f.name for f in group)), flush=True)
        handle = log.open('w')
        process = subprocess.Popen([sys.executable, str(ROOT / 'scripts' / 'kernel_box.py'),
                                    '--timeout', str(args.timeout), '--', *command],
                                   stdout=handle, stderr=subprocess.STDOUT, cwd=ROOT)
        runs.append((number, group, log, handle, process, time.monotonic()))

    worst = 0
    for number, group, log, handle, process, started in runs:
        status = process.wait()
        handle.close()
        elapsed = time.monotonic() - started
        print('\n===== kernel box %d (%s): exit %d after %.0fs =====' % (
            number, ' '.join(f.name for f in group), status, elapsed), flush=True)
        sys.stdout.write(log.read_text(errors='replace'))
        log.unlink()
        if status not in (0, 5):
            worst = max(worst, status)
    return worst


if __name__ == '__main__':
    sys.exit(main())
