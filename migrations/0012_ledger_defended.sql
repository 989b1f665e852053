-- The ledger defends itself against writes that go around the posting code: each rule below is a
-- trigger, so a bug (or a hand-written statement) that breaks it aborts its whole batch.

-- Accounts that exist today: the last entry each balance has applied, for the balance guard.
UPDATE ledger_accounts
   SET last_entry_id = (SELECT max(id) FROM ledger_entries WHERE account_id = ledger_accounts.id);
--> statement-breakpoint

-- Who may go below a floor is decided here, from the account and the transaction's kind, never
-- by the caller. Only a line that lowers its account's natural balance is guarded, and the only
-- waivers are lines that record something that already happened:
--   * a driver's prepaid `credit`: its floor gates accepting rides (read from settlement_config
--     by dispatch and acceptance); cash commissions and returned top-ups may take it below;
--   * a clawback (`*.clawback`) of a driver's `pending` or `available`;
--   * a confirmed refund (`payment.refund`) of a driver's `available`.
-- Everything else, reversals included, is refused below the floor (`ledger_floor_breached`).
-- The entry's `enforce_floor` column records that decision: a row claiming otherwise is refused.
DROP TRIGGER ledger_entries_apply;
--> statement-breakpoint
CREATE TRIGGER ledger_entries_apply AFTER INSERT ON ledger_entries
BEGIN
  UPDATE ledger_accounts
     SET balance = balance + (CASE normal_side WHEN 'debit' THEN NEW.amount ELSE -NEW.amount END),
         version = version + 1,
         last_entry_id = NEW.id
   WHERE id = NEW.account_id;
  SELECT RAISE(ABORT, 'ledger_floor_breached')
   WHERE NEW.enforce_floor = 1
     AND EXISTS (SELECT 1 FROM ledger_accounts
                  WHERE id = NEW.account_id AND floor IS NOT NULL AND balance < floor);
END;
--> statement-breakpoint

-- Before an entry lands: its transaction is still open (no closing row yet), its id is new (so
-- INSERT OR REPLACE cannot delete an entry: REPLACE removes the old row without firing the
-- no-delete trigger, but BEFORE INSERT runs first and sees it), and its enforce_floor is the one
-- the rule above derives.
CREATE TRIGGER ledger_entries_guard BEFORE INSERT ON ledger_entries
BEGIN
  SELECT RAISE(ABORT, 'ledger_transaction_closed: entries cannot be added to a posted transaction')
   WHERE EXISTS (SELECT 1 FROM ledger_posting_checks WHERE transaction_id = NEW.transaction_id);
  SELECT RAISE(ABORT, 'ledger_append_only: ledger_entries cannot be replaced')
   WHERE NEW.id IS NOT NULL AND EXISTS (SELECT 1 FROM ledger_entries WHERE id = NEW.id);
  SELECT RAISE(ABORT, 'ledger_floor_waiver_refused: enforce_floor is derived from the account and the transaction kind')
    FROM ledger_accounts a JOIN ledger_transactions t ON t.id = NEW.transaction_id
   WHERE a.id = NEW.account_id
     AND a.floor IS NOT NULL
     AND NEW.enforce_floor IS NOT (
           (CASE a.normal_side WHEN 'debit' THEN NEW.amount < 0 ELSE NEW.amount > 0 END)
           AND NOT (a.owner_type = 'driver' AND (
                 a.kind = 'credit'
              OR (a.kind IN ('pending', 'available') AND t.kind GLOB '*.clawback')
              OR (a.kind = 'available' AND t.kind = 'payment.refund'))));
END;
--> statement-breakpoint

-- INSERT OR REPLACE on a transaction or a closing row would delete the old row without firing
-- the no-delete triggers. The refusals carry the unique constraint's own wording, which the
-- posting code reads to recognise a replay.
CREATE TRIGGER ledger_transactions_no_replace BEFORE INSERT ON ledger_transactions
BEGIN
  SELECT RAISE(ABORT, 'UNIQUE constraint failed: ledger_transactions.id (ledger_append_only)')
   WHERE EXISTS (SELECT 1 FROM ledger_transactions WHERE id = NEW.id);
  SELECT RAISE(ABORT, 'UNIQUE constraint failed: ledger_transactions.idempotency_key (ledger_append_only)')
   WHERE EXISTS (SELECT 1 FROM ledger_transactions WHERE idempotency_key = NEW.idempotency_key);
  SELECT RAISE(ABORT, 'UNIQUE constraint failed: ledger_transactions.reverses_id (ledger_append_only)')
   WHERE NEW.reverses_id IS NOT NULL
     AND EXISTS (SELECT 1 FROM ledger_transactions WHERE reverses_id = NEW.reverses_id);
