"""Cron check-ins from the real Python sentry-sdk: a monitored job that succeeds, then one
that raises (its exception captured in the run's trace). Prints the error event's id and the
run's trace id as JSON.

    python3 tests/e2e/python_crons.py DSN
"""

import json
import sys

import sentry_sdk
from sentry_sdk.crons import monitor

sentry_sdk.init(
    dsn=sys.argv[1],
    environment="production",
    release="invoices@3.1",
    auto_enabling_integrations=False,
    default_integrations=False,
)

CONFIG = {
    "schedule": {"type": "crontab", "value": "0 2 * * *"},
    "timezone": "Europe/Vienna",
    "checkin_margin": 10,
    "max_runtime": 60,
    "failure_issue_threshold": 1,
    "recovery_threshold": 1,
}


@monitor(monitor_slug="nightly-invoices", monitor_config=CONFIG)
def nightly_invoices(fail):
    if fail:
        raise RuntimeError("the invoice run could not reach the ledger")
    return "done"


nightly_invoices(False)
sentry_sdk.flush()
event_id = None
try:
    nightly_invoices(True)
except RuntimeError as error:
    event_id = sentry_sdk.capture_exception(error)
trace_id = sentry_sdk.get_current_scope().get_trace_context().get("trace_id")
sentry_sdk.flush()
print(json.dumps({"event_id": event_id, "trace_id": trace_id}))
