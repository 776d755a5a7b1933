"""Subcommands of `druid-sim`; each module exposes `register(subparsers)`."""
