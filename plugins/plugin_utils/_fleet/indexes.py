# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host indexes: a host keeps the index it was given or the one its addresses show it has; a new host takes the
lowest free one. Nothing moves a host that is already on the network."""

from __future__ import annotations

from ansible_collections.underlay.network.plugins.plugin_utils._filters import FilterError


def observed_index(request, fleet):
    """The index a host is deployed at, from its observed addresses: (index, evidence) or (None, None).

    All segments count, not only those the host still joins: a link it still carries shows where it is.
    """
    found = {}
    for address in request.observed:
        for segment in fleet.segments:
            index = segment.index_of(address)
            if index is not None:
                found.setdefault(index, []).append('%s on %s' % (address, segment.name))
    if not found:
        return None, None
    if len(found) > 1:
        evidence = '; '.join('index %d: %s' % (index, ', '.join(found[index])) for index in sorted(found))
        raise FilterError("host '%s': its observed addresses belong to different indexes (%s); a host has one "
                          'index: remove the stray links, or set underlay_host_index to the index to keep '
                          'and remove the others' % (request.name, evidence))
    index = next(iter(found))
    return index, ', '.join(found[index])


def _describe_range(segment, index):
    if index >= segment.slices:
        return 'nothing (container_pool %s has %d slices)' % (segment.pool, segment.slices)
    return str(segment.ip_range(index))


def _check_not_moved(request, observed, evidence):
    if request.index is None or observed is None or request.index == observed:
        return
    changes = ', '.join('on segment %s from %s to %s' % (segment.name, _describe_range(segment, observed),
                                                         _describe_range(segment, request.index))
                        for segment in request.segments) or 'nothing (it joins no segment)'
    raise FilterError("host '%s' would move from index %d to %d: it is deployed at index %d (observed %s), "
                      'and its range would change %s; set underlay_host_index: %d to keep it where it is, or, '
                      'to move it on purpose, remove its underlay first (then nothing is observed)'
                      % (request.name, observed, request.index, observed, evidence, changes, observed))


def _explicit_indexes(requests):
    explicit = {}
    for request in requests:
        if request.index is None:
            continue
        if request.index in explicit:
            raise FilterError("hosts '%s' and '%s' both have underlay_host_index %d; give each host its own index"
                              % (explicit[request.index], request.name, request.index))
        explicit[request.index] = request.name
    return explicit


def _claim_observed(request, index, evidence, taken):
    """Fail unless a deployed host (no explicit index) can stay at its observed index."""
    if index not in taken:
        return
    holder, holder_evidence = taken[index]
    if holder_evidence is None:
        raise FilterError("host '%s' is deployed at index %d (observed %s), but host '%s' has "
                          "underlay_host_index %d; give '%s' another underlay_host_index, or remove the underlay "
                          "of '%s' first so that it can take another index"
                          % (request.name, index, evidence, holder, index, holder, request.name))
    raise FilterError("hosts '%s' and '%s' are both deployed at index %d (observed %s; and %s), so they share "
                      'addresses; remove the underlay of one of them, then plan again (it gets a free index)'
                      % (holder, request.name, index, holder_evidence, evidence))


def _check_new_hosts_can_be_placed(requests, indexes):
    """A new host's index must not be one an unread host is deployed at: fail rather than guess."""
    unread = [request for request in requests if request.unreadable and request.name not in indexes]
    new = [request.name for request in requests if not request.unreadable and request.name not in indexes]
    if not unread or not new:
        return
    raise FilterError(
        '%s %s a new index, but %s could not be read, so which indexes are deployed there is unknown and a new '
        'index could be taken already; run with every host of the group included (the Limit), or give each new '
        'host an index no other host has with underlay_host_index'
        % (_hosts_phrase(["'%s'" % name for name in new]), 'takes' if len(new) == 1 else 'take',
           _hosts_phrase(["'%s' (%s)" % (request.name, request.unreadable) for request in unread])))


def _hosts_phrase(described):
    return ('host ' if len(described) == 1 else 'hosts ') + ', '.join(described)


def assign_indexes(requests, fleet):
    """Host name -> index: explicit index, else the observed one, else the lowest free one by name order."""
    explicit = _explicit_indexes(requests)
    # index -> (host, observed evidence, or None for an explicit index)
    taken = {index: (name, None) for index, name in explicit.items()}
    indexes = {request.name: request.index for request in requests if request.index is not None}
    for request in requests:
        observed, evidence = observed_index(request, fleet)
        _check_not_moved(request, observed, evidence)
        if request.index is None and observed is not None:
            _claim_observed(request, observed, evidence, taken)
            taken[observed] = (request.name, evidence)
            indexes[request.name] = observed
    _check_new_hosts_can_be_placed(requests, indexes)
    free = 0
    for request in requests:  # sorted by name: the order does not depend on the input's order
        if request.name in indexes or request.unreadable:
            continue
        while free in taken:
            free += 1
        taken[free] = (request.name, None)
        indexes[request.name] = free
    return indexes
