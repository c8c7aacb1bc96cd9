# -*- coding: utf-8 -*-
# Copyright (c) underlay.network contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pyroute2, imported as little and as late as a task allows, and the message when it is missing.

Only rtnetlink and the namespace helpers are used. ``import pyroute2`` would run the package's ``__init__``,
which imports every netlink family pyroute2 knows; ``_register_pyroute2_package`` skips it (about 50 ms of every
task; tests/integration/test_pyroute2_import.py holds it to that and checks that the rest of pyroute2 still
imports). ``IPRoute`` itself is imported only when a session first needs it (``iproute_class``).
"""

from __future__ import annotations

import importlib.util
import sys
import traceback

from ansible.module_utils.basic import missing_required_lib


def _register_pyroute2_package():
    """Make ``import pyroute2.<submodule>`` skip the package's ``__init__``.

    That ``__init__`` imports every netlink family pyroute2 knows (conntrack, nftables, wireguard,
    nl80211, ...): about 50 ms of every task, for nothing. Only rtnetlink and the namespace helpers
    are used here, so the package is registered without running it and the submodules are imported
    on their own. A pyroute2 already imported (or not installed) is left as it is.
    """
    if 'pyroute2' in sys.modules:
        return
    spec = importlib.util.find_spec('pyroute2')
    if spec is None or spec.submodule_search_locations is None:
        return
    package = importlib.util.module_from_spec(spec)

    def complete(name):
        """Anyone else in the process still gets all of pyroute2: a submodule by itself, any other
        name (``from pyroute2 import IPRoute``) by running the package's own ``__init__`` after all."""
        try:
            return importlib.import_module('pyroute2.' + name)
        except ImportError:
            pass
        del package.__getattr__
        spec.loader.exec_module(package)
        return getattr(package, name)

    package.__getattr__ = complete
    sys.modules['pyroute2'] = package


def _forget_pyroute2():
    for name in [name for name in sys.modules if name == 'pyroute2' or name.startswith('pyroute2.')]:
        del sys.modules[name]


def iproute_class():
    """pyroute2's IPRoute, imported when a session first needs it: about 45 ms (asyncio and every request
    kind pyroute2 knows) that a run served by the codec alone (rtnl_codec.py) never pays."""
    try:
        from pyroute2.iproute.linux import IPRoute
    except ImportError:  # another pyroute2 layout: the package's own __init__ finds it
        from pyroute2 import IPRoute
    return IPRoute


def _pyroute2_core():
    """The pieces of pyroute2 every session needs (the ipvlan kind is registered with ifinfmsg below)."""
    from pyroute2.netlink import nla
    from pyroute2.netlink.exceptions import NetlinkError
    from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg
    return nla, NetlinkError, ifinfmsg


try:
    _register_pyroute2_package()
    try:
        nla, NetlinkError, ifinfmsg = _pyroute2_core()
    except Exception:  # noqa: BLE001 - another pyroute2 layout: import it the ordinary way
        _forget_pyroute2()
        nla, NetlinkError, ifinfmsg = _pyroute2_core()
    PYROUTE2_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - reported by the module through missing_required_lib
    PYROUTE2_IMPORT_ERROR = exc

    class NetlinkError(Exception):
        """Placeholder so that except clauses stay valid without pyroute2."""
else:
    class IpvlanData(nla):
        """IFLA_INFO_DATA of ipvlan links. pyroute2 0.9 knows IFLA_IPVLAN_MODE only; the port's
        flag (bridge/private/vepa) is IFLA_IPVLAN_FLAGS, so the kind is registered again, complete."""

        prefix = 'IFLA_'
        nla_map = (('IFLA_IPVLAN_UNSPEC', 'none'), ('IFLA_IPVLAN_MODE', 'uint16'), ('IFLA_IPVLAN_FLAGS', 'uint16'))

    ifinfmsg.ifinfo.register_link_kind(module={'ipvlan': IpvlanData})


def require_pyroute2(module):
    """Fail the module with Ansible's usual message when pyroute2 is missing on the managed host."""
    if PYROUTE2_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib('pyroute2'), exception=''.join(traceback.format_exception(
            type(PYROUTE2_IMPORT_ERROR), PYROUTE2_IMPORT_ERROR, PYROUTE2_IMPORT_ERROR.__traceback__)))
