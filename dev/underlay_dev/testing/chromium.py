"""A headless Chromium driven over the DevTools protocol on a pipe, for tests that must see what a browser shows.

``chromium --remote-debugging-pipe`` reads the protocol's commands on its fd 3 and writes responses and events
on its fd 4: JSON messages, each terminated by a NUL byte. No websocket, no port, no third-party library. Test
modules import it from the dev package::

    from underlay_dev.testing.chromium import Chromium, find_chromium

    with Chromium() as browser:
        browser.navigate(path.as_uri())
        assert browser.evaluate('document.title') == 'report'

Every read has a deadline (``timeout``); the browser runs in a process group of its own, which ``close``
kills whatever happened (also when starting or a command failed), and its profile is a temporary directory
removed afterwards. The page's requests are recorded (``requests``), so a test can prove a page loads nothing
from elsewhere.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

CANDIDATES = ('chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable')

# The protocol's fds in the browser are fixed (3: commands in, 4: messages out); subprocess keeps the fds given in
# pass_fds at their numbers, so a small Python moves them onto 3 and 4 and becomes the browser (no preexec_fn,
# which is unsafe with threads; no shell: dash cannot redirect fds above 9). The ends are first moved above 4, so
# that one of them being 3 or 4 already cannot clobber the other.
TRAMPOLINE = """import fcntl, os, sys
ends = [fcntl.fcntl(int(fd), fcntl.F_DUPFD, 5) for fd in sys.argv[1:3]]
for fd in sys.argv[1:3]:
    os.close(int(fd))
for target, fd in zip((3, 4), ends):
    os.dup2(fd, target)
    os.close(fd)
