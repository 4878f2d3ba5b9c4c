"""`procure` commands of the tendering service (none yet)."""

import argparse


def add_commands(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Tendering adds its subcommands here."""
