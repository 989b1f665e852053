-- Pricing and commission versions are never edited: the only update allowed sets `retired_at`
-- once, with every other column unchanged. Nothing deletes a version (quotes and rides point at it).
CREATE TRIGGER pricing_rules_immutable BEFORE UPDATE ON pricing_rules
WHEN NOT (
  OLD.retired_at IS NULL AND NEW.retired_at IS NOT NULL
  AND NEW.id IS OLD.id AND NEW.city_id IS OLD.city_id AND NEW.category IS OLD.category
  AND NEW.base_fare_cents IS OLD.base_fare_cents AND NEW.per_km_cents IS OLD.per_km_cents
  AND NEW.per_minute_cents IS OLD.per_minute_cents AND NEW.minimum_fare_cents IS OLD.minimum_fare_cents
  AND NEW.booking_fee_cents IS OLD.booking_fee_cents AND NEW.cancellation_fee_cents IS OLD.cancellation_fee_cents
  AND NEW.surge_multiplier_bp IS OLD.surge_multiplier_bp AND NEW.effective_from IS OLD.effective_from
  AND NEW.created_at IS OLD.created_at AND NEW.surge_min_bp IS OLD.surge_min_bp
  AND NEW.surge_max_bp IS OLD.surge_max_bp AND NEW.cancellation_grace_seconds IS OLD.cancellation_grace_seconds
)
BEGIN SELECT RAISE(ABORT, 'rule_immutable: pricing_rules can only be retired, once'); END;
--> statement-breakpoint
CREATE TRIGGER pricing_rules_no_delete BEFORE DELETE ON pricing_rules
BEGIN SELECT RAISE(ABORT, 'rule_immutable: pricing_rules cannot be deleted'); END;
--> statement-breakpoint
-- The surge bounds cannot be a CHECK without rebuilding the table; a trigger holds them.
CREATE TRIGGER pricing_rules_surge_bounds BEFORE INSERT ON pricing_rules
WHEN NEW.surge_min_bp < 10000 OR NEW.surge_max_bp < NEW.surge_min_bp
  OR NEW.surge_multiplier_bp < NEW.surge_min_bp OR NEW.surge_multiplier_bp > NEW.surge_max_bp
  OR (NEW.cancellation_grace_seconds IS NOT NULL AND NEW.cancellation_grace_seconds < 0)
BEGIN SELECT RAISE(ABORT, 'pricing_rules_values: surge bounds or grace out of range'); END;
--> statement-breakpoint
CREATE TRIGGER commission_rules_immutable BEFORE UPDATE ON commission_rules
WHEN NOT (
  OLD.retired_at IS NULL AND NEW.retired_at IS NOT NULL
  AND NEW.id IS OLD.id AND NEW.city_id IS OLD.city_id AND NEW.category IS OLD.category
  AND NEW.rate_bp IS OLD.rate_bp AND NEW.min_cents IS OLD.min_cents AND NEW.max_cents IS OLD.max_cents
  AND NEW.effective_from IS OLD.effective_from AND NEW.created_at IS OLD.created_at
)
BEGIN SELECT RAISE(ABORT, 'rule_immutable: commission_rules can only be retired, once'); END;
--> statement-breakpoint
CREATE TRIGGER commission_rules_no_delete BEFORE DELETE ON commission_rules
BEGIN SELECT RAISE(ABORT, 'rule_immutable: commission_rules cannot be deleted'); END;
--> statement-breakpoint
-- The audit log is append-only. Erasure leaves it alone: its rows name users by id only.
CREATE TRIGGER audit_logs_no_update BEFORE UPDATE ON audit_logs
BEGIN SELECT RAISE(ABORT, 'audit_append_only: audit_logs cannot be updated'); END;
--> statement-breakpoint
CREATE TRIGGER audit_logs_no_delete BEFORE DELETE ON audit_logs
BEGIN SELECT RAISE(ABORT, 'audit_append_only: audit_logs cannot be deleted'); END;
--> statement-breakpoint
-- Surges are never edited either: a newer row supersedes an older one.
CREATE TRIGGER surges_no_update BEFORE UPDATE ON surges
BEGIN SELECT RAISE(ABORT, 'surges_append_only: surges cannot be updated'); END;
--> statement-breakpoint
-- São Paulo's service area is its bounding box as a polygon, and the categories it already prices.
UPDATE cities
   SET service_area = '[[-46.83,-24.01],[-46.36,-24.01],[-46.36,-23.35],[-46.83,-23.35],[-46.83,-24.01]]',
       categories = '["pop","comfort"]'
 WHERE id = 'sao_paulo';
