"""``python -m securemedia`` runs the CLI."""

from .cli.main import main

main()
