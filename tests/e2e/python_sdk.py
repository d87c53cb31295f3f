"""Sends real events to Snag with the real Python sentry-sdk; prints their ids as JSON.

Usage: python3 python_sdk.py DSN
"""
import json
import logging
import sys

import sentry_sdk

events = {}


def keep_id(event, hint):
    events.setdefault("sent", []).append(event["event_id"])
    return event


sentry_sdk.init(
    dsn=sys.argv[1],
    release="e2e@1.0.0",
    environment="e2e",
    before_send=keep_id,
    send_default_pii=True,
)
sentry_sdk.set_user({"id": "user-42", "email": "ada@example.com"})
sentry_sdk.set_tag("suite", "python-e2e")


class DatabaseError(Exception):
    pass


def connect():
    raise ConnectionError("connection refused by db://primary:5432")


def load_user(user_id):
    try:
        connect()
    except ConnectionError as exc:
        raise DatabaseError(f"could not load user {user_id}") from exc


try:
    load_user(1234)
except DatabaseError:
    events["chained"] = sentry_sdk.capture_exception()


# One error raised from two call sites: the same site twice is one issue, the other site another.
def charge(order_id):
    raise ValueError(f"card declined for order {order_id}")


def checkout_web(order_id):
    charge(order_id)


def checkout_api(order_id):
    charge(order_id)


for name, checkout, order_id in [("web", checkout_web, 1), ("web", checkout_web, 2), ("api", checkout_api, 3)]:
    try:
        checkout(order_id)
    except ValueError:
        events.setdefault("declined_" + name, []).append(sentry_sdk.capture_exception())

events["message"] = sentry_sdk.capture_message("e2e message from python", level="warning")

# The logging integration turns error records into events, keeping the template.
logging.getLogger("e2e.orders").error("Failed to process order %s for %s", 1001, "bob")

sentry_sdk.flush(timeout=10)
print(json.dumps(events))
