"""Check the built companion book in headless Chromium: the landing page, the method's code,
notebooks 01 and 02 and the gallery load, their figures load (none shows as its text repr), their
math is typeset, their tables and included code are present, no stderr output shows, and nothing
is fetched from a network.

    python scripts/check_book.py [--site build/book/html] [--out build/book-check]

Drives Chromium through the DevTools protocol over a pipe (``--remote-debugging-pipe``), so the
standard library is enough. Each page is opened from disk (``file://``) with every host name
unresolvable; the script then waits for MathJax, decodes every image and reads the DOM. It
writes a screenshot of each page's top and one of the whole page (up to ``MAX_SHOT_HEIGHT``
pixels) to ``--out``, prints one line per page and exits non-zero naming every failed check.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import select
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
INSTALL_HINT = ("install it with `apt-get update && apt-get install -y chromium` "
                "(or `make chromium` as root)")
WIDTH, HEIGHT = 1280, 1600
MAX_SHOT_HEIGHT = 12000  # Chromium cannot capture much taller pages in one image
TIMEOUT_S = 60.0


@dataclass
class Page:
    """One page to open and what it must show."""

    path: str  # relative to the site's root
    heading: str  # the start of its first <h1>
    min_images: int
    min_math: int
    min_tables: int  # <table> elements in the page's content
    texts: list[str] = field(default_factory=list)  # must appear in the content's text
    absent: list[str] = field(default_factory=list)  # must not appear in it
    min_code: int = 0  # code blocks (the method page's literalincludes), none of them empty


PAGES = [
    Page("index.html", "TDCA companion", min_images=1, min_math=5, min_tables=1),
    # Each equation's display and the library's function under it, included from the source.
    Page("method.html", "The method in code", min_images=0, min_math=6, min_tables=0,
         texts=[f"def {name}(" for name in ("layer_activations", "tdca_direction",
                "hebbian_update", "credits_to_gradient", "diffusion_kernel", "diffuse", "train",
                "ask", "tell", "generation")], min_code=10),
    # Notebook 01 prints its tables (the probes and the claims) as text outputs.
    Page("notebooks/01_gaussian.html", "01 ·", min_images=6, min_math=5, min_tables=0,
         texts=["| claim", "| verdict", "TDCA reaches the global minimum", "TDCA ends at"],
         absent=["evolving gaussian", "it/s]"]),  # its saved tqdm progress bars
    # Its explorer (a static figure in the book) and Figs S1-S3.
    Page("notebooks/02_supervised.html", "02 ·", min_images=5, min_math=0, min_tables=4),
    Page("figures/README.html", "Figures and tables", min_images=16, min_math=0, min_tables=10),
]

# Runs in the page once it has loaded: waits for MathJax's first typesetting and for every image
# to decode (lazy ones included), then reports what the checks need.
PROBE_JS = r"""
(async () => {
  const withTimeout = (p, ms) => Promise.race([p, new Promise(r => setTimeout(r, ms))]);
  let mathjax = "absent";
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await withTimeout(MathJax.startup.promise, 30000);
    mathjax = MathJax.version || "loaded";
  }
  const main = document.querySelector("main") || document.body;
  const images = [...main.querySelectorAll("img")];
  for (const img of images) { img.loading = "eager"; }
  await withTimeout(Promise.all(images.map(i => i.decode().catch(() => null))), 30000);
  const prose = main.cloneNode(true);
  prose.querySelectorAll("pre, code, script, style, mjx-container").forEach(e => e.remove());
  const h1 = main.querySelector("h1");
  return {
    title: document.title,
    heading: h1 ? h1.textContent.trim() : "",
    mathjax: mathjax,
    images: images.map(i => ({src: i.getAttribute("src"), width: i.naturalWidth})),
    math_nodes: main.querySelectorAll(".math").length,
    untypeset: [...main.querySelectorAll(".math")]
      .filter(e => !e.querySelector("mjx-container")).map(e => e.textContent.slice(0, 80)),
    typeset: main.querySelectorAll("mjx-container").length,
    math_errors: main.querySelectorAll("mjx-merror").length,
    tables: main.querySelectorAll("table").length,
    stderr: main.querySelectorAll(".stderr, .output_stderr").length,
    code: [...main.querySelectorAll("div.highlight pre")].map(pre => {
      const lines = pre.cloneNode(true);
      lines.querySelectorAll(".linenos").forEach(e => e.remove());
      return lines.textContent.trim().length;
    }),
    prose: prose.innerText,
    text: main.innerText,
    height: document.documentElement.scrollHeight,
  };
})()
"""

# Two animation frames: the layout after a change of window size has been painted.
SETTLE_JS = "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"


class Chromium:
    """A headless Chromium driven over ``--remote-debugging-pipe`` (fd 3 in, fd 4 out)."""

    def __init__(self, binary: str, profile: str, log: Path) -> None:
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        args = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--no-default-browser-check", "--hide-scrollbars", "--remote-debugging-pipe",
                f"--user-data-dir={profile}", f"--window-size={WIDTH},{HEIGHT}",
                # no host resolves: a page that needs the network shows it as a failed request
                "--host-resolver-rules=MAP * ~NOTFOUND"]
        actions = [(os.POSIX_SPAWN_DUP2, to_browser_r, 3), (os.POSIX_SPAWN_DUP2, from_browser_w, 4),
                   (os.POSIX_SPAWN_OPEN, 1, str(log), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
                   (os.POSIX_SPAWN_DUP2, 1, 2)]
        self.pid = os.posix_spawn(binary, args, os.environ, file_actions=actions)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []

    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_browser], [], [], left)[0]:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed its DevTools pipe (did it start?)")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float = TIMEOUT_S) -> dict:
        """Send one DevTools command and return its result; events met meanwhile are kept."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def wait_for(self, method: str, session: str, timeout: float = TIMEOUT_S) -> dict:
        """Wait for an event of this session (kept ones first) and return it."""
        deadline = time.monotonic() + timeout
        while True:
            for i, event in enumerate(self.events):
                if event.get("method") == method and event.get("sessionId") == session:
                    return self.events.pop(i)
            self.events.append(self._read_message(deadline))

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=10)
        except (RuntimeError, TimeoutError, OSError):
            os.kill(self.pid, 9)
        os.waitpid(self.pid, 0)
        os.close(self._to_browser)
        os.close(self._from_browser)


