-- Beqelal withdrawals ride on the payout machinery (api_version 'withdraw'): what Beqelal
-- shows of them that a Duplo payout does not have.
ALTER TABLE payouts DROP CONSTRAINT payouts_api_version_check;
ALTER TABLE payouts ADD CONSTRAINT payouts_api_version_check CHECK (api_version IN ('v1', 'v2', 'withdraw'));
ALTER TABLE payouts ADD COLUMN base_fee BIGINT;
ALTER TABLE payouts ADD COLUMN callback_url TEXT;
ALTER TABLE payouts ADD COLUMN trace_number TEXT;
