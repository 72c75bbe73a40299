-- When ducat answered an inflow's notification `returned`, the bank sent the money back to the
-- sender: the return's time, on the statement as a line out under the inflow's session id.
ALTER TABLE inflows ADD COLUMN returned_at BIGINT;
