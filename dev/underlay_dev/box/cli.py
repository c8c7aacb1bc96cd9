"""The kernel box's command line (``.venv/bin/kernel-box``)."""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys

from underlay_dev.box.config import EXIT_BOX_FAILED, MODULES, SIGNALS, BoxError, Interrupted, on_signal
from underlay_dev.box.run import run
from underlay_dev.box.seccomp import PR_SET_CHILD_SUBREAPER, libc


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Run COMMAND inside User-Mode Linux (a full kernel with 8021q, ipvlan, dummy, veth, '
                    'macvlan, bridge), with the host file system visible, and exit with its status.',
        usage='%(prog)s [--timeout SECONDS] [--mem SIZE] [--module NAME] [--env NAME[=VALUE]] -- COMMAND [ARG...]')
    parser.add_argument('--timeout', type=float, default=600,
                        help='time limit in seconds, boot included (default 600); exit status 124 when hit')
    parser.add_argument('--mem', default='1G', help='memory of the box (default 1G)')
    parser.add_argument('--module', action='append', default=[], dest='modules',
                        help='load this kernel module too (repeatable); always loaded: ' + ' '.join(MODULES))
    parser.add_argument('--env', action='append', default=[],
                        help='pass NAME (from our environment) or NAME=VALUE into the box (repeatable)')
    parser.add_argument('command', nargs=argparse.REMAINDER, help='what to run inside, after --')
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ['--'] else args.command
    if not command:
        parser.error('no COMMAND given (put it after --)')
    if not re.fullmatch(r'\d+[KMG]?', args.mem):
        parser.error('--mem: a size such as 512M or 1G')
    # Helpers UML forks are reparented to us, not to PID 1, if UML dies first: we reap them.
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    for signum in SIGNALS:
        signal.signal(signum, on_signal)
    try:
        return run(command, args.timeout, args.mem, tuple(dict.fromkeys(MODULES + tuple(args.modules))), args.env)
    except Interrupted as exc:
        sys.stderr.write('\nkernel box: %s, the box was killed\n' % signal.Signals(exc.signum).name)
        return 128 + exc.signum
    except BoxError as exc:
        sys.stderr.write('kernel box: %s\n' % exc)
        return EXIT_BOX_FAILED
    except BrokenPipeError:
        # Whoever read our output has gone (`| head`): the box was killed, like a shell pipeline's writer.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE

if __name__ == '__main__':
    sys.exit(main())
