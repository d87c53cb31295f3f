#!/usr/bin/env python3
"""Captures the CSP violation reports headless Chromium posts, as tests/fixtures/sdk captures.

    scripts/capture_csp.py tests/fixtures/sdk/browser-csp

Serves, on 127.0.0.1 only, a page whose inline script violates its own policy
`script-src 'self'; report-uri http://127.0.0.1:PORT/api/1/security/?sentry_key=publickey`,
plus one page that loads a script from another origin, opens each in Debian's chromium and
saves every request posted to the report URI (method, path, query, headers, body).
"""

import base64
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHROMIUM = "/usr/bin/chromium"
captured = []
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def policy(self, extra=""):
        port = self.server.server_address[1]
        report = f"http://127.0.0.1:{port}/api/1/security/?sentry_key=publickey&sentry_environment=capture"
        return f"script-src 'self'{extra}; report-uri {report}"

    def do_GET(self):
        path = urllib.parse.urlsplit(self.path).path
        if path == "/inline.html":
            body = b"<!doctype html><title>inline</title><p>inline</p><script>document.title = 'ran';</script>"
            csp = self.policy()
        elif path == "/external.html":
            # localhost is another host than 127.0.0.1 for the policy: the script is blocked.
            port = self.server.server_address[1]
            body = f'<!doctype html><title>external</title><script src="http://localhost:{port}/evil.js"></script>'.encode()
            csp = self.policy()
        elif path == "/evil.js":
            body, csp = b"window.evil = 1;", None
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html" if path.endswith(".html") else "text/javascript")
        if csp:
            self.send_header("Content-Security-Policy", csp)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        split = urllib.parse.urlsplit(self.path)
        with lock:
            captured.append(
                {
                    "method": "POST",
                    "path": split.path,
                    "query": split.query,
                    "query_parsed": urllib.parse.parse_qs(split.query),
                    "http_version": self.request_version,
                    "headers": [[k, v] for k, v in self.headers.items()],
                    "body_framing": "content-length",
                    "body_len": len(body),
                    "content_encoding": None,
                    "decode_error": None,
                    "decoded_len": len(body),
                    "body_text_if_utf8_after_decompression": body.decode("utf-8", "replace"),
                    "body_b64": base64.b64encode(body).decode(),
                }
            )
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


def open_page(url):
    with tempfile.TemporaryDirectory() as profile:
        browser = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", "--remote-debugging-port=0", url],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        before = len(captured)
        deadline = time.time() + 20
        while time.time() < deadline and len(captured) == before:
            time.sleep(0.2)
        time.sleep(1)
        browser.terminate()
        browser.wait()


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    names = []
    for page in ["inline", "external"]:
        before = len(captured)
        open_page(f"http://127.0.0.1:{port}/{page}.html")
        names += [page] * (len(captured) - before)
    server.shutdown()
    for i, (name, capture) in enumerate(zip(names, captured), 1):
        path = os.path.join(out, f"{i:02d}-security-csp_{name}.json")
        with open(path, "w") as f:
            json.dump(capture, f, indent=2)
        print(path, capture["body_text_if_utf8_after_decompression"])


if __name__ == "__main__":
    main()
