-- Audit entries written from now on carry hash version 2, whose hash also covers the request id
-- (the form submission or payment behind the entry). Entries already written keep version 1 and
-- are verified as they were hashed.
ALTER TABLE audit_log ADD COLUMN hash_version INTEGER NOT NULL DEFAULT 1;
CREATE INDEX audit_log_action ON audit_log (action, seq);
