"""A drawing the workers test names instead of passing (assets/reports/workers.by_name): only a
process that draws with it imports this module."""

import os


def where(month: str) -> tuple[str, int]:
    return month, os.getpid()
