-- Leases of work that one node at a time may do (as migrations/sqlite/0017_leases.sql).
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);
