# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The digest of a host's plan, for its convergence record (modules/convergence_record.py).

Two runs with one digest must converge a host alike, so the digest covers the plan, the caller's other inputs
and this collection's code: its plugins and roles (another version or a local edit may converge the same plan
differently, so it converges once more).
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

from ansible_collections.underlay.network.plugins.plugin_utils._filters import FilterError

COLLECTION = Path(__file__).resolve().parents[3]  # plugins/plugin_utils/_render/digest.py
CODE_SUFFIXES = ('.py', '.yml', '.yaml', '.j2')


@functools.lru_cache(maxsize=1)
def code_digest(root=COLLECTION):
    """SHA-256 over the collection's plugins and roles: each file's path and content, in path order."""
    digest = hashlib.sha256()
    for tree in ('plugins', 'roles'):
        for path in sorted((root / tree).rglob('*')):
            if path.suffix in CODE_SUFFIXES and path.is_file() and '__pycache__' not in path.parts:
                digest.update(str(path.relative_to(root)).encode() + b'\0' + path.read_bytes() + b'\0')
    return digest.hexdigest()


def plan_digest(plan, inputs=None):
    """SHA-256 of ``plan`` (one host's part of the fleet plan), ``inputs`` (anything else the converge depends
    on: variables, workloads) and the collection's code."""
    try:
        text = json.dumps({'code': code_digest(), 'plan': plan, 'inputs': inputs}, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise FilterError('plan_digest: the plan and inputs must be plain data (%s)' % exc) from None
    return hashlib.sha256(text.encode()).hexdigest()
