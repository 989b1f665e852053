-- São Paulo service area and its first fare rules (integer centavos; surge in basis points).
-- Later changes are new pricing_rules versions with a later effective_from, never edits.
INSERT INTO cities (id, name, timezone, min_lat, max_lat, min_lng, max_lng, payment_methods, active)
VALUES ('sao_paulo', 'São Paulo', 'America/Sao_Paulo', -24.01, -23.35, -46.83, -46.36, '["pix","card","cash"]', 1);
--> statement-breakpoint
INSERT INTO pricing_rules (id, city_id, category, base_fare_cents, per_km_cents, per_minute_cents, minimum_fare_cents, booking_fee_cents, cancellation_fee_cents, surge_multiplier_bp, effective_from, created_at)
VALUES
  ('prc_sp_pop_2026', 'sao_paulo', 'pop', 500, 150, 30, 800, 100, 500, 10000, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'),
  ('prc_sp_comfort_2026', 'sao_paulo', 'comfort', 700, 210, 40, 1200, 150, 700, 10000, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z');
