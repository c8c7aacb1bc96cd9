# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every filter of the collection shares: its one error, and the one way it becomes Ansible's.

The controller-side code (the fleet plan, its renderings, the verification) raises ``FilterError`` with a
message that names the filter, the entry and the value, and says how to fix it; each ``plugins/filter`` file
wraps its functions with ``ansible_filter``.
"""

from __future__ import annotations

import functools

from ansible_collections.underlay.network.plugins.module_utils._common.errors import UnderlayError


class FilterError(UnderlayError, ValueError):
    """Input a filter cannot use (a fleet description, a plan, endpoints, results): the message says why and how
    to fix it."""


def ansible_filter(function):
    """``function`` as a filter: a FilterError becomes the filter's own AnsibleFilterError."""
    from ansible.errors import AnsibleFilterError  # controller side only: the filters, not the unit tests

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except FilterError as exc:
            # from None: the message is complete; chaining would repeat it in Ansible's output.
            raise AnsibleFilterError(str(exc)) from None

    return wrapper
