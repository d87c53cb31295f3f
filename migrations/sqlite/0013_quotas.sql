-- Quotas as Sentry has them: a rate limit per DSN key (N events per window of seconds, like
-- Sentry's key rate limits), and per project a daily event cap and a cap on stored attachment
-- bytes. NULL: no limit.
ALTER TABLE project_keys ADD COLUMN rate_limit_count INTEGER;
ALTER TABLE project_keys ADD COLUMN rate_limit_window INTEGER;
ALTER TABLE projects ADD COLUMN daily_event_cap INTEGER;
ALTER TABLE projects ADD COLUMN attachment_bytes_cap INTEGER;
