# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's one error family, and the one way a module fails with it.

Every error a module can meet is an ``UnderlayError``: a message that says what is wrong and how to fix it, and
``details`` that go into the failed result as they are (``actions``, ``applied``, ``would_remove``, ...). The
subclasses only tell where an error comes from, for the code that reacts to one kind (an in-place change that the
kernel refused is undone: ``NetlinkOperationError``); a module's ``main()`` catches ``UnderlayError`` and calls
``fail_from``.
"""

from __future__ import annotations


class UnderlayError(Exception):
    """Something this collection cannot do; ``details`` are keys of the failed module result."""

    def __init__(self, msg, **details):
        super().__init__(msg)
        self.details = details

    @property
    def changed(self):
        """Whether the host was changed before the failure; None when the error does not know (nothing reported)."""
        return None


class ValidationError(UnderlayError, ValueError):
    """A user input that cannot be used; the message names the parameter and says how to fix it. Nothing was
    changed. (A ValueError too: the planner's callers may treat it as one.)"""


class LinkError(UnderlayError):
    """A link cannot be brought to the desired state."""


class AggregateError(UnderlayError):
    """The kernel refused a step while the links module applied its plan: the call stops there.

    The host keeps every object converged before the failure; the object that failed is left as it
    was (a link being created is removed again, a batched deletion deletes all of its links or
    none). ``details`` say exactly what was applied, what failed and what was not attempted.
    Rolling back instead is not offered: undoing a deletion would make new links with new
    ifindexes and MAC addresses, which is a change of its own.
    """

    @property
    def changed(self):
        return bool(self.details['applied'])


class NetlinkOperationError(UnderlayError):
    """A netlink request the kernel refused; the message says what was asked, ``code`` is the errno (kept out of
    the module result)."""

    def __init__(self, msg, code=None):
        super().__init__(msg)
        self.code = code


class DeviceNodeError(NetlinkOperationError):
    """A device node (a macvtap's /dev/tapN) that cannot be made or set: a step of a link's change like the netlink
    ones, undone with them."""


class SysctlError(UnderlayError):
    """A sysctl that cannot be read or written; the message names the key."""


class NamespaceError(UnderlayError):
    """A namespace that cannot be created, deleted or entered; the message names it and says why."""


class NetnsError(UnderlayError):
    """A namespace cannot be brought to the desired state."""


class EngineError(UnderlayError):
    """The Docker engine refused or could not be reached; ``details`` say what was applied before."""


def fail_from(module, exc):
    """Fail the module with ``exc``: its message, its details, and whether the host was changed when it knows."""
    changed = {} if exc.changed is None else {'changed': exc.changed}
    module.fail_json(msg=str(exc), **dict(changed, **exc.details))
