-- A driver who is no longer approved (suspended by staff or by expired documents while on a
-- ride) keeps his online status until that ride ends, so the ride can finish (location pings need
-- `online`). The moment the ride leaves the active statuses, whoever wrote it, he goes offline.
CREATE TRIGGER drivers_offline_when_unapproved_ride_ends AFTER UPDATE OF status ON rides
WHEN OLD.driver_id IS NOT NULL
  AND OLD.status IN ('accepted', 'arrived', 'in_progress')
  AND NEW.status NOT IN ('accepted', 'arrived', 'in_progress')
BEGIN
  UPDATE drivers SET status = 'offline', updated_at = NEW.updated_at
  WHERE user_id = OLD.driver_id AND status = 'online' AND onboarding_status <> 'approved';
END;
