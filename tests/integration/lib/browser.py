#!/usr/bin/env python3
"""Opens one page in Debian's headless Chromium, through chromedriver
(WebDriver over HTTP on 127.0.0.1), the way a person's browser would show
it, and prints one JSON object: the page's rendered text (innerText) and
what ran or was loaded (script elements, a marker a hostile script would
set, elements with on* handlers, images, embedded frames).

    browser.py FILE.html [--screenshot OUT.png] [--size WxH]

One page load, one read-out (and the screenshot when asked). The browser
runs with a fresh profile and every network feature off; the machine has
no internet and the page needs none. Waiting is by polling chromedriver's
/status, with a deadline, never a fixed sleep.
"""
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
DRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")

READ_OUT = """
const all = Array.from(document.querySelectorAll('*'));
return {
  text: document.body ? document.body.innerText : '',
  title: document.title,
  scripts: document.scripts.length,
  pwned: window.__pwned === true ||
      document.documentElement.hasAttribute('data-pwned'),
  handlers: all.filter(e => Array.from(e.attributes).some(
      a => a.name.toLowerCase().startsWith('on'))).length,
  images: document.images.length,
  frames: document.querySelectorAll('iframe,frame,object,embed').length,
  external: document.querySelectorAll('link[href],[src]').length,
};
"""


def call(base, method, path, body=None, timeout=60):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read().decode())["value"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    args = sys.argv[1:]
    page = os.path.abspath(args[0])
    shot = args[args.index("--screenshot") + 1] if "--screenshot" in args else None
    size = args[args.index("--size") + 1] if "--size" in args else "1280,900"
    profile = tempfile.mkdtemp(prefix="texp-chromium.")
    port = free_port()
    base = "http://127.0.0.1:%d" % port
    log = open(os.path.join(profile, "chromedriver.log"), "w")
    drv = subprocess.Popen([DRIVER, "--port=%d" % port, "--allowed-ips=127.0.0.1"],
                           stdout=log, stderr=subprocess.STDOUT)
    session = None
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if call(base, "GET", "/status", timeout=5).get("ready"):
                    break
            except OSError:
                pass
            if drv.poll() is not None or time.monotonic() > deadline:
                sys.exit("browser.py: chromedriver did not start")
            time.sleep(0.05)
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": [
                "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-quic", "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--user-data-dir=" + os.path.join(profile, "profile"),
                "--window-size=" + size.replace("x", ",")]}}}}
        session = call(base, "POST", "/session", caps)["sessionId"]
        s = "/session/" + session
        call(base, "POST", s + "/url", {"url": "file://" + page})
        out = call(base, "POST", s + "/execute/sync",
                   {"script": READ_OUT, "args": []})
        if shot:
            png = base64.b64decode(call(base, "GET", s + "/screenshot"))
            with open(shot, "wb") as f:
                f.write(png)
        json.dump(out, sys.stdout)
        sys.stdout.write("\n")
    finally:
        if session:
            try:
                call(base, "DELETE", "/session/" + session, timeout=30)
            except OSError:
                pass
        drv.terminate()
        try:
            drv.wait(timeout=30)
        except subprocess.TimeoutExpired:
            drv.kill()
            drv.wait()
        log.close()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main()
