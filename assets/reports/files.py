"""Files in the reports folder are replaced, never rewritten in place: a report embedding a chart,
a web server publishing the folder, or another run drawing the same month sees the old file or the
new one, never half of one."""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

if TYPE_CHECKING:  # matplotlib is imported where a figure is drawn, not by every step's process
    from matplotlib.figure import Figure


# The reports folder's subfolder of charts over all snapshots (drawn in assets/reports/charts.py;
# named here, where the drawing step and the run's summary can import it without matplotlib).
BORDER_WAITS = "border_waits"


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


# Every PNG (the folder's charts, the HTML report's images): 110 dpi; zlib level 3, not Pillow's 6,
# because level 6 took a third of a month's PNG time for files 1 % smaller.
PNG = {"format": "png", "dpi": 110, "pil_kwargs": {"compress_level": 3}}


def save_figure(fig: Figure, path: Path, text: dict[str, str] | None = None) -> None:
    """The figure as PNG at path (replaced whole), with `text` as the PNG's text chunks."""
    with replaced_on_success(path) as partial:
        fig.savefig(partial, **PNG, metadata=text)
    import matplotlib.pyplot as plt

    plt.close(fig)


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with replaced_on_success(path) as partial:
        partial.write_text(text)


STAGING_PREFIX = ".publishing-"


def staging_folder(reports: Path, run_id: str) -> Path:
    """Where a run draws its charts and reports before `publication` moves them into `reports`
    (inside it: the same file system, so each move is a rename)."""
    return reports / f"{STAGING_PREFIX}{run_id}"


def staging_folders(reports: Path) -> dict[str, Path]:
    """Every run's staging folder in `reports`, by run id (a symbolic link is nobody's)."""
    return {folder.name.removeprefix(STAGING_PREFIX): folder for folder in reports.glob(STAGING_PREFIX + "*")
            if folder.is_dir() and not folder.is_symlink()}


def clear_leftovers(reports: Path, running: Callable[[str], bool]) -> None:
    """Remove what killed runs left: staging folders of runs no longer running, and half-written
    `.partial` files outside staging folders whose writer is no longer alive (its pid is in the name)."""
    if not reports.is_dir():
        return
    for run_id, folder in staging_folders(reports).items():
        if not running(run_id):
            shutil.rmtree(folder, ignore_errors=True)
    for partial in [*reports.glob(".*.partial.*"), *reports.glob("[!.]*/.*.partial.*")]:
        pid = partial.name.split(".partial")[0].rsplit(".", 1)[-1]
        if partial.is_file() and not (pid.isdigit() and _alive(int(pid))):
            partial.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class CannotPublish(Exception):
    """A drawn file that cannot be moved into the reports folder; raised before anything is moved."""


def planned_moves(staging: Path, reports: Path) -> list[tuple[Path, Path]]:
    """Every staged file with its destination, after checking that each destination can be written
    (a folder that is a file, a read-only folder, a file that is a folder): the check runs before
    any file moves, so a publication that cannot complete changes nothing."""
    # The markers of what was drawn (.monthly_*.json) go last: if a move fails, the months are drawn again.
    drawn = sorted((f for f in staging.rglob("*") if f.is_file()), key=lambda f: (f.name.startswith("."), f))
    moves = [(f, reports / f.relative_to(staging)) for f in drawn]
    for _, target in moves:
        folder = target.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CannotPublish(f"cannot create {folder.relative_to(reports.parent)}: {exc.strerror}") from None
        if not os.access(folder, os.W_OK | os.X_OK):
            raise CannotPublish(f"cannot write into {folder.relative_to(reports.parent)}: permission denied")
        if target.is_dir() and not target.is_symlink():
            raise CannotPublish(f"{target.relative_to(reports.parent)} is a folder, where a file is to go")
    return moves


def move_into_place(moves: list[tuple[Path, Path]], staging: Path) -> None:
    for source, target in moves:
        os.replace(source, target)
    shutil.rmtree(staging, ignore_errors=True)
