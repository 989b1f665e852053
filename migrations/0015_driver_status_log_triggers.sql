-- Every change of a driver's status is logged by the database itself, whoever writes it (going
-- online or offline, a suspension, a cancellation cool-down, the end of a ride of a driver no
-- longer approved, erasure, or a statement written later): online hours come from this log.
-- The time is the application's clock: going online sets `online_since`, and every writer sets
-- `updated_at`; the database's clock only when a statement changed neither.
-- A session belongs to the city whose box held the position he went online at (the smallest box
-- first, like pricing; the polygon is not consulted in SQL). An offline row repeats its session's
-- city and start, so a closed session is one row.
CREATE TRIGGER drivers_status_log_online AFTER UPDATE OF status ON drivers
WHEN NEW.status = 'online' AND OLD.status IS NOT 'online'
BEGIN
  INSERT INTO driver_status_log (driver_id, status, city_id, online_at, at)
  VALUES (
    NEW.user_id,
    'online',
    (SELECT c.id FROM cities c
      WHERE c.active = 1 AND NEW.last_lat BETWEEN c.min_lat AND c.max_lat
        AND NEW.last_lng BETWEEN c.min_lng AND c.max_lng
      ORDER BY (c.max_lat - c.min_lat) * (c.max_lng - c.min_lng), c.id LIMIT 1),
    NULL,
    CASE WHEN NEW.online_since IS NOT OLD.online_since THEN NEW.online_since
         WHEN NEW.updated_at IS NOT OLD.updated_at THEN NEW.updated_at
         ELSE strftime('%Y-%m-%dT%H:%M:%fZ', 'now') END
  );
END;
--> statement-breakpoint
CREATE TRIGGER drivers_status_log_offline AFTER UPDATE OF status ON drivers
WHEN NEW.status = 'offline' AND OLD.status IS NOT 'offline'
BEGIN
  INSERT INTO driver_status_log (driver_id, status, city_id, online_at, at)
  SELECT NEW.user_id, 'offline', last.city_id, COALESCE(last.at, OLD.online_since),
    CASE WHEN NEW.updated_at IS NOT OLD.updated_at THEN NEW.updated_at
         ELSE strftime('%Y-%m-%dT%H:%M:%fZ', 'now') END
  FROM (SELECT 1) LEFT JOIN (
    SELECT city_id, at FROM driver_status_log
    WHERE driver_id = NEW.user_id AND status = 'online'
      AND id = (SELECT MAX(id) FROM driver_status_log WHERE driver_id = NEW.user_id)
  ) AS last;
END;
--> statement-breakpoint
CREATE TRIGGER drivers_status_log_insert AFTER INSERT ON drivers
WHEN NEW.status = 'online'
BEGIN
  INSERT INTO driver_status_log (driver_id, status, city_id, online_at, at)
  VALUES (
    NEW.user_id,
    'online',
    (SELECT c.id FROM cities c
      WHERE c.active = 1 AND NEW.last_lat BETWEEN c.min_lat AND c.max_lat
        AND NEW.last_lng BETWEEN c.min_lng AND c.max_lng
      ORDER BY (c.max_lat - c.min_lat) * (c.max_lng - c.min_lng), c.id LIMIT 1),
    NULL,
    COALESCE(NEW.online_since, NEW.updated_at)
  );
END;
--> statement-breakpoint
CREATE TRIGGER driver_status_log_no_update BEFORE UPDATE ON driver_status_log
BEGIN SELECT RAISE(ABORT, 'driver_status_log_append_only: rows are never edited'); END;
--> statement-breakpoint
CREATE TRIGGER driver_status_log_no_delete BEFORE DELETE ON driver_status_log
BEGIN SELECT RAISE(ABORT, 'driver_status_log_append_only: rows are never deleted'); END;
--> statement-breakpoint
-- Drivers online when the log starts: their open session, from when they went online.
INSERT INTO driver_status_log (driver_id, status, city_id, online_at, at)
SELECT d.user_id, 'online',
  (SELECT c.id FROM cities c
    WHERE c.active = 1 AND d.last_lat BETWEEN c.min_lat AND c.max_lat
      AND d.last_lng BETWEEN c.min_lng AND c.max_lng
    ORDER BY (c.max_lat - c.min_lat) * (c.max_lng - c.min_lng), c.id LIMIT 1),
  NULL, COALESCE(d.online_since, d.updated_at)
FROM drivers d WHERE d.status = 'online';
--> statement-breakpoint
-- A city's credit floor is in centavos at or below zero, like the global one; null is none.
CREATE TRIGGER cities_credit_floor_insert BEFORE INSERT ON cities
WHEN NEW.credit_floor_cents IS NOT NULL AND NEW.credit_floor_cents > 0
BEGIN SELECT RAISE(ABORT, 'cities_credit_floor: must be at or below zero'); END;
--> statement-breakpoint
CREATE TRIGGER cities_credit_floor_update BEFORE UPDATE OF credit_floor_cents ON cities
WHEN NEW.credit_floor_cents IS NOT NULL AND NEW.credit_floor_cents > 0
BEGIN SELECT RAISE(ABORT, 'cities_credit_floor: must be at or below zero'); END;
