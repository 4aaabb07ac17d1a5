"""``python -m exporter`` runs the ``egnedata`` command line."""

from exporter.cli import main

main()