END;
--> statement-breakpoint
CREATE TRIGGER ledger_posting_checks_no_replace BEFORE INSERT ON ledger_posting_checks
BEGIN
  SELECT RAISE(ABORT, 'UNIQUE constraint failed: ledger_posting_checks.transaction_id (ledger_append_only)')
   WHERE EXISTS (SELECT 1 FROM ledger_posting_checks WHERE transaction_id = NEW.transaction_id);
END;
--> statement-breakpoint

-- Accounts: created once (the posting code inserts one only when it is missing), never deleted
-- or replaced, created empty.
CREATE TRIGGER ledger_accounts_no_replace BEFORE INSERT ON ledger_accounts
BEGIN
  SELECT RAISE(ABORT, 'ledger_append_only: ledger_accounts cannot be replaced')
   WHERE EXISTS (SELECT 1 FROM ledger_accounts WHERE id = NEW.id
                    OR (owner_type = NEW.owner_type AND owner_id = NEW.owner_id AND kind = NEW.kind));
  SELECT RAISE(ABORT, 'ledger_append_only: an account opens empty')
   WHERE NEW.balance <> 0 OR NEW.version <> 0 OR NEW.last_entry_id IS NOT NULL;
END;
--> statement-breakpoint
CREATE TRIGGER ledger_accounts_no_delete BEFORE DELETE ON ledger_accounts
BEGIN SELECT RAISE(ABORT, 'ledger_append_only: ledger_accounts cannot be deleted'); END;
--> statement-breakpoint

-- An account's identity never changes. Its floor neither, except a driver credit account's, which
-- follows settlement_config.credit_floor_cents (changed in the same batch as the setting). The
-- cached balance moves only with the entry trigger: one entry at a time, newer than the last one
-- applied, by exactly that entry's natural amount, with the version bumped. A direct
-- `SET balance = balance + 7, version = version + 1` finds no such entry and is refused.
DROP TRIGGER ledger_accounts_balance_guard;
--> statement-breakpoint
CREATE TRIGGER ledger_accounts_guard BEFORE UPDATE ON ledger_accounts
BEGIN
  SELECT RAISE(ABORT, 'ledger_account_immutable: id, owner, kind, normal_side and created_at never change')
   WHERE NEW.id IS NOT OLD.id OR NEW.owner_type IS NOT OLD.owner_type OR NEW.owner_id IS NOT OLD.owner_id
      OR NEW.kind IS NOT OLD.kind OR NEW.normal_side IS NOT OLD.normal_side
      OR NEW.created_at IS NOT OLD.created_at;
  SELECT RAISE(ABORT, 'ledger_account_immutable: floor')
   WHERE NEW.floor IS NOT OLD.floor
     AND NOT (OLD.owner_type = 'driver' AND OLD.kind = 'credit'
              AND NEW.floor IS (SELECT credit_floor_cents FROM settlement_config WHERE id = 1));
  SELECT RAISE(ABORT, 'ledger_append_only: balances change only through entries')
   WHERE (NEW.balance IS NOT OLD.balance OR NEW.version IS NOT OLD.version
          OR NEW.last_entry_id IS NOT OLD.last_entry_id)
     AND NOT (NEW.version = OLD.version + 1
              AND NEW.last_entry_id > coalesce(OLD.last_entry_id, 0)
              AND NEW.last_entry_id = (SELECT max(id) FROM ledger_entries WHERE account_id = OLD.id)
              AND EXISTS (SELECT 1 FROM ledger_entries e
                           WHERE e.id = NEW.last_entry_id
                             AND NEW.balance - OLD.balance
                                 = (CASE OLD.normal_side WHEN 'debit' THEN e.amount ELSE -e.amount END)));
END;
