"""``python -m flowgrad`` runs the ``flowgrad`` command."""

from flowgrad.cli import main

main()
