-- Alerts can also be POSTed as JSON to a URL per project (chat tools); each delivery is a row
-- of alert_log of its own (channel 'webhook', recipients = the URL, body_text = the JSON).
ALTER TABLE alert_settings ADD COLUMN webhook_url TEXT;
ALTER TABLE alert_log ADD COLUMN channel TEXT NOT NULL DEFAULT 'email';
