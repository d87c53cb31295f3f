#!/usr/bin/env python3
"""Captures the `log` envelopes real Sentry SDKs send, as tests/fixtures/sdk captures.

    scripts/capture_logs.py [tests/fixtures/sdk]

Serves, on 127.0.0.1 only, a stand-in for Relay (envelope POST -> 200 `{}`), drives two SDKs
against it and saves every request they make (log envelopes, and the events and client reports
that come with them), in order, into one group directory each:

* `python-logs`: the installed Python sentry-sdk (run in a subprocess per case, `enable_logs=True`):
  `logging` records at INFO and WARNING, `sentry_sdk.logger` with `{name}` parameters, an ERROR
  record with `exc_info` plus `capture_exception` of the same exception, and a burst of 150
  `logging` lines (how the SDK batches them: the 100th line wakes its flusher thread, which sends
  the whole buffer; so far always one envelope of 150, the loop outrunning that thread);
* `node-logs`: the @sentry/node installed in tests/e2e/node_modules (a dependency of
  @sentry/mcp-server there) with `enableLogs: true`: `Sentry.logger.fmt`, attributes, an error
  line. Skipped, and its INDEX.md section left alone, when that package is not installed.

Each `log` item is checked (`item_count` = number of lines, `length` = payload size) before it is
saved. Then it rewrites these groups' sections of INDEX.md (other sections are left as they are).
Run it from the repository root; it needs python3 with sentry_sdk, and node.
"""

import base64
import os
import sys

# The shared Relay stand-in, naming and INDEX.md code. The script is run as
# scripts/capture_logs.py, so sys.path[0] is the scripts folder and a plain import finds it.
import capture_common

SENTRY_NODE = os.path.join("tests", "e2e", "node_modules", "@sentry", "node")


# The Python SDK driver: `python3 -c PYTHON_DRIVER <dsn> <case>`.
PYTHON_DRIVER = r"""
import logging
import sys
import sentry_sdk

# No auto-enabled integrations (flask, boto3, ... when installed): the SDK name stays
# sentry.python whatever else the machine has. `enable_logs` is the top-level option since 2.35.
sentry_sdk.init(dsn=sys.argv[1], environment="capture", release="pylogs@1.0.0",
                server_name="capture-host", auto_enabling_integrations=False, enable_logs=True)
log = logging.getLogger("shop.orders")
log.setLevel(logging.INFO)  # the root logger's WARNING would stop INFO before any handler
case = sys.argv[2]
if case == "logging_levels":
    log.info("order %s created for %s", 42, "alice")
    log.warning("stock low for SKU A-1")
elif case == "sentry_logger":
    sentry_sdk.logger.info("order {order_id} paid", order_id=42)
    sentry_sdk.logger.error("payment {payment_id} failed: {reason}", payment_id="pay_7",
                            reason="card declined")
elif case == "exc_info":
    # In a function: the event's frame variables are then these, not the module's globals.
    def charge(order_id):
        try:
            return order_id / 0
        except ZeroDivisionError as e:
            log.error("order %d failed", order_id, exc_info=True)
            sentry_sdk.capture_exception(e)
    charge(42)
elif case == "burst":
    for i in range(150):
        log.info("burst line %d", i)
sentry_sdk.flush()
"""

# The Node SDK driver: `node -e NODE_DRIVER <@sentry/node directory> <dsn>`.
NODE_DRIVER = r"""
const Sentry = require(process.argv[1]);
Sentry.init({dsn: process.argv[2], enableLogs: true, environment: "capture",
             release: "nodelogs@1.0.0", serverName: "capture-host"});
const id = 1001;
Sentry.logger.info(Sentry.logger.fmt`order ${id} paid`);
Sentry.logger.warn("low stock", {sku: "A-1", left: 3});
Sentry.logger.error(Sentry.logger.fmt`payment for order ${id} failed`, {reason: "card declined"});
Sentry.flush(5000).then((ok) => process.exit(ok ? 0 : 1));
"""


def envelope_name(label, capture):
    if "envelope" not in capture:  # not expected; check() then stops the run
        return f"{capture['method'].lower()}-{label}"
    return capture_common.envelope_name(label, capture)


def check(name, capture):
    """Exits if a capture does not hold together: body length, decoding, log item counts."""
    problems = []
    body = base64.b64decode(capture["body_b64"])
    if len(body) != capture["body_len"]:
        problems.append(f"body_len {capture['body_len']} but {len(body)} bytes saved")
    if capture["decode_error"] or capture["body_text_if_utf8_after_decompression"] is None:
        problems.append(f"body not decoded: {capture['decode_error']}")
    elif len(capture["body_text_if_utf8_after_decompression"].encode()) != capture["decoded_len"]:
        problems.append("decoded text and decoded_len differ")
    env = capture.get("envelope")
    if env is None or env["errors"]:
        problems.append(f"envelope: {env and env['errors']}")
    for item in (env or {}).get("items", []):
        headers = item["headers"]
        if "length" in headers and headers["length"] != item["payload_len"]:
            problems.append(f"{headers.get('type')}: length {headers['length']} but "
                            f"{item['payload_len']} bytes")
        if headers.get("type") == "log":
            lines = (item.get("payload_json") or {}).get("items")
            if not isinstance(lines, list) or headers.get("item_count") != len(lines):
                problems.append(f"log: item_count {headers.get('item_count')} but "
                                f"{len(lines) if isinstance(lines, list) else 'no'} items")
    if problems:
        sys.exit(f"{name}: " + "; ".join(problems))


def python_logs(base, env, cwd):
    dsn = f"http://publickey@127.0.0.1:{base}/1"
    out = []
    for case in ["logging_levels", "sentry_logger", "exc_info", "burst"]:
        # From the file-system root: a frame's abs_path is then `/<string>`, not a temporary
        # directory's.
        argv = [sys.executable, "-c", PYTHON_DRIVER, dsn, case]
        out += capture_common.run(case, argv, env, os.sep)
    return out


def node_logs(base, env, cwd):
    dsn = f"http://publickey@127.0.0.1:{base}/1"
    argv = ["node", "-e", NODE_DRIVER, os.path.abspath(SENTRY_NODE), dsn]
    return capture_common.run("logger", argv, env, cwd)


GROUPS = [
    ("python-logs", python_logs,
     "Captured by `scripts/capture_logs.py` (the Python sentry-sdk with `enable_logs=True`: "
     "`logging` at INFO and WARNING, `sentry_sdk.logger` with parameters, an ERROR record with "
     "`exc_info` plus `capture_exception`, a burst of 150 `logging` lines)."),
    ("node-logs", node_logs,
     "Captured by `scripts/capture_logs.py` (@sentry/node with `enableLogs: true`: "
     "`Sentry.logger.fmt`, a line with attributes, an error line)."),
]


def skip(group, drive):
    """Why a group is not captured this time, or None."""
    if drive is node_logs and not os.path.isfile(os.path.join(SENTRY_NODE, "package.json")):
        return f"{SENTRY_NODE} is not installed"
    return None


if __name__ == "__main__":
    capture_common.main(GROUPS, envelope_name, check=check, skip=skip)
