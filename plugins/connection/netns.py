# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: netns
short_description: Run tasks inside a named network namespace on the controller
version_added: 0.1.0
description:
  - Runs every command of a task inside a named network namespace on the machine Ansible runs on, so that lab
    namespaces (a "host", a "switch", a "container") can be inventory hosts of their own.
  - Works like the P(ansible.builtin.local#connection) connection, with each command wrapped in
    C(nsenter --net=/run/netns/NAME -- /bin/sh -c ...). Only the network namespace changes (and, with
    O(remount_sys), the C(/sys) the command sees); the file system, the users and the processes are the
    controller's, so files are copied locally and modules see the namespace's links, addresses, routes and
    C(/proc/sys/net).
  - The namespace must exist (for example created with M(underlay.network.netns)); otherwise the host is
    unreachable with a message saying so. So is a host whose C(/run/netns/NAME) is a plain file with no
    namespace mounted on it (left behind by a namespace that was not deleted cleanly).
author:
  - underlay.network contributors (@underlay-network)
requirements:
  - nsenter, unshare and mount (util-linux) on the controller
options:
  remote_addr:
    description:
      - The namespace name when O(netns_name) is not set; by default the inventory host name.
    type: str
    default: inventory_hostname
    vars:
      - name: inventory_hostname
      - name: ansible_host
  netns_name:
    description:
      - Name of the network namespace to run in, as C(ip netns list) shows it. Overrides O(remote_addr), so that an
        inventory host can have another name than its namespace.
      - At most 255 ASCII characters, without V(/) or whitespace, and not V(.) or V(..).
    type: str
    vars:
      - name: ansible_netns_name
  remount_sys:
    description:
      - Give each command a private mount namespace with C(/sys) mounted afresh, as C(ip netns exec) does, so that
        C(/sys/class/net) lists the namespace's own links. Without it C(/sys) still shows the controller's root
        namespace, and for example the interface facts of P(ansible.builtin.setup#module) are wrong.
      - The fresh C(/sys) has no cgroup mounts below C(/sys/fs/cgroup). Set V(false) for tasks that start a daemon
        needing them (dockerd, systemd services); the command then runs with C(nsenter --net) alone.
      - Mounts elsewhere, such as new namespaces below C(/run/netns), stay visible to the whole machine.
    type: bool
    default: true
    vars:
      - name: ansible_netns_remount_sys
  become_success_timeout:
    type: int
    default: 10
    description:
      - Number of seconds to wait for become to succeed when enabled (as for P(ansible.builtin.local#connection)).
      - The default will be used if the configured value is less than 1.
    vars:
      - name: ansible_local_become_success_timeout
  become_strip_preamble:
    type: bool
    default: true
    description:
      - Strip internal become output preceding command execution (as for P(ansible.builtin.local#connection)).
    vars:
      - name: ansible_local_become_strip_preamble
extends_documentation_fragment:
  - connection_pipelining
notes:
  - Entering a namespace needs C(CAP_SYS_ADMIN), so run Ansible as root. The remote user is ignored, as with
    P(ansible.builtin.local#connection); C(become) happens inside the namespace.
  - Pipelining is supported and recommended (no temporary files are needed then).
  - C(ip netns exec) is not used; it also bind-mounts C(/etc/netns/NAME) over C(/etc), and its C(/sys) remount
    cannot be turned off (see O(remount_sys)).
'''

EXAMPLES = r'''
# inventory.yml: lab namespaces as hosts
# all:
#   hosts:
#     lab-h1:
#       ansible_connection: underlay.network.netns
#     router:
#       ansible_connection: underlay.network.netns
#       ansible_netns_name: lab-r1

- name: Configure a lab host from inside its namespace
  hosts: lab-h1
  gather_facts: false
  tasks:
    - name: Show the links the namespace sees
      ansible.builtin.command: ip -o link
      changed_when: false

    - name: A macvlan link on the namespace's own eth0
      underlay.network.macvlan_link:
        name: mv0
        parent: eth0
'''

import shlex
import shutil

from ansible.errors import AnsibleConnectionFailure
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.connection.local import Connection as LocalConnection
from ansible.utils.display import Display
from ansible_collections.underlay.network.plugins.module_utils._common.errors import ValidationError
from ansible_collections.underlay.network.plugins.module_utils._common.validation import validate_netns_name
from ansible_collections.underlay.network.plugins.module_utils._kernel.netns import (
    NETNS_RUN_DIR,
    namespace_exists,
    namespace_path,
    not_a_namespace,
)

display = Display()

# Run by unshare in a fresh mount namespace, the command as $1. /sys is made a slave
# first so that the new sysfs never propagates back to the machine; everything else
# keeps its propagation, so namespaces created below /run/netns are seen everywhere.
REMOUNT_SYS = 'mount --make-rslave /sys && mount -t sysfs sysfs /sys && exec /bin/sh -c "$1"'


class Connection(LocalConnection):
    """Local connection whose commands run inside a named network namespace."""

    # transport stays 'local': same file system (commands run in the play's directory) and
    # ansible.builtin.reboot refuses to run, as it would reboot the controller itself.
    has_pipelining = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._netns_path = None

    def _netns_name(self):
        name = self.get_option('netns_name')
        param = 'ansible_netns_name'
        if not name:
            name, param = self.get_option('remote_addr'), 'the inventory host name (remote_addr)'
        try:
            return validate_netns_name(name, param)
        except ValidationError as exc:
            raise AnsibleConnectionFailure('netns connection: %s; set ansible_netns_name to the name '
                                           'ip netns list shows' % exc) from None

    def _connect(self):
        if not self._connected:
            name = self._netns_name()
            if not namespace_exists(name):
                raise AnsibleConnectionFailure(
                    "netns connection: network namespace '%s' does not exist (no %s/%s); create it first, e.g. with "
                    'underlay.network.netns, or set ansible_netns_name' % (name, NETNS_RUN_DIR, name))
            problem = not_a_namespace(name)
            if problem:  # nsenter would only fail, and Ansible then reports an unreadable module result
                raise AnsibleConnectionFailure("netns connection: network namespace '%s' cannot be entered: %s"
                                               % (name, problem))
            missing = [tool for tool in ('nsenter', 'unshare') if shutil.which(tool) is None]
            if missing:
                raise AnsibleConnectionFailure('netns connection: %s not found on the controller; '
                                               'install util-linux' % ' and '.join(missing))
            self._netns_path = namespace_path(name)
            display.vvv("ESTABLISH NETNS CONNECTION INTO '%s'" % name, host=self._play_context.remote_addr)
        return super()._connect()

    def exec_command(self, cmd, in_data=None, sudoable=True):
        """Run ``cmd`` through the shell inside the namespace (stdin passes through: pipelining works)."""
        self._connect()
        cmd = shlex.quote(to_text(cmd))
        if self.get_option('remount_sys'):
            inner = 'unshare --mount --propagation unchanged -- /bin/sh -c %s sh %s' % (shlex.quote(REMOUNT_SYS), cmd)
        else:
            inner = '/bin/sh -c %s' % cmd
        return super().exec_command('nsenter --net=%s -- %s' % (shlex.quote(self._netns_path), inner),
                                    in_data=in_data, sudoable=sudoable)

    def close(self):
        super().close()
        self._netns_path = None
