"""The box's console: streamed to our stdout between the markers PID 1 prints, boot noise held back and shown only
when the box fails."""

from __future__ import annotations

import os
import select
import time

from underlay_dev.box.config import DONE, READY


class Output:
    """The console stream: COMMAND's part (between READY and DONE) passed through as it comes.

    Everything else is held back, to be shown only when the box fails.
    """

    def __init__(self, out):
        self.out = out
        self.held = b''
        self.ready = False
        self.done = False
        self._pending = b''  # the end of a chunk that may be the start of DONE

    def feed(self, data):
        if self.done:
            self.held += data
        elif self.ready:
            self._command_output(data)
        else:
            self.held += data
            at = self.held.find(READY)
            end = self.held.find(b'\n', at) if at >= 0 else -1
            if end >= 0:
                self.ready = True
                rest, self.held = self.held[end + 1:], self.held[:at]
                self._command_output(rest)

    def _command_output(self, data):
        data = self._pending + data
        at = data.find(DONE)
        if at >= 0:
            self.done = True
            self.held += data[at:]
            data, self._pending = data[:at], b''
        else:
            keep = next((n for n in range(min(len(DONE) - 1, len(data)), 0, -1) if DONE.startswith(data[-n:])), 0)
            data, self._pending = data[:len(data) - keep], data[len(data) - keep:]
        if data:
            self.out.write(data)
            self.out.flush()

    def close(self):
        if self._pending:
            self.out.write(self._pending)
            self.out.flush()
            self._pending = b''


def pump_console(read_fd, proc, out, start, deadline):
    """Copy the console to our stdout until it closes, UML exits or the deadline passes: (timed out, seconds the
    box took to boot or None)."""
    booted = None
    with os.fdopen(read_fd, 'rb', buffering=0) as pipe:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                out.close()
                return True, booted
            ready, _, _ = select.select([pipe], [], [], min(left, 1.0))
            if ready:
                data = pipe.read(65536)
                if not data:
                    break  # every holder of the console pipe is gone
                out.feed(data)
                if booted is None and out.ready:
                    booted = time.monotonic() - start
            elif proc.poll() is not None:
                break
    out.close()
    return False, booted
