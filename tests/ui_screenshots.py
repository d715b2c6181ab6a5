"""Screenshots of a running Dagster UI (after `make demo`, `make dev`): the runs, the asset catalog
and fct_entries' partitions, as a new user sees them. Tooling, not a test:

    .venv/bin/python -m tests.ui_screenshots http://127.0.0.1:3000 test-artifacts
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from tests.browser import FLAGS, _Session

PAGES = {"dagster_ui_runs.png": "/runs", "dagster_ui_assets.png": "/assets",
         "dagster_ui_fct_entries_partitions.png": "/assets/fct_entries?view=partitions",
         "dagster_ui_exam_rates_overview.png": "/assets/marts/exam_rates"}
# The first visit shows a newsletter dialog; its Skip button dismisses it.
SKIP_DIALOG = "Array.from(document.querySelectorAll('button')).filter(b => b.innerText.trim() === 'Skip').forEach(b => b.click())"


def main(base: str, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    process = subprocess.Popen([binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = Path(profile) / "DevToolsActivePort"
        while not port_file.exists() or not port_file.read_text().strip():
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        target = next(t for t in json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list").read())
                      if t["type"] == "page")
        session = _Session(target["webSocketDebuggerUrl"])
        session.call("Page.enable")
        session.call("Emulation.setDeviceMetricsOverride", width=1600, height=1000, deviceScaleFactor=1, mobile=False)
        for name, path in PAGES.items():
            session.call("Page.navigate", url=base.rstrip("/") + path)
            time.sleep(8)  # the UI renders after its GraphQL answers arrive
            session.call("Runtime.evaluate", expression=SKIP_DIALOG)
            time.sleep(2)
            shot = session.call("Page.captureScreenshot", format="png")
            (out / name).write_bytes(base64.b64decode(shot["data"]))
            print(out / name)
        session.ws.close()
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
