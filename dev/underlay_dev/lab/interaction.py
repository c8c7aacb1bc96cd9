"""What labctl says on the terminal, and Ctrl-C / SIGTERM while it works."""

from __future__ import annotations

import os
import signal
import sys

from underlay_dev.box.config import Interrupted

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

_MAIN_PID = os.getpid()


def say(message, *args):
    print('labctl: ' + (message % args if args else message), flush=True)


def complain(message, *args):
    print('labctl: ' + (message % args if args else message), file=sys.stderr, flush=True)


def raise_interrupted(signum, frame):
    if os.getpid() != _MAIN_PID:
        # A forked helper: pyroute2 enters a namespace in a forked child, and stops it with SIGTERM.
        # The exception must not unwind our own code a second time in there.
        os._exit(128 + signum)
    raise Interrupted(signum)
