"""Entry point of the Pulumi project (``pulumi preview`` / ``pulumi up`` in this directory)."""

from components.program import main

main()
