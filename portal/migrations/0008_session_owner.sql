-- Whose session each is (the login name, lower case), so that a password change ends the
-- person's other sessions. Sessions opened before this migration have none and end when
-- they expire.
ALTER TABLE sessions ADD COLUMN username TEXT;
CREATE INDEX sessions_username ON sessions (username);
