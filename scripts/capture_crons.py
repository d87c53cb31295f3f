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

import json
import os
import sys

# The shared Relay stand-in, naming and INDEX.md code. The script is run as
# scripts/capture_crons.py, so sys.path[0] is the scripts folder and a plain import finds it.
import capture_common

SENTRY_CLI = os.path.join("tests", "e2e", "node_modules", ".bin", "sentry-cli")
CURL = "curl"
# The cron check-in endpoints, answered 202; with the key as their last segment in the second form.
CRON_PATH = r"/api/\d+/cron/[^/]+/(?:[^/]+/)?"
CRON_PATH_WITH_KEY = r"/api/\d+/cron/[^/]+/[^/]+/"


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


def capture_name(label, capture):
    """`envelope-<types>-<label>_<check-in statuses>` or `cron-<method>-<status>`."""
    if "envelope" not in capture:
        return cron_name(label, capture)
    statuses = [i["payload_json"]["status"] for i in capture["envelope"]["items"]
                if i["headers"].get("type") == "check_in" and isinstance(i.get("payload_json"), dict)]
    return capture_common.envelope_name(label, capture, statuses)


def cron_name(label, capture):
    if capture["method"] == "POST":
        return "cron-post-json"
    status = capture["query_parsed"].get("status", ["none"])[0]
    return f"cron-{capture['method'].lower()}-{status}"


def python_crons(base, env, cwd):
    dsn = f"http://publickey@127.0.0.1:{base}/1"
    out = []
    for case in ["decorator", "decorator_raises", "context_manager", "capture_checkin"]:
        out += capture_common.run(case, [sys.executable, "-c", PYTHON_DRIVER, dsn, case], env, cwd)
    return out


def sentry_cli_crons(base, env, cwd):
    cli = os.path.abspath(SENTRY_CLI)
    env = dict(env, SENTRY_DSN=f"http://publickey@127.0.0.1:{base}/1", SENTRY_LOG_LEVEL="warn",
               SENTRY_DISABLE_UPDATE_CHECK="true", SENTRY_LOAD_DOTENV="0")
    ok = [cli, "monitors", "run", "-e", "capture", "--schedule", "*/10 * * * *",
          "--check-in-margin", "5", "--max-runtime", "15", "--timezone", "Europe/Vienna",
          "backup-db", "--", "true"]
    failing = [cli, "monitors", "run", "-e", "capture", "backup-db", "--", "false"]
    return (capture_common.run("run_true", ok, env, cwd)
            + capture_common.run("run_false", failing, env, cwd, expect_fail=True))


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
        out += capture_common.run("curl", argv, env, cwd)
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


def describe_check_in(capture):
    """INDEX.md's items column for an HTTP check-in (not an envelope)."""
    if capture["method"] == "GET":
        return f"cron check-in by query: {capture['query']}"
    return "cron check-in JSON body"


if __name__ == "__main__":
    capture_common.main(GROUPS, capture_name, accepted=[CRON_PATH], path_auth=CRON_PATH_WITH_KEY,
                        describe_other=describe_check_in)
