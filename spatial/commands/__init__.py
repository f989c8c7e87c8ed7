"""CLI commands that live outside ``spatial/cli.py``; importing a module registers its command
on :data:`spatial.cli.app`."""
