"""Structured logs from the real Python sentry-sdk (`enable_logs=True`): `logging` records
at INFO and up, `sentry_sdk.logger` with a template, a hostile line, and an exception logged
with `log.exception` (the error event of the same trace). Prints the trace id and the error
event's id as JSON.

    python3 tests/e2e/python_logs.py DSN
"""

import json
import logging
import sys

import sentry_sdk

sentry_sdk.init(
    dsn=sys.argv[1],
    enable_logs=True,
    environment="production",
    release="shop@2.0",
    server_name="web-1",
    default_integrations=True,
    auto_enabling_integrations=False,
)

log = logging.getLogger("shop.checkout")
log.setLevel(logging.INFO)
log.debug("not sent: below INFO")
log.info("cart %s opened by %s", 7, "alice")
log.warning("payment slow: %(ms)d ms", {"ms": 1234})
sentry_sdk.logger.info("order {order_id} paid", order_id=42)
sentry_sdk.logger.warning(
    "<script>alert('body')</script> odd input",
    attributes={"<img src=x onerror=alert(1)>": "<b>bold</b>"},
)
try:
    {}["coupon"]
except KeyError:
    log.exception("checkout of order %d failed", 42)
scope = sentry_sdk.get_current_scope()
trace_id = scope.get_trace_context()["trace_id"]
event_id = sentry_sdk.last_event_id()
sentry_sdk.flush()
print(json.dumps({"trace_id": trace_id, "event_id": event_id}))
