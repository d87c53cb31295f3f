#!/usr/bin/env python3
"""Captures the cron check-ins real Sentry clients send, as tests/fixtures/sdk captures.

    scripts/capture_crons.py [tests/fixtures/sdk]

Serves, on 127.0.0.1 only, a stand-in for Relay (envelope POST -> 200 `{}`, `/api/<pid>/cron/...`
GET or POST -> 202 with an empty body), drives three clients against it and saves every request
they make, in order, into one group directory each:

* `python-crons`: the installed Python sentry-sdk (run in a subprocess) with `crons.monitor` as a
  decorator on a function that returns and one that raises, as a context manager, and
  `crons.capture_checkin`;
* `sentry-cli-crons`: tests/e2e/node_modules/.bin/sentry-cli `monitors run` wrapping `true`
  (with a schedule) and `false`;
* `http-crons`: curl making the HTTP check-ins Sentry's docs show for shell scripts.

Then it rewrites the three groups' sections of INDEX.md (other sections are left as they are).
Run it from the repository root; it needs python3 with sentry_sdk, node and curl.
"""

import base64
import gzip
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import urllib.parse
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SENTRY_CLI = os.path.join("tests", "e2e", "node_modules", ".bin", "sentry-cli")
CURL = "curl"
captured = []
lock = threading.Lock()


def read_chunked(rfile):
    body = b""
    while True:
        size = int(rfile.readline().split(b";")[0].strip(), 16)
        if size == 0:
            while rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return body
        body += rfile.read(size)
        rfile.readline()


def decode(body, encoding):
    """(decoded body, error) for a Content-Encoding."""
    try:
        if encoding in (None, "", "identity"):
            return body, None
        if encoding in ("gzip", "x-gzip"):
            return gzip.decompress(body), None
        if encoding == "deflate":
            try:
                return zlib.decompress(body), None
            except zlib.error:
                return zlib.decompress(body, -15), None
        if encoding == "br":
            import brotli  # not in the standard library; only needed for brotli bodies

            return brotli.decompress(body), None
        return body, f"unknown content-encoding {encoding}"
    except Exception as e:  # noqa: BLE001 - recorded in the capture
        return body, f"{type(e).__name__}: {e}"


def parse_envelope(data):
    """The envelope summary the existing captures hold: header, items, errors."""
    errors = []
    first, sep, rest = data.partition(b"\n")
    try:
        header = json.loads(first)
    except ValueError as e:
        return {"header": None, "items": [], "errors": [f"envelope header: {e}"]}
    items = []
    pos = 0 if sep else len(rest)
    while pos < len(rest):
        if rest[pos:pos + 1] == b"\n":  # blank line between items
            pos += 1
            continue
        end = rest.find(b"\n", pos)
        line = rest[pos:] if end < 0 else rest[pos:end]
        pos = len(rest) if end < 0 else end + 1
        try:
            headers = json.loads(line)
        except ValueError as e:
            errors.append(f"item header: {e}")
            break
        if "length" in headers:
            length = headers["length"]
            payload = rest[pos:pos + length]
            pos += length
            if rest[pos:pos + 1] == b"\n":
                pos += 1
            framing = "length"
        else:
            end = rest.find(b"\n", pos)
            payload = rest[pos:] if end < 0 else rest[pos:end]
            pos = len(rest) if end < 0 else end + 1
            framing = "newline"
        item = {"headers": headers, "payload_len": len(payload), "framing": framing}
        try:
            item["payload_json"] = json.loads(payload)
        except ValueError:
            try:
                item["payload_text"] = payload.decode("utf-8")
            except UnicodeDecodeError:
                item["payload_b64"] = base64.b64encode(payload).decode()
        items.append(item)
    return {"header": header, "items": items, "errors": errors}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def capture(self):
        headers = [[k, v] for k, v in self.headers.items()]
        chunked = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
        if chunked:
            body = read_chunked(self.rfile)
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        encoding = self.headers.get("Content-Encoding")
        decoded, error = decode(body, encoding)
        try:
            text = decoded.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        split = urllib.parse.urlsplit(self.path)
        record = {
            "method": self.command,
            "path": split.path,
            "query": split.query,
            "query_parsed": urllib.parse.parse_qs(split.query),
            "http_version": self.request_version,
            "headers": headers,
            "body_framing": "chunked" if chunked else "content-length",
            "body_len": len(body),
            "content_encoding": encoding,
            "decode_error": error,
            "decoded_len": len(decoded),
            "body_text_if_utf8_after_decompression": text,
        }
        if split.path.endswith("/envelope/"):
            record["envelope"] = parse_envelope(decoded)
        record["body_b64"] = base64.b64encode(body).decode()
        with lock:
            captured.append(record)
        return split.path

    def answer(self, status, body=b"", content_type=None):
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self):
        path = self.capture()
        if re.fullmatch(r"/api/\d+/envelope/", path) and self.command == "POST":
            self.answer(200, b"{}", "application/json")
        elif re.fullmatch(r"/api/\d+/cron/[^/]+/(?:[^/]+/)?", path):
            self.answer(202)
        else:
            self.answer(404)

    do_GET = do_POST = handle_any


