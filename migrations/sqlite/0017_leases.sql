-- Leases of work that one node at a time may do (Snag's periodic jobs: alerts, deliveries,
-- retention, roll-ups). A node holds a lease until `expires_at` (unix ms) and renews it as it
-- works; when it stops renewing (it died), another node takes the lease once it expired.
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,      -- the holding node's id (random, per start)
    expires_at  INTEGER NOT NULL
) WITHOUT ROWID;
