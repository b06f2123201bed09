"""The dashboard in headless Chromium (see bench/README.md): how long `report.html` takes until
its instance table shows its first rows, and until a search typed into it shows its result.

Chromium is driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`: no port is
opened), started like scready's own browser helper (src/browser.rs): a throwaway profile, no
background networking, every host unresolvable. The page records both times itself, on <html>:
`data-first-rows-ms` (ms since navigation started, once the first rows were painted) and
`data-search-ms` (ms from the input event to the paint that shows its result, for the query in
`data-searched`).

    python3 bench/dashboard.py REPORT.html [--query TEXT]...
"""

import argparse
import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

NAMES = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"]

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--disable-default-apps", "--disable-domain-reliability",
    "--disable-breakpad", "--no-first-run", "--no-default-browser-check", "--no-pings",
    "--hide-scrollbars", "--mute-audio", "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
    "--disable-features=OptimizationHints,MediaRouter,Translate,AutofillServerCommunication,"
    "CertificateTransparencyComponentUpdater",
]


def find_chromium():
    """`SCREADY_CHROMIUM`, else the first Chromium or Chrome on PATH (as src/browser.rs)."""
    named = os.environ.get("SCREADY_CHROMIUM")
    if named:
        return named if os.path.isfile(named) else None
    for n in NAMES:
        p = shutil.which(n)
        if p:
            return p
    return "/usr/bin/chromium" if os.path.isfile("/usr/bin/chromium") else None


class Browser:
    """A headless Chromium spoken to over the DevTools pipe (fd 3 in, fd 4 out, NUL-separated
    JSON messages)."""

    def __init__(self, chromium, width=1400, height=1000):
        self.profile = tempfile.mkdtemp(prefix="scready-bench-chromium-")
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        # Out of the way of fds 3 and 4, which the child gets them as.
        child_in = fcntl.fcntl(to_child_r, fcntl.F_DUPFD_CLOEXEC, 10)
        child_out = fcntl.fcntl(from_child_w, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(to_child_r)
        os.close(from_child_w)

        def wire():
            os.dup2(child_in, 3)
            os.dup2(child_out, 4)

        self.proc = subprocess.Popen(
            [chromium] + FLAGS + [f"--window-size={width},{height}",
                                  f"--user-data-dir={self.profile}",
                                  "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=wire, pass_fds=(), close_fds=False,
            env=dict(os.environ, HOME=self.profile))
        os.close(child_in)
        os.close(child_out)
        self.w, self.r = to_child_w, from_child_r
        self.buf = b""
        self.next_id = 0
        self.session = None

    def send(self, method, params=None, session=True, timeout=300):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self.w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self.receive(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def receive(self, deadline):
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("Chromium did not answer in time")
            ready, _, _ = select.select([self.r], [], [], left)
            if ready:
                chunk = os.read(self.r, 1 << 20)
                if not chunk:
                    raise RuntimeError("Chromium closed the DevTools pipe")
                self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def open_page(self):
        target = self.send("Target.createTarget", {"url": "about:blank"}, session=False)
        attached = self.send("Target.attachToTarget",
                             {"targetId": target["targetId"], "flatten": True}, session=False)
        self.session = attached["sessionId"]
        self.send("Page.enable")
        self.send("Emulation.setFocusEmulationEnabled", {"enabled": True})

    def evaluate(self, expression):
        r = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        return r.get("result", {}).get("value")

    def wait_for(self, expression, timeout):
        """Polls `expression` until it is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            v = self.evaluate(expression)
            if v:
                return v
            time.sleep(0.02)
        raise TimeoutError(f"{expression} stayed false for {timeout} s")

    def close(self):
        try:
            self.send("Browser.close", session=False, timeout=10)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.w)
        os.close(self.r)
        shutil.rmtree(self.profile, ignore_errors=True)


def attr(name):
    return f"document.documentElement.getAttribute('{name}')"


def measure(html, queries, timeout=180, chromium=None, cpu_slowdown=1):
    """Loads `html`, waits for its first rows, then types each query into the search box.
    Returns the page's own timings, the Python-side wall times and the counts shown.
    `cpu_slowdown` > 1 runs the page on a CPU that many times slower (DevTools' CPU
    throttling), the stand-in for a slow laptop."""
    chromium = chromium or find_chromium()
    if not chromium:
        raise RuntimeError("no Chromium found (install the chromium package or set SCREADY_CHROMIUM)")
    url = "file://" + urllib.parse.quote(os.path.abspath(html))
    b = Browser(chromium)
    try:
        b.open_page()
        if cpu_slowdown > 1:
            b.send("Emulation.setCPUThrottlingRate", {"rate": cpu_slowdown})
        started = time.monotonic()
        b.send("Page.navigate", {"url": url})
        first_rows = float(b.wait_for(attr("data-first-rows-ms"), timeout))
        result = {
            "file": html,
            "bytes": os.path.getsize(html),
            "cpu_slowdown": cpu_slowdown,
            "first_rows_ms": first_rows,
            "first_rows_wall_ms": (time.monotonic() - started) * 1000,
            "rows_in_dom": b.evaluate("document.querySelectorAll('#instances tr.inst').length"),
            "total": int(b.evaluate("document.getElementById('instances').getAttribute('data-total')")),
            "heap_mb": (b.evaluate("performance.memory ? performance.memory.usedJSHeapSize : 0") or 0) / 2**20,
            "searches": [],
        }
        for q in queries:
            b.evaluate("(function(){var q=document.getElementById('f-q');q.value='';"
                       "q.dispatchEvent(new Event('input'));q.focus();return true;})()")
            b.wait_for(f"{attr('data-searched')} === ''", timeout)
            t0 = time.monotonic()
            b.send("Input.insertText", {"text": q})
            b.wait_for(f"{attr('data-searched')} === {json.dumps(q)}", timeout)
            wall = (time.monotonic() - t0) * 1000
            result["searches"].append({
                "query": q,
                "search_ms": float(b.evaluate(attr("data-search-ms"))),
                "search_wall_ms": wall,
                "shown": int(b.evaluate("document.getElementById('instances').getAttribute('data-shown')")),
                "rows_in_dom": b.evaluate("document.querySelectorAll('#instances tr.inst').length"),
            })
        return result
    finally:
        b.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("html")
    ap.add_argument("--query", action="append", default=[])
    ap.add_argument("--timeout", type=float, default=180)
    ap.add_argument("--cpu-slowdown", type=float, default=1,
                    help="DevTools CPU throttling rate (4: a CPU four times slower)")
    args = ap.parse_args()
    print(json.dumps(measure(args.html, args.query, args.timeout,
                             cpu_slowdown=args.cpu_slowdown), indent=2))


if __name__ == "__main__":
    sys.exit(main())
