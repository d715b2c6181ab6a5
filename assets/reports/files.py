"""Files in the reports folder are replaced, never rewritten in place: a report embedding a chart,
a web server publishing the folder, or another run drawing the same month sees the old file or the
new one, never half of one."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import matplotlib.pyplot as plt


@contextmanager
def replaced_on_success(path: Path) -> Iterator[Path]:
    """A private path beside `path` (same folder, so the rename is atomic; same suffix, so writers
    that infer the format from it still do), renamed over `path` when the block succeeds."""
    partial = path.with_name(f".{path.stem}.{os.getpid()}.partial{path.suffix}")
    try:
        yield partial
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


def save_figure(fig: plt.Figure, path: Path) -> None:
    with replaced_on_success(path) as partial:
        fig.savefig(partial, dpi=110)
    plt.close(fig)


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with replaced_on_success(path) as partial:
        partial.write_text(text)
