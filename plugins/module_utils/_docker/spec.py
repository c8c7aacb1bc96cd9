# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The argument specs of the modules that talk to a Docker engine: the options they share (doc fragment
underlay.network.docker) and docker_vlan_network's own."""

from __future__ import annotations

from ansible.module_utils.basic import env_fallback
from ansible_collections.underlay.network.plugins.module_utils._common.vocabulary import (
    DOCKER_DRIVERS,
    DOCKER_IPVLAN_MODES,
    DOCKER_MACVLAN_MODES,
    IPVLAN_FLAGS,
)

# The options every module talking to an engine shares (doc fragment underlay.network.docker).
DOCKER_ARGUMENT_SPEC = dict(
    docker_host=dict(type='str', default='unix:///var/run/docker.sock', aliases=['docker_url'],
                     fallback=(env_fallback, ['DOCKER_HOST'])),
    timeout=dict(type='int', default=60, fallback=(env_fallback, ['DOCKER_TIMEOUT'])),
)

RECREATE_NEVER, RECREATE_WHEN_UNUSED, RECREATE_ALWAYS = 'never', 'when_unused', 'always'

# AnsibleModule's keyword arguments of docker_vlan_network.
DOCKER_VLAN_NETWORK_MODULE = dict(
    argument_spec=dict(
        DOCKER_ARGUMENT_SPEC,
        name=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        driver=dict(type='str', default='macvlan', choices=list(DOCKER_DRIVERS)),
        parent=dict(type='str'),
        trunk=dict(type='str'),
        vlan_id=dict(type='int'),
        vlan_name=dict(type='str'),
        macvlan_mode=dict(type='str', choices=list(DOCKER_MACVLAN_MODES)),
        ipvlan_mode=dict(type='str', choices=list(DOCKER_IPVLAN_MODES)),
        ipvlan_flag=dict(type='str', choices=list(IPVLAN_FLAGS)),
        ipam_config=dict(type='list', elements='dict', options=dict(
            subnet=dict(type='str', required=True),
            gateway=dict(type='str'),
            ip_range=dict(type='str'),
            aux_addresses=dict(type='dict'),
        )),
        internal=dict(type='bool', default=False),
        labels=dict(type='dict'),
        recreate=dict(type='str', default=RECREATE_WHEN_UNUSED,
                      choices=[RECREATE_NEVER, RECREATE_WHEN_UNUSED, RECREATE_ALWAYS]),
        force=dict(type='bool', default=False),
        remove_vlan=dict(type='bool', default=False),
    ),
    mutually_exclusive=[('parent', 'trunk')],
    required_together=[('trunk', 'vlan_id')],
    required_by={'vlan_name': 'trunk'},
    required_if=[('state', 'present', ('parent', 'trunk'), True), ('state', 'present', ('ipam_config',))],
)
