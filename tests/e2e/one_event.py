"""Sends one exception with the real Python sentry-sdk and prints its event id.

Usage: python3 one_event.py DSN
"""
import sys

import sentry_sdk

sent = []


def keep_id(event, hint):
    sent.append(event["event_id"])
    return event


sentry_sdk.init(dsn=sys.argv[1], before_send=keep_id, shutdown_timeout=10)


def checkout():
    raise RuntimeError("a good event during an attack")


try:
    checkout()
except RuntimeError:
    sentry_sdk.capture_exception()
sentry_sdk.flush(timeout=10)
print(sent[0])
