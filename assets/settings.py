"""Every setting of the pipeline in one place: its environment variable, command-line flag, default,
what it means, and how a value is checked. A value that cannot be used stops the run before it
starts with one line naming the setting (a bad flag: exit 64; a bad environment value or key file:
exit 1; pipelines/cli.py)."""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable


class SettingError(ValueError):
    """A setting whose value cannot be used; the message is one line naming it."""


def share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError("is not a number (a share of a file's rows: 0.05 is 5 %)") from None
    if math.isnan(value) or not 0 <= value <= 1:
        raise ValueError("is not a share between 0 and 1 (0.05 is 5 %)")
    return value


def byte_count(text: str) -> int:
    if not re.fullmatch(r"[0-9]+", text.strip()) or int(text) < 1:
        raise ValueError("is not a whole number of bytes above 0")
    return int(text)


def memory(text: str) -> str:
    if not re.fullmatch(r"[0-9]+(\.[0-9]+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", text.strip()):
        raise ValueError("is not an amount of memory such as 2GB or 1500MB")
    return text.strip()


def whole_number(text: str) -> int:
    if not re.fullmatch(r"[0-9]+", text.strip()):
        raise ValueError("is not a whole number (0 or more)")
    return int(text)


def names(text: str) -> list[str]:
    return [n for n in text.split(",") if n]


@dataclass(frozen=True)
class Setting:
    field: str
    env: str
    default: str
    meaning: str
    flag: str | None = None
    parse: Callable[[str], Any] = str
    secret: bool = False


SETTINGS = [
    Setting("landing", "EXAM_RISK_LANDING", "data/landing", "landing zone (one folder per source)", "--landing"),
    Setting("warehouse", "EXAM_RISK_WAREHOUSE", "data/warehouse.duckdb", "warehouse (pipeline only)", "--warehouse"),
    Setting("analytics", "EXAM_RISK_ANALYTICS", "data/analytics.duckdb", "analyst marts file", "--marts"),
    Setting("reports", "EXAM_RISK_REPORTS", "data/reports", "charts and reports", "--reports"),
    Setting("max_reject_share", "EXAM_RISK_MAX_REJECT_SHARE", "0.05", "gate threshold (share of a file's rows, 0-1)",
            "--max-reject-share", share),
    Setting("accept", "EXAM_RISK_ACCEPT", "", "blocked files accepted by name (flag repeatable; variable: comma list)",
            "--accept", names),
    Setting("pseudonym_key", "EXAM_RISK_PSEUDONYM_KEY", "", "pseudonym key (a run without a key fails)", secret=True),
    Setting("pseudonym_key_file", "EXAM_RISK_PSEUDONYM_KEY_FILE", "", "file holding the pseudonym key"),
    Setting("memory_limit", "EXAM_RISK_MEMORY_LIMIT", "2GB", "DuckDB memory ceiling (spills beyond it)", parse=memory),
    Setting("max_file_bytes", "EXAM_RISK_MAX_FILE_BYTES", str(1 << 30),
            "most bytes a landing file may expand to (a larger one fails)", parse=byte_count),
    Setting("drawing_workers", "EXAM_RISK_DRAWING_WORKERS", "0",
            "processes drawing the charts and reports side by side, the step's own included (0: one per CPU)", parse=whole_number),
]
BY_FIELD = {s.field: s for s in SETTINGS}
ENV_DEFAULTS = {s.env: s.default for s in SETTINGS}


def env(name: str) -> str:
    """A variable's text as set, or its default."""
    return os.environ.get(name) or ENV_DEFAULTS[name]


def configuration(**flags) -> dict[str, Any]:
    """Every setting's value: a flag (already checked by the command line) wins over its variable,
    which wins over the default. Raises SettingError for a variable that cannot be used."""
    values = {}
    for s in SETTINGS:
        raw = os.environ.get(s.env) or s.default
        try:
            values[s.field] = s.parse(raw)
        except ValueError as exc:
            raise SettingError(f"{s.env}={raw!r} {exc}") from None
        flag = flags.get(s.field)
        if flag is not None:
            values[s.field] = [*values[s.field], *flag] if s.field == "accept" else flag
    return values


def read_key_file(path: str) -> bytes:
    """The key in a key file, or a SettingError saying what is wrong with the file."""
    where = f"EXAM_RISK_PSEUDONYM_KEY_FILE={path!r}"
    file = Path(path)
    if not file.exists():
        raise SettingError(f"{where}: no such file (make demo creates data/pseudonym.key)")
    if not file.is_file():
        raise SettingError(f"{where}: not a file")
    try:
        text = file.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingError(f"{where}: cannot be read ({type(exc).__name__})") from None
    if not text:
        raise SettingError(f"{where}: the file is empty")
    return text.encode()