# The Python SDK driver: `python3 -c PYTHON_DRIVER <dsn> <case>`.
PYTHON_DRIVER = r'''
import sys
import sentry_sdk
from sentry_sdk.crons import MonitorStatus, capture_checkin, monitor

# No auto-enabled integrations (flask, boto3, ... when installed): the SDK name stays
# sentry.python whatever else the machine has.
sentry_sdk.init(dsn=sys.argv[1], environment="capture", release="pyjobs@1.0.0",
                server_name="capture-host", auto_enabling_integrations=False)
NIGHTLY = {"schedule": {"type": "crontab", "value": "0 2 * * *"}, "timezone": "Europe/Vienna",
           "checkin_margin": 5, "max_runtime": 30, "failure_issue_threshold": 1,
           "recovery_threshold": 1}
case = sys.argv[2]
if case == "decorator":
    @monitor(monitor_slug="nightly-invoices", monitor_config=NIGHTLY)
    def invoices():
        return 42
    invoices()
elif case == "decorator_raises":
    @monitor(monitor_slug="nightly-invoices", monitor_config=NIGHTLY)
    def invoices():
        raise RuntimeError("invoice run failed")
    try:
        invoices()
    except RuntimeError:
        pass
elif case == "context_manager":
    with monitor(monitor_slug="hourly-sync",
                 monitor_config={"schedule": {"type": "interval", "value": 1, "unit": "hour"}}):
        pass
elif case == "capture_checkin":
    capture_checkin(monitor_slug="heartbeat", status=MonitorStatus.OK,
                    monitor_config={"schedule": {"type": "crontab", "value": "*/5 * * * *"}})
sentry_sdk.flush()
'''


def run(label, argv, env, cwd, expect_fail=False):
    """Runs one client; returns [(label, capture)] for the requests it made."""
    before = len(captured)
    result = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=60)
    if (result.returncode != 0) != expect_fail:
        sys.exit(f"{label}: exit {result.returncode}\n{result.stdout}{result.stderr}")
    return [(label, c) for c in captured[before:]]


def envelope_name(label, capture):
    items = capture["envelope"]["items"]
    types = "+".join(i["headers"].get("type", "?") for i in items)
    statuses = [i["payload_json"]["status"] for i in items
                if i["headers"].get("type") == "check_in" and isinstance(i.get("payload_json"), dict)]
    suffix = "_".join([label] + statuses)
    return f"envelope-{types}-{suffix}"


def cron_name(label, capture):
    if capture["method"] == "POST":
        return "cron-post-json"
    status = capture["query_parsed"].get("status", ["none"])[0]
    return f"cron-{capture['method'].lower()}-{status}"


def python_crons(base, env, cwd):
    dsn = f"http://publickey@127.0.0.1:{base}/1"
    out = []
    for case in ["decorator", "decorator_raises", "context_manager", "capture_checkin"]:
        out += run(case, [sys.executable, "-c", PYTHON_DRIVER, dsn, case], env, cwd)
    return out


def sentry_cli_crons(base, env, cwd):
    cli = os.path.abspath(SENTRY_CLI)
    env = dict(env, SENTRY_DSN=f"http://publickey@127.0.0.1:{base}/1", SENTRY_LOG_LEVEL="warn",
               SENTRY_DISABLE_UPDATE_CHECK="true", SENTRY_LOAD_DOTENV="0")
    ok = [cli, "monitors", "run", "-e", "capture", "--schedule", "*/10 * * * *",
          "--check-in-margin", "5", "--max-runtime", "15", "--timezone", "Europe/Vienna",
          "backup-db", "--", "true"]
    failing = [cli, "monitors", "run", "-e", "capture", "backup-db", "--", "false"]
    return run("run_true", ok, env, cwd) + run("run_false", failing, env, cwd, expect_fail=True)


