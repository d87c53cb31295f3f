"""Sends N errors one after another with the real Python sentry-sdk, waiting for each to go
out, and prints the ids of those the SDK handed to its transport, in order, as JSON.

Usage: python3 rate_limited.py DSN N
"""
import json
import sys

import sentry_sdk

sent = []


def keep_id(event, hint):
    sent.append(event["event_id"])
    return event


sentry_sdk.init(dsn=sys.argv[1], before_send=keep_id, shutdown_timeout=10)

for n in range(int(sys.argv[2])):
    sentry_sdk.capture_message(f"quota test {n}", level="error")
    sentry_sdk.flush(timeout=10)
print(json.dumps(sent))