os.execv(sys.argv[3], sys.argv[3:])
"""


class ChromiumError(Exception):
    pass


def find_chromium():
    """The path of a Chromium (or Chrome) binary, or None."""
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


class Chromium:
    def __init__(self, binary=None, timeout=30.0, window=(1280, 2000)):
        self.binary = binary or find_chromium()
        self.timeout = timeout
        self.window = window
        self.process = None
        self.profile = None
        self.log = None
        self.session = None
        self.requests = []
        self._next_id = 0
        self._buffer = b''
        self._events = []
        self._to_browser = self._from_browser = None

    # -- life cycle ---------------------------------------------------------------------------------------------

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info):
        self.close()

    def start(self):
        if not self.binary:
            raise ChromiumError('no chromium binary found (looked for %s)' % ', '.join(CANDIDATES))
        self.profile = tempfile.mkdtemp(prefix='underlay-chromium-')
        self.log = open(os.path.join(self.profile, 'stderr.log'), 'w+b')  # closed in close()
        command_read, command_write = os.pipe()    # we write commands, the browser reads them on its fd 3
        message_read, message_write = os.pipe()    # the browser writes on its fd 4, we read
        argv = [self.binary, '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
                '--remote-debugging-pipe', '--user-data-dir=' + os.path.join(self.profile, 'profile'),
                '--no-first-run', '--no-default-browser-check', '--disable-extensions', '--disable-sync',
                '--disable-background-networking', '--disable-component-update', '--mute-audio',
                '--window-size=%d,%d' % self.window, 'about:blank']
        try:
            self.process = subprocess.Popen(
                [sys.executable, '-I', '-S', '-c', TRAMPOLINE, str(command_read), str(message_write)] + argv,
                pass_fds=(command_read, message_write), stdin=subprocess.DEVNULL, stdout=self.log,
                stderr=self.log, start_new_session=True)  # its own process group: close() kills it all
        finally:
            os.close(command_read)
            os.close(message_write)
        self._to_browser, self._from_browser = command_write, message_read
        version = self.send('Browser.getVersion')
        self.version = version.get('product', '')
        target = self.send('Target.createTarget', url='about:blank')
        attached = self.send('Target.attachToTarget', targetId=target['targetId'], flatten=True)
        self.session = attached['sessionId']
        self.send('Page.enable', session=True)
        self.send('Runtime.enable', session=True)
        self.send('Network.enable', session=True)

    def close(self):
        """Ask the browser to go, then kill its process group whatever it did; remove its profile."""
        if self.process is not None and self.process.poll() is None and self._to_browser is not None:
            try:
                self._write({'id': self._new_id(), 'method': 'Browser.close'})
                self.process.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                pass
        if self.process is not None:
            self._kill_group(self.process.pid)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        for fd in (self._to_browser, self._from_browser):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._to_browser = self._from_browser = None
        if self.log is not None:
            self.log.close()
            self.log = None
        if self.profile is not None:
            shutil.rmtree(self.profile, ignore_errors=True)
            self.profile = None

    @staticmethod
    def _kill_group(pgid, timeout=10.0):
        """SIGKILL the browser's process group (it outlives its leader: crashpad, zygotes) until it is empty."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                return
            if time.monotonic() > deadline:
                return  # only unreaped zombies can remain: SIGKILL cannot fail otherwise
            time.sleep(0.05)

    def stderr_tail(self, size=3000):
        if self.log is None:
            return ''
        self.log.flush()
        self.log.seek(0, os.SEEK_END)
        end = self.log.tell()
        self.log.seek(max(0, end - size))
        return self.log.read().decode('utf-8', 'replace')

    # -- the protocol -------------------------------------------------------------------------------------------

    def _new_id(self):
        self._next_id += 1
        return self._next_id

    def _write(self, message):
        data = json.dumps(message).encode() + b'\0'
        deadline = time.monotonic() + self.timeout
        while data:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([], [self._to_browser], [], remaining)[1]:
                raise ChromiumError('timed out writing to chromium')
            data = data[os.write(self._to_browser, data):]

    def _read_message(self, deadline):
        while b'\0' not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self._from_browser], [], [], remaining)[0]:
                raise ChromiumError('timed out after %.0f s waiting for chromium\n%s'
                                    % (self.timeout, self.stderr_tail()))
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise ChromiumError('chromium closed the pipe (exit status %s)\n%s'
                                    % (self.process.poll(), self.stderr_tail()))
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b'\0', 1)
        message = json.loads(raw)
        if message.get('method') == 'Network.requestWillBeSent':
            self.requests.append(message['params']['request']['url'])
        return message

    def send(self, method, session=False, **params):
        """Send one command (to the page's session if ``session``) and return its result; events that arrive
        meanwhile are kept for ``wait_event``."""
        ident = self._new_id()
        message = {'id': ident, 'method': method, 'params': params}
        if session:
            message['sessionId'] = self.session
        self._write(message)
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get('id') == ident:
                if 'error' in reply:
                    raise ChromiumError('%s failed: %s' % (method, reply['error']))
                return reply.get('result', {})
            if 'method' in reply:
                self._events.append(reply)

    def wait_event(self, method, predicate=None):
        """The first event ``method`` of the page's session (kept or coming), removed from those kept."""
        deadline = time.monotonic() + self.timeout
        while True:
            for event in self._events:
                if event['method'] == method and event.get('sessionId') == self.session \
                        and (predicate is None or predicate(event.get('params', {}))):
                    self._events.remove(event)
                    return event.get('params', {})
            self._events.append(self._read_message(deadline))

    # -- what tests use ------------------------------------------------------------------------------------------

    def navigate(self, url):
        """Load ``url`` in the page and wait for its load event. The requests it makes: ``requests``."""
        self._events.clear()
        self.requests = []
        result = self.send('Page.navigate', session=True, url=url)
        if result.get('errorText'):
            raise ChromiumError('navigating to %s failed: %s' % (url, result['errorText']))
        self.wait_event('Page.loadEventFired')
        return result

    def evaluate(self, expression):
        """The value of a JavaScript expression in the page (JSON-serialisable; promises are awaited)."""
        result = self.send('Runtime.evaluate', session=True, expression=expression, returnByValue=True,
                           awaitPromise=True)
        if 'exceptionDetails' in result:
            details = result['exceptionDetails']
            raise ChromiumError('evaluating %r raised: %s' % (
                expression, details.get('exception', {}).get('description') or details.get('text')))
        return result['result'].get('value')


@pytest.fixture(scope='module')
def browser():
    """A headless Chromium for the module's tests; skipped without chromium, except under CI, where it fails."""
    if not find_chromium():
        if os.environ.get('CI'):
            pytest.fail('chromium is missing under CI: scripts/bootstrap.sh installs it')
        pytest.skip('chromium is not installed (scripts/bootstrap.sh installs it); CI runs these tests')
    with Chromium() as chromium:
        yield chromium