def open_page(browser: Chromium, url: str, shots: Path) -> tuple[dict, list[str], list[str]]:
    """Load ``url`` in a fresh tab, save its screenshots as ``shots``-top.png and -full.png.

    Returns the probe's report, the URLs requested, and the requests that failed.
    """
    target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.send("Target.attachToTarget",
                           {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Page", "Network", "Runtime"):
        browser.send(f"{domain}.enable", session=session)
    browser.send("Emulation.setDeviceMetricsOverride", {"width": WIDTH, "height": HEIGHT,
                 "deviceScaleFactor": 1, "mobile": False}, session=session)
    browser.events.clear()
    browser.send("Page.navigate", {"url": url}, session=session)
    browser.wait_for("Page.loadEventFired", session)
    report = browser.send("Runtime.evaluate", {"expression": PROBE_JS, "awaitPromise": True,
                          "returnByValue": True}, session=session)["result"]["value"]
    shot = browser.send("Page.captureScreenshot", {"format": "png"}, session=session)
    Path(f"{shots}-top.png").write_bytes(base64.b64decode(shot["data"]))
    # the whole page: a window as tall as the page (a clip beyond the window lays it out anew)
    browser.send("Emulation.setDeviceMetricsOverride", {"width": WIDTH, "height": min(
                 report["height"], MAX_SHOT_HEIGHT), "deviceScaleFactor": 1, "mobile": False},
                 session=session)
    browser.send("Runtime.evaluate", {"expression": SETTLE_JS, "awaitPromise": True},
                 session=session)
    shot = browser.send("Page.captureScreenshot", {"format": "png"}, session=session)
    Path(f"{shots}-full.png").write_bytes(base64.b64decode(shot["data"]))
    events = [e for e in browser.events if e.get("sessionId") == session]
    requested = [e["params"]["request"]["url"] for e in events
                 if e["method"] == "Network.requestWillBeSent"]
    ids = {e["params"]["requestId"]: e["params"]["request"]["url"] for e in events
           if e["method"] == "Network.requestWillBeSent"}
    failed = [f"{ids.get(e['params']['requestId'], '?')} ({e['params'].get('errorText')})"
              for e in events if e["method"] == "Network.loadingFailed"]
    browser.send("Target.closeTarget", {"targetId": target})
    return report, requested, failed


def problems(page: Page, report: dict, requested: list[str], failed: list[str]) -> list[str]:
    """Every check ``page`` fails, in words (empty when it passes)."""
    found = []
    if not report["heading"].startswith(page.heading):
        found.append(f"first heading {report['heading']!r}, expected {page.heading!r}...")
    broken = [i["src"] for i in report["images"] if i["width"] == 0]
    if broken:
        found.append(f"{len(broken)} images did not load: {broken[:5]}")
    if len(report["images"]) < page.min_images:
        found.append(f"{len(report['images'])} images, expected at least {page.min_images}")
    if page.min_math and report["mathjax"] == "absent":
        found.append("MathJax did not load")
    if report["typeset"] < page.min_math:
        found.append(f"{report['typeset']} typeset formulas, expected at least {page.min_math}")
    if report["untypeset"]:
        found.append(f"{len(report['untypeset'])} math nodes left untypeset: "
                     f"{report['untypeset'][:3]}")
    if report["math_errors"]:
        found.append(f"{report['math_errors']} formulas with TeX errors")
    raw = [s for s in ("$", "\\(", "\\[") if s in report["prose"]]
    if raw:
        found.append(f"raw math delimiters {raw} left in the text")
    if report["tables"] < page.min_tables:
        found.append(f"{report['tables']} tables, expected at least {page.min_tables}")
    if len(report["code"]) < page.min_code:
        found.append(f"{len(report['code'])} code blocks, expected at least {page.min_code}")
    if page.min_code and 0 in report["code"]:  # an include that found no lines
        found.append(f"{report['code'].count(0)} empty code blocks")
    missing = [t for t in page.texts if t not in report["text"]]
    if missing:
        found.append(f"text missing: {missing}")
    unwanted = [t for t in page.absent if t in report["text"]]
    if unwanted:
        found.append(f"text that should be gone: {unwanted}")
    if "<Figure size" in report["text"]:  # a figure saved as its repr, not drawn
        found.append("a figure shows as its text repr '<Figure size ...>' instead of an image")
    if report["stderr"]:
        found.append(f"{report['stderr']} stderr outputs shown (as error boxes)")
    remote = [u for u in requested if not u.startswith(("file:", "data:", "about:"))]
    if remote:
        found.append(f"{len(remote)} requests need a network: {remote[:3]}")
    if failed:
        found.append(f"{len(failed)} requests failed: {failed[:3]}")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=Path, default=ROOT / "build" / "book" / "html")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "book-check")
    args = parser.parse_args()
    binary = next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)
    if binary is None:
        print(f"check_book: no Chromium found ({', '.join(BROWSERS)}); {INSTALL_HINT}",
              file=sys.stderr)
        return 2
    if not (args.site / "index.html").is_file():
        print(f"check_book: no book at {args.site}; build it with `make book`", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    failures = 0
    with tempfile.TemporaryDirectory(prefix="check-book-") as profile:
        browser = Chromium(binary, profile, args.out / "chromium.log")
        try:
            for page in PAGES:
                shots = args.out / page.path.replace("/", "_").removesuffix(".html")
                report, requested, failed = open_page(
                    browser, (args.site / page.path).resolve().as_uri(), shots)
                found = problems(page, report, requested, failed)
                failures += bool(found)
                print(f"{'FAIL' if found else 'ok  '} {page.path}: {len(report['images'])} "
                      f"images loaded, {report['typeset']} formulas typeset (MathJax "
                      f"{report['mathjax']}), {report['tables']} tables, "
                      f"{len(report['code'])} code blocks, {len(requested)} requests; "
                      f"screenshots {shots}-{{top,full}}.png")
                for problem in found:
                    print(f"     {problem}")
        finally:
            browser.close()
    print(f"check_book: {len(PAGES) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