def http_crons(base, env, cwd):
    root = f"http://127.0.0.1:{base}/api/1/cron/shell-backup"
    body = json.dumps({"monitor_config": {"schedule": {"type": "interval", "value": "2",
                                                       "unit": "hour"}, "checkin_margin": 5},
                       "status": "in_progress", "environment": "capture"})
    calls = [
        [CURL, "-sS", f"{root}/publickey/?status=in_progress"],
        [CURL, "-sS", f"{root}/publickey/?status=ok&duration=2.5"],
        [CURL, "-sS", "-X", "POST", f"{root}/publickey/",
         "--header", "Content-Type: application/json", "--data-raw", body],
        [CURL, "-sS", f"{root}/?status=error&environment=capture",
         "--header", "X-Sentry-Auth: Sentry sentry_key=publickey, sentry_version=7"],
    ]
    out = []
    for argv in calls:
        out += run("curl", argv, env, cwd)
    return out


GROUPS = [
    ("python-crons", python_crons,
     "Captured by `scripts/capture_crons.py` (the Python sentry-sdk's `crons.monitor` decorator "
     "and context manager and `crons.capture_checkin`)."),
    ("sentry-cli-crons", sentry_cli_crons,
     "Captured by `scripts/capture_crons.py` (`sentry-cli monitors run` wrapping `true` with a "
     "schedule, then `false`)."),
    ("http-crons", http_crons,
     "Captured by `scripts/capture_crons.py` (curl making the HTTP check-ins of Sentry's shell "
     "docs; not an SDK)."),
]


def auth_kind(capture):
    kinds = []
    names = {k.lower() for k, _ in capture["headers"]}
    if "sentry_key" in capture["query_parsed"]:
        kinds.append("query")
    if re.fullmatch(r"/api/\d+/cron/[^/]+/[^/]+/", capture["path"]):
        kinds.append("path")
    if "x-sentry-auth" in names:
        kinds.append("X-Sentry-Auth")
    env = capture.get("envelope") or {}
    if (env.get("header") or {}).get("dsn"):
        kinds.append("envelope-dsn")
    return "+".join(kinds) or "(none)"


def index_line(name, capture):
    """One INDEX.md line, in the columns the index's header names."""
    headers = {k.lower(): v for k, v in capture["headers"]}
    text = capture["body_text_if_utf8_after_decompression"] or ""
    env = capture.get("envelope")
    if env is not None:
        items = ", ".join(f"{i['headers'].get('type', '?')}({'len' if i['framing'] == 'length' else 'nl'})"
                          for i in env["items"])
    elif capture["method"] == "GET":
        items = f"cron check-in by query: {capture['query']}"
    else:
        items = "cron check-in JSON body"
    client = re.search(r"sentry_client=([^,\s]+)", headers.get("x-sentry-auth", ""))
    client = client.group(1) if client else headers.get("user-agent", "(none)")
    return (f"- `{name}` | {capture['method']} {capture['path']} | {auth_kind(capture)} | "
            f"{headers.get('content-type', '(none)')} | "
            f"{capture['content_encoding'] or 'identity'}/{capture['body_framing']} | "
            f"{capture['body_len']} ({capture['decoded_len']}) | "
            f"{'yes' if text.endswith(chr(10)) else 'no'} | {items} | {client}")


def update_index(root, sections):
    """Replaces (or appends) this script's sections of INDEX.md, leaving the others alone."""
    path = os.path.join(root, "INDEX.md")
    with open(path) as f:
        text = f.read()
    for group, lines in sections:
        block = f"## {group}\n" + "\n".join(lines) + "\n"
        pattern = re.compile(rf"^## {re.escape(group)}\n.*?(?=^## |\Z)", re.S | re.M)
        if pattern.search(text):
            text = pattern.sub(lambda _: block + "\n", text, count=1)
        else:
            text = text.rstrip("\n") + "\n\n" + block
    with open(path, "w") as f:
        f.write(text.rstrip("\n") + "\n")


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join("tests", "fixtures", "sdk")
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    sections = []
    with tempfile.TemporaryDirectory() as home:
        env = {"PATH": "/usr/bin:/bin", "HOME": home, "LANG": "C.UTF-8"}
        for group, drive, note in GROUPS:
            out = os.path.join(root, group)
            os.makedirs(out, exist_ok=True)
            for old in os.listdir(out):
                if old.endswith(".json"):
                    os.remove(os.path.join(out, old))
            lines = [note]
            for i, (label, capture) in enumerate(drive(port, env, home), 1):
                kind = envelope_name if "envelope" in capture else cron_name
                name = f"{i:02d}-{kind(label, capture)}.json"
                with open(os.path.join(out, name), "w") as f:
                    json.dump(capture, f, indent=1)
                lines.append(index_line(name, capture))
                print(os.path.join(out, name))
            sections.append((group, lines))
    server.shutdown()
    update_index(root, sections)


if __name__ == "__main__":
    main()
