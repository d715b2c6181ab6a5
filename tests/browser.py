"""Headless Chromium driven over the DevTools protocol (a websocket on 127.0.0.1): load a page, report
its images and console errors, and take a screenshot. Test-side tooling only."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
         "--disable-component-update", "--disable-sync", "--disable-quic", "--remote-debugging-port=0"]


def chromium_or_skip() -> str:
    """The Chromium binary; without one the test fails under CI (CI=true) and is skipped elsewhere."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary:
        return binary
    if os.environ.get("CI") == "true":
        pytest.fail("Chromium is not installed, and CI=true: .ci/run must install Debian's chromium package")
    pytest.skip("Chromium is not installed (apt-get install chromium); this test runs in CI")


@dataclass
class PageReport:
    images: list[dict]
    errors: list[str] = field(default_factory=list)
    screenshot: bytes = b""
    probe: object = None  # the value of the caller's JavaScript expression, evaluated after load


class _Session:
    def __init__(self, url: str):
        from websockets.sync.client import connect

        self.ws = connect(url, max_size=None, open_timeout=20)
        self.next_id = 0
        self.events: list[dict] = []

    def call(self, method: str, **params) -> dict:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=60))
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, event: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == event for e in self.events):
            self.events.append(json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic()))))


def inspect_page(binary: str, page: Path, probe: str | None = None) -> PageReport:
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    process = subprocess.Popen([binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = Path(profile) / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text().strip():
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("Chromium did not open its DevTools port")
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        targets = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10).read())
        target = next(t for t in targets if t["type"] == "page")
        session = _Session(target["webSocketDebuggerUrl"])
        for domain in ("Page", "Runtime", "Log"):
            session.call(f"{domain}.enable")
        session.call("Emulation.setDeviceMetricsOverride", width=1280, height=900, deviceScaleFactor=1, mobile=False)
        session.call("Page.navigate", url=page.resolve().as_uri())
        session.wait_for("Page.loadEventFired")
        images = session.call("Runtime.evaluate", returnByValue=True, expression=(
            "Array.from(document.images).map(i => ({src: i.src.slice(0, 40), complete: i.complete, "
            "width: i.naturalWidth, height: i.naturalHeight}))"))["result"]["value"]
        probed = (session.call("Runtime.evaluate", returnByValue=True, expression=probe)["result"].get("value")
                  if probe else None)
        metrics = session.call("Page.getLayoutMetrics")["cssContentSize"]
        shot = session.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                            clip={"x": 0, "y": 0, "width": metrics["width"], "height": min(metrics["height"], 8000),
                                  "scale": 1})
        errors = [e["params"]["entry"]["text"] for e in session.events
                  if e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error"]
        errors += [str(e["params"]["args"]) for e in session.events
                   if e.get("method") == "Runtime.consoleAPICalled" and e["params"]["type"] == "error"]
        errors += [e["params"]["exceptionDetails"]["text"] for e in session.events
                   if e.get("method") == "Runtime.exceptionThrown"]
        session.ws.close()
        return PageReport(images, errors, base64.b64decode(shot["data"]), probed)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(profile, ignore_errors=True)
