# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # How a module reaches the Docker engine (argument spec: module_utils/_docker/spec.py).
    DOCUMENTATION = r'''
options:
  docker_host:
    description:
      - The Docker engine's API endpoint, e.g. V(unix:///var/run/docker.sock) or V(tcp://127.0.0.1:2375).
      - The engine must run on the host the task runs on (and in its network namespace), since the parent
        interfaces are looked up there.
      - When not set, the environment variable E(DOCKER_HOST) is used, then the local socket.
    type: str
    default: unix:///var/run/docker.sock
    aliases: [docker_url]
  timeout:
    description:
      - Seconds to wait for each answer of the engine. When not set, E(DOCKER_TIMEOUT) is used, then 60.
    type: int
    default: 60
requirements:
  - docker (the Docker SDK for Python) >= 7.1, on the managed host
'''
