"""Make ``ansible_collections.underlay.network`` importable from the checkout.

The link is the one scripts/bootstrap.sh makes (and ansible.cfg points at);
it is made here too so that ``pytest tests/unit`` works on its own.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COLLECTIONS = ROOT / '.cache' / 'collections'
link = COLLECTIONS / 'ansible_collections' / 'underlay' / 'network'
if not link.is_symlink():
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(Path('..', '..', '..', '..'))
sys.path.insert(0, str(COLLECTIONS))
