"""The unit tests import ``ansible_collections.underlay.network`` from the checkout: scripts/bootstrap.sh links the
working tree in as .cache/collections/ansible_collections/underlay/network (ansible.cfg points there too) and puts
.cache/collections on the venv's path (a .pth file). The link is made here too, should it be missing."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COLLECTIONS = ROOT / '.cache' / 'collections'
link = COLLECTIONS / 'ansible_collections' / 'underlay' / 'network'
if not link.is_symlink():
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(Path('..', '..', '..', '..'))
