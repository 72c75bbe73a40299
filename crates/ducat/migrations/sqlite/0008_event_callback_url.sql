-- A Beqelal request's callback_url overrides the portal's webhook URL for the events of that
-- transaction; the event keeps it, so delivery needs nothing else.
ALTER TABLE events ADD COLUMN callback_url TEXT;
