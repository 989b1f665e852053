-- The ledger's rules, enforced by the database itself (DESIGN.md, Money).

-- Append-only: nothing edits or deletes a transaction or an entry; a mistake is reversed by a new one.
CREATE TRIGGER ledger_transactions_no_update BEFORE UPDATE ON ledger_transactions
BEGIN SELECT RAISE(ABORT, 'ledger_append_only: ledger_transactions cannot be updated'); END;
--> statement-breakpoint
CREATE TRIGGER ledger_transactions_no_delete BEFORE DELETE ON ledger_transactions
BEGIN SELECT RAISE(ABORT, 'ledger_append_only: ledger_transactions cannot be deleted'); END;
--> statement-breakpoint
CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'ledger_append_only: ledger_entries cannot be updated'); END;
--> statement-breakpoint
CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'ledger_append_only: ledger_entries cannot be deleted'); END;
--> statement-breakpoint
CREATE TRIGGER ledger_posting_checks_no_change BEFORE UPDATE ON ledger_posting_checks
BEGIN SELECT RAISE(ABORT, 'ledger_append_only: ledger_posting_checks cannot be updated'); END;
--> statement-breakpoint
CREATE TRIGGER ledger_posting_checks_no_delete BEFORE DELETE ON ledger_posting_checks
BEGIN SELECT RAISE(ABORT, 'ledger_append_only: ledger_posting_checks cannot be deleted'); END;
--> statement-breakpoint

-- Each entry moves its account's cached balance (natural sign: + on the account's normal side),
-- in the same statement, so the cache cannot drift from the entries. An entry that enforces the
-- floor aborts the whole batch if it leaves a guarded account below its floor: two postings racing
-- for one balance are serialised by D1, and the second one finds the first one's balance.
CREATE TRIGGER ledger_entries_apply AFTER INSERT ON ledger_entries
BEGIN
  UPDATE ledger_accounts
     SET balance = balance + (CASE normal_side WHEN 'debit' THEN NEW.amount ELSE -NEW.amount END),
         version = version + 1
   WHERE id = NEW.account_id;
  SELECT RAISE(ABORT, 'ledger_floor_breached')
   WHERE NEW.enforce_floor = 1
     AND EXISTS (SELECT 1 FROM ledger_accounts
                  WHERE id = NEW.account_id AND floor IS NOT NULL AND balance < floor);
END;
--> statement-breakpoint

-- Direct writes to the cached balance are refused; only the entry trigger (which also bumps the
-- version) may change it.
CREATE TRIGGER ledger_accounts_balance_guard BEFORE UPDATE OF balance ON ledger_accounts
WHEN NEW.version <> OLD.version + 1
BEGIN SELECT RAISE(ABORT, 'ledger_append_only: balances change only through entries'); END;
--> statement-breakpoint

-- The closing row of a posting: its transaction must exist, have at least two entries, and
-- balance to zero, or the whole batch is refused.
CREATE TRIGGER ledger_posting_checks_balanced BEFORE INSERT ON ledger_posting_checks
BEGIN
  SELECT RAISE(ABORT, 'ledger_unbalanced')
   WHERE NOT EXISTS (SELECT 1 FROM ledger_transactions WHERE id = NEW.transaction_id)
      OR (SELECT count(*) FROM ledger_entries WHERE transaction_id = NEW.transaction_id) < 2
      OR (SELECT sum(amount) FROM ledger_entries WHERE transaction_id = NEW.transaction_id) <> 0;
END;
--> statement-breakpoint

-- Seeds: São Paulo commission and the settlement settings (changed later through admin routes).
INSERT INTO commission_rules (id, city_id, category, rate_bp, min_cents, max_cents, effective_from, created_at)
VALUES
  ('com_sp_pop_2026', 'sao_paulo', 'pop', 2000, 100, NULL, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'),
  ('com_sp_comfort_2026', 'sao_paulo', 'comfort', 2500, 150, NULL, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z');
--> statement-breakpoint
INSERT INTO settlement_config (id, delay_business_days, holidays, min_payout_cents, payout_fee_cents, credit_floor_cents, updated_at)
VALUES (1, 2, '["2026-01-01","2026-02-16","2026-02-17","2026-04-03","2026-04-21","2026-05-01","2026-06-04","2026-09-07","2026-10-12","2026-11-02","2026-11-15","2026-11-20","2026-12-25","2027-01-01","2027-02-08","2027-02-09","2027-03-26","2027-04-21","2027-05-01","2027-05-27","2027-09-07","2027-10-12","2027-11-02","2027-11-15","2027-11-20","2027-12-25"]', 1000, 0, -2000, '2026-01-01T00:00:00.000Z');
