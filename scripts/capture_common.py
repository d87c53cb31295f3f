"""What the scripts/capture_*.py fixture capturers share (standard library only).

A stand-in for Relay on 127.0.0.1 that records every request made to it (`Handler`), the envelope
summary the tests/fixtures/sdk captures hold, the INDEX.md lines, and a `main` that drives a
script's groups of clients and saves their captures. scripts/capture_crons.py and
scripts/capture_logs.py import it; what differs between them is passed in as parameters.
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
    """The Relay stand-in: records each request into `captured`; an envelope POST gets 200 `{}`,
    a path matching one of `accepted` (regular expressions) 202 with an empty body, the rest 404."""

    protocol_version = "HTTP/1.1"
    accepted = ()

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
        elif any(re.fullmatch(pattern, path) for pattern in self.accepted):
            self.answer(202)
        else:
            self.answer(404)

    do_GET = do_POST = handle_any


def run(label, argv, env, cwd, expect_fail=False):
    """Runs one client; returns [(label, capture)] for the requests it made."""
    before = len(captured)
    result = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=60)
    if (result.returncode != 0) != expect_fail:
        sys.exit(f"{label}: exit {result.returncode}\n{result.stdout}{result.stderr}")
    return [(label, c) for c in captured[before:]]


def envelope_name(label, capture, extra=()):
    """`envelope-<item types>-<label>[_<extra>...]`, without the number and `.json`."""
    types = "+".join(i["headers"].get("type", "?") for i in capture["envelope"]["items"])
    suffix = "_".join([label, *extra])
    return f"envelope-{types}-{suffix}"


def auth_kind(capture, path_auth=None):
    """How a request names its key; `path_auth` is a path pattern that carries the key."""
    kinds = []
    names = {k.lower() for k, _ in capture["headers"]}
    if "sentry_key" in capture["query_parsed"]:
        kinds.append("query")
    if path_auth and re.fullmatch(path_auth, capture["path"]):
        kinds.append("path")
    if "x-sentry-auth" in names:
        kinds.append("X-Sentry-Auth")
    env = capture.get("envelope") or {}
    if (env.get("header") or {}).get("dsn"):
        kinds.append("envelope-dsn")
    return "+".join(kinds) or "(none)"


def not_an_envelope(capture):
    return "not an envelope"


def index_line(name, capture, path_auth=None, describe_other=not_an_envelope):
    """One INDEX.md line, in the columns the index's header names; `describe_other` fills the
    items column for a request that is not an envelope."""
    headers = {k.lower(): v for k, v in capture["headers"]}
    text = capture["body_text_if_utf8_after_decompression"] or ""
    env = capture.get("envelope")
    if env is not None:
        items = ", ".join(f"{i['headers'].get('type', '?')}({'len' if i['framing'] == 'length' else 'nl'})"
                          for i in env["items"])
    else:
        items = describe_other(capture)
    client = re.search(r"sentry_client=([^,\s]+)", headers.get("x-sentry-auth", ""))
    client = client.group(1) if client else headers.get("user-agent", "(none)")
    return (f"- `{name}` | {capture['method']} {capture['path']} | "
            f"{auth_kind(capture, path_auth)} | {headers.get('content-type', '(none)')} | "
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


def main(groups, name, accepted=(), path_auth=None, describe_other=not_an_envelope, check=None,
         skip=None):
    """Drives each (group, drive, note) of `groups` against the stand-in and saves its captures
    as `<root>/<group>/NN-<name(label, capture)>.json` (root: argv[1], else tests/fixtures/sdk),
    replacing the group's old .json files, then rewrites the groups' INDEX.md sections.

    `accepted`: path patterns answered 202 (see Handler); `path_auth`, `describe_other`: see
    auth_kind and index_line; `check(where, capture)` exits on a capture that does not hold
    together, before anything of its group is written; `skip(group, drive)` returns why a group
    is skipped (its files and INDEX.md section are then left alone), or None.
    """
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join("tests", "fixtures", "sdk")
    handler = type("Handler", (Handler,), {"accepted": tuple(accepted)})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    sections = []
    with tempfile.TemporaryDirectory() as home:
        env = {"PATH": "/usr/bin:/bin", "HOME": home, "LANG": "C.UTF-8"}
        for group, drive, note in groups:
            reason = skip(group, drive) if skip else None
            if reason:
                print(f"{group}: skipped, {reason}", file=sys.stderr)
                continue
            saved = []
            for i, (label, capture) in enumerate(drive(port, env, home), 1):
                file_name = f"{i:02d}-{name(label, capture)}.json"
                if check:
                    check(f"{group}/{file_name}", capture)
                saved.append((file_name, capture))
            out = os.path.join(root, group)
            os.makedirs(out, exist_ok=True)
            for old in os.listdir(out):
                if old.endswith(".json"):
                    os.remove(os.path.join(out, old))
            lines = [note]
            for file_name, capture in saved:
                with open(os.path.join(out, file_name), "w") as f:
                    json.dump(capture, f, indent=1)
                lines.append(index_line(file_name, capture, path_auth, describe_other))
                print(os.path.join(out, file_name))
            sections.append((group, lines))
    server.shutdown()
    update_index(root, sections)
