// Structured logs from the real @sentry/node (`enableLogs: true`): `Sentry.logger` at three
// levels with a template and attributes, then an error of the same trace. Prints the trace id.
//
//     node tests/e2e/node_logs.js DSN
"use strict";
const Sentry = require("@sentry/node");

Sentry.init({
  dsn: process.argv[2],
  enableLogs: true,
  environment: "production",
  release: "api@5.1",
  serverName: "api-1",
});
const order = 1001;
Sentry.logger.info(Sentry.logger.fmt`order ${order} received`);
Sentry.logger.warn("inventory low", { sku: "A-1", left: 3 });
Sentry.logger.error(Sentry.logger.fmt`charge for order ${order} declined`, { reason: "card_declined" });
Sentry.captureException(new Error("charge declined"));
const traceId = Sentry.getCurrentScope().getPropagationContext().traceId;
Sentry.flush(5000).then((ok) => {
  console.log(JSON.stringify({ trace_id: traceId }));
  process.exit(ok ? 0 : 1);
});
