# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ping command lines and reading their output: ``ping -c COUNT -W TIMEOUT -n ADDRESS`` in a namespace
(under ``nsenter --net=/run/netns/NAME`` for a named one), and a batch of pings run by one ``sh`` inside a
container (without ``-n``, which busybox's ping does not know; an address needs no name lookup anyway)."""

from __future__ import annotations

import re


def ping_argv(count, timeout, target, numeric=True):
    """The ping command line: ``count`` pings, ``timeout`` seconds for each answer, no name lookups."""
    return ['ping', '-c', str(count), '-W', str(timeout)] + (['-n'] if numeric else []) + [target]


def ping_detail(returncode, output):
    """One line for the results: ping's statistics (and round-trip times), else its last words."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    stats = next((line for line in lines if 'packets transmitted' in line), None)
    if stats is not None:
        rtt = next((line for line in lines if line.startswith(('rtt ', 'round-trip '))), None)
        return stats + ('; ' + rtt if rtt else '')
    if lines:
        return lines[-1]
    return 'ping exited with status %d and said nothing' % returncode


# One exec per container runs all of its probes at once (an exec costs far more than a ping): each target's
# ping in a background subshell, which prints one line, "@@ POSITION STATUS OUTPUT", its output squashed onto
# that line (one write, so lines from parallel subshells never mix). Arguments: count, timeout, targets.
CONTAINER_BATCH = (
    'count=$1 timeout=$2; shift 2; position=0; '
    'for target in "$@"; do '
    '(out=$(ping -c "$count" -W "$timeout" "$target" 2>&1); status=$?; echo "@@ $position $status" $out) & '
    'position=$((position + 1)); '
    'done; wait'
)

PING_STATS = re.compile(r'\d+ packets transmitted, .*?% packet loss')
PING_RTT = re.compile(r'(?:rtt|round-trip) min/avg/max\S* = \S+ ms')


def parse_batch(output, count):
    """``count`` (status, detail) pairs from CONTAINER_BATCH's lines, None for a target it did not report."""
    found = [None] * count
    for line in output.splitlines():
        words = line.split(' ', 3)
        if len(words) >= 3 and words[0] == '@@' and words[1].isdigit() and words[2].isdigit() \
                and int(words[1]) < count:
            found[int(words[1])] = (int(words[2]), squashed_detail(int(words[2]), words[3] if len(words) > 3 else ''))
    return found


def squashed_detail(returncode, text):
    """ping_detail for ping's output squashed onto one line."""
    stats, rtt = PING_STATS.search(text), PING_RTT.search(text)
    if stats is not None:
        return stats.group(0) + ('; ' + rtt.group(0) if rtt else '')
    return text.strip()[-200:] or 'ping exited with status %d and said nothing' % returncode
