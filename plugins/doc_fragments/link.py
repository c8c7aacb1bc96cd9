# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Options every link module shares (argument spec: module_utils/_links/spec.py).
    DOCUMENTATION = r'''
options:
  name:
    description:
      - Name of the link inside O(netns) (or in the task's namespace when O(netns) is not set).
      - At most 15 bytes, without V(/), V(:) or whitespace.
    type: str
    required: true
  parent:
    description:
      - The interface the link is stacked on, in the namespace the task runs in.
      - Required with O(state=present). The parent stays where it is even when the link goes to O(netns).
    type: str
  netns:
    description:
      - Named network namespace (as listed by C(ip netns list)) the link must live in.
      - The link is created directly inside it, under O(name), with O(parent) looked up in the task's
        namespace; this is the C(ip link add) / C(ip link set netns) / rename sequence in one step.
      - The namespace must exist; this module never creates namespaces (use M(underlay.network.netns) first)
        and fails with a message saying so.
    type: str
  state:
    description:
      - V(present) creates or updates the link, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  admin_state:
    description:
      - Administrative state of the link.
    type: str
    choices: [up, down]
    default: up
  mtu:
    description:
      - MTU of the link. Not larger than the parent's MTU; checked before anything is changed.
      - Left as it is when not set.
    type: int
  addresses:
    description:
      - IPv4 and IPv6 addresses in CIDR form, e.g. V(172.28.248.10/20) or V(2001:db8::10/64).
      - What happens to addresses already on the link that are not listed depends on O(addresses_mode).
      - An IPv6 link-local address (in V(fe80::/10), e.g. V(fe80::10/64)) may be listed. It is added when the
        kernel does not have it on the link and counts as present once it has. Link-local addresses that are
        not listed, the one the kernel makes itself included, are never removed (not with
        O(addresses_mode=replace) either), and none is reported among the link's addresses.
    type: list
    elements: str
  addresses_mode:
    description:
      - V(add) adds the listed addresses and keeps the others; V(replace) also removes addresses not listed.
    type: str
    choices: [add, replace]
    default: add
  routes:
    description:
      - Routes through this link, in the main routing table.
    type: list
    elements: dict
    suboptions:
      dest:
        description:
          - Destination prefix in CIDR form, or V(default).
        type: str
        required: true
      gateway:
        description:
          - Next hop. Without it the destination is on-link (as in the seed's host shim route).
          - The unspecified address V(0.0.0.0) or V(::) means no gateway, the same as leaving it out. The kernel
            stores an IPv4 route via V(0.0.0.0) without a gateway and refuses V(::) as an IPv6 one.
          - The kernel accepts a gateway only on-link through this link, and that is checked before anything is
            changed. It must lie in the prefix of an address the link has or gets in the same task, or of a
            link-scope route through it (the connected ones). An IPv6 link-local gateway always qualifies. A
            route without a gateway that this module adds has global scope, so for IPv4 it does not make a
            gateway on-link.
        type: str
      metric:
        description:
          - Route metric. The kernel's default (0 for IPv4, 1024 for IPv6) when not set.
          - For IPv6 the kernel stores a metric of V(0) as 1024, so V(0) and 1024 are the same route.
        type: int
  routes_mode:
    description:
      - V(add) adds the listed routes and keeps the others through this link; V(replace) also removes other
        static routes through this link. Routes the kernel adds for addresses are never touched.
    type: str
    choices: [add, replace]
    default: add
  recreate:
    description:
      - Differences the kernel cannot apply in place (another O(parent), for example) make the module fail
        and change nothing, unless this is V(true).
      - With V(true) the link is deleted and created anew with what was declared, keeping its MAC address,
        MTU and, with V(add) modes, its other addresses and routes.
      - Before the old link is deleted, the module checks what the kernel is known to refuse in the new one.
        A VLAN must not reuse an id and protocol that another VLAN on the new parent has, and a macvlan must not
        come up with a MAC address its new parent or an up macvlan there has. Either makes the module fail
        without changing anything.
      - If the kernel still refuses the new link, the old one is created again as it was, with its ifindex
        (unless that was taken meanwhile), MAC address, alias, settings, addresses and routes. The module then
        fails and says so. Links stacked on the old link (a macvlan on a VLAN) are deleted with it and do not
        come back.
    type: bool
    default: false
requirements:
  - pyroute2 >= 0.9
notes:
  - Everything that can be checked is checked before the first change. That covers the input, the parent,
    the MTU, changes that need O(recreate) and gateways that are not on-link. If the kernel still refuses a
    step, the link is left as it was before the task. A new link is removed again (or is gone already, if
    the kernel removed it with its parent). The steps already applied to an existing link are undone, and
    the result lists them in C(undone). For a link being re-created, see O(recreate).
  - Only when undoing fails too does the link stay partly changed. The message then says so, and C(actions)
    lists what it keeps.
attributes:
  check_mode:
    support: full
    description: Reports the changes it would make and leaves the kernel untouched.
  diff_mode:
    support: full
    description: Shows the link before and after.
'''

    # Links that have a MAC address of their own (not ipvlan, which shares its parent's).
    MAC_ADDRESS = r'''
options:
  mac_address:
    description:
      - Unicast MAC address of the link, e.g. V(02:42:ac:1c:f8:0a). A random one is chosen by the kernel when not set.
    type: str
'''

    # The macvlan modes and source MACs (macvlan_link, macvtap_link).
    MACVLAN = r'''
options:
  mode:
    description:
      - The macvlan mode (a macvtap is a macvlan with a tap device, and has the same modes).
      - V(bridge) lets macvlan links on the same parent talk to each other directly (but not to the parent).
      - V(vepa) sends all traffic to the external switch, which must hairpin it back (reflective relay).
      - V(private) isolates the links on the parent from each other entirely.
      - V(passthru) gives the single link the parent itself (one per parent; it takes the parent's MAC).
      - V(source) accepts only frames from the MAC addresses in O(source_macs).
    type: str
    choices: [bridge, vepa, private, passthru, source]
    default: bridge
  source_macs:
    description:
      - With O(mode=source), the exact list of source MAC addresses the link accepts (replaces the list in the kernel).
      - Left as it is when not set. Given with any other mode, the module fails.
    type: list
    elements: str
'''

    # A macvtap's tap device node (macvtap_link; the links module's macvtap entries).
    TAP_DEVICE = r'''
options:
  tap_owner:
    description:
      - Owner of the link's tap device node C(/dev/tapN) (N is the link's ifindex), the file a VM's qemu opens
        to send and receive the link's frames. A user name that exists on the host, or a numeric uid.
      - A node the module makes belongs to V(root) until this is set; left as it is when not set.
    type: str
  tap_group:
    description:
      - Group of the tap device node, a name that exists on the host or a numeric gid (for example V(kvm) or
        V(libvirt-qemu), so that an unprivileged qemu may open it). V(root) for a new node when not set.
    type: str
  tap_mode:
    description:
      - Permissions of the tap device node as an octal string, quoted in YAML, for example V('0660')
        (three octal digits, no set-id bits). V('0600') for a new node when not set.
    type: str
notes:
  - The kernel names the tap device C(tapN) after the link's ifindex and gives it a character device number of
    its own, which it tells only in the link namespace's sysfs. udev makes C(/dev/tapN) from it where udev
    runs, but never for a link in another network namespace. The module makes the node itself there. Where
    udev runs it waits up to 2 seconds for udev's node, then sets owner, group and mode.
  - A character device already at C(/dev/tapN) with other numbers is a stale node (left by a macvtap gone since,
    whose ifindex this link now has) and is replaced. Anything else there (a file, a directory, a symlink) makes
    the module fail without touching it.
  - Ifindexes are per network namespace, but device nodes are not, so the kernel can give macvtap links in two
    namespaces the same C(/dev/tapN). The module therefore creates a macvtap with an ifindex whose C(/dev/tapN)
    does not exist yet. A macvtap made by something else in another namespace with the same ifindex as this
    one would share the node path, and the node follows the link converged last.
'''
