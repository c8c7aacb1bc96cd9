"""Where the development tree is: this package is installed editable from ``dev/`` of the checkout
(scripts/bootstrap.sh), so the checkout is two directories up."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COLLECTIONS = ROOT / '.cache' / 'collections'
VENV_BIN = ROOT / '.venv' / 'bin'
