"""A small W3C WebDriver client (http.client only) for Debian's chromium + chromium-driver:
enough to drive the store's web page in a headless browser (not a test module)."""

import http.client
import json
import shutil
import socket
import subprocess
import tempfile
import time

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# Headless, and nothing that reaches the network on its own.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage"]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Browser:
    def __init__(self):
        for path in (CHROMIUM, CHROMEDRIVER):
            if not shutil.which(path):
                raise AssertionError("%s is missing: run `bash scripts/deps.sh test` (chromium, "
                                     "chromium-driver)" % path)
        self.profile = tempfile.mkdtemp(prefix="store-browser-")
        self.port = _free_port()
        self.driver = subprocess.Popen([CHROMEDRIVER, "--port=%d" % self.port],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while True:
            try:
                self._call("GET", "/status")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": CHROMIUM, "args": FLAGS + ["--user-data-dir=" + self.profile]}}}}
        self.session = self._call("POST", "/session", caps)["sessionId"]

    def _call(self, method, path, body=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        c.request(method, path, body=json.dumps(body) if body is not None else None,
                  headers={"Content-Type": "application/json"})
        doc = json.loads(c.getresponse().read() or b"{}")
        value = doc.get("value")
        if isinstance(value, dict) and value.get("error"):
            raise AssertionError("webdriver: %s: %s" % (value["error"], value.get("message", "")[:500]))
        return value if "sessionId" not in doc else doc

    def _s(self, method, path, body=None):
        return self._call(method, "/session/%s%s" % (self.session, path), body)

    def get(self, url):
        self._s("POST", "/url", {"url": url})

    def find_all(self, css):
        return [e[ELEMENT] for e in self._s("POST", "/elements", {"using": "css selector", "value": css})]

    def find(self, css):
        return self._s("POST", "/element", {"using": "css selector", "value": css})[ELEMENT]

    def type(self, css, text):
        self._s("POST", "/element/%s/value" % self.find(css), {"text": text})

    def click(self, css):
        self._s("POST", "/element/%s/click" % self.find(css), {})

    def text(self, css):
        return self._s("GET", "/element/%s/text" % self.find(css))

    def wait_text(self, css, words, timeout=20):
        deadline = time.monotonic() + timeout
        while True:
            try:
                t = self.text(css)
                if words in t:
                    return t
            except AssertionError:
                t = "<no element>"
            if time.monotonic() > deadline:
                raise AssertionError("%r never showed %r (last: %r)" % (css, words, t))
            time.sleep(0.1)

    def quit(self):
        try:
            self._s("DELETE", "")
        finally:
            self.driver.terminate()
            self.driver.wait(10)
            shutil.rmtree(self.profile, ignore_errors=True)
