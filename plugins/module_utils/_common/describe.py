# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How messages and results name things: a namespace, a link, a route. One wording everywhere."""

from __future__ import annotations

# How a namespace without a name is reported (unnamed_namespaces), in place of a name.
UNNAMED_LABEL = 'the network namespace of process '


def describe_netns(name):
    """A namespace in messages: None is the task's own, a label of unnamed_namespaces stands for itself."""
    if not name:
        return "the task's network namespace"
    return name if name.startswith(UNNAMED_LABEL) else "netns '%s'" % name


def describe_link(link):
    return '%s (in %s)' % (link['name'], describe_netns(link['netns']) if link['netns'] else "the task's namespace")


def link_id(netns, name):
    """How the result names a link: ``trunk.10`` in the task's namespace, ``net1/eth0`` inside net1, and
    ``eth0 in the network namespace of process 4321 (sleep)`` in a namespace without a name."""
    if netns is None:
        return name
    return '%s in %s' % (name, netns) if netns.startswith(UNNAMED_LABEL) else '%s/%s' % (netns, name)


def describe_route(route):
    text = route['dest']
    if route.get('gateway'):
        text += ' via %s' % route['gateway']
    return text + ' metric %d' % route['metric']
