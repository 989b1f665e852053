-- A payout reaches one outcome. Its status leaves in_transit once, to paid or failed, and never
-- changes again: a late or duplicated rail report for the other outcome aborts its whole batch,
-- posting included, so a failed payout cannot also be paid (or the reverse).
CREATE TRIGGER payouts_single_outcome BEFORE UPDATE OF status ON payouts
WHEN OLD.status <> 'in_transit' OR NEW.status NOT IN ('paid', 'failed')
BEGIN SELECT RAISE(ABORT, 'payout_not_in_transit'); END;
