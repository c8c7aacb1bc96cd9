"""underlay.network's development tooling, installed into the project's venv and never shipped with the collection:
the embedded lab (``lab``), the kernel box (``box``) and the test harness (``testing``)."""
