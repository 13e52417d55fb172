-- Redis inlets (docs/ingest.md): an app's backend publishes through Redis instead of the REST
-- API. ingest_redis_prefix is the key prefix of the app's Laravel `redis` broadcaster: nodes
-- PSUBSCRIBE "<prefix>*", so it is how a message finds its app and must be unique; it has no
-- glob character (*?[]\) so that the pattern matches exactly the names that start with it.
-- ingest_stream turns on reading the stream rt:ingest:{APP_ID}, trimmed to about
-- ingest_stream_max_length entries. rtserver reads these columns through its SELECT on apps
-- (migration 004).
ALTER TABLE apps
    ADD COLUMN ingest_redis_prefix text UNIQUE
        CHECK (ingest_redis_prefix ~ '^[A-Za-z0-9_.:-]{1,64}$'),
    ADD COLUMN ingest_stream boolean NOT NULL DEFAULT false,
    ADD COLUMN ingest_stream_max_length integer NOT NULL DEFAULT 100000
        CHECK (ingest_stream_max_length BETWEEN 100 AND 10000000);

-- A message finds its app by the longest prefix it starts with, so two prefixes where one
-- starts with the other ("app_" and "app_v2_") would let the shorter app's backend publish
-- into the longer one's channels: refused, as the UNIQUE constraint refuses equal ones. The
-- advisory lock serialises concurrent changes of prefixes.
CREATE FUNCTION apps_ingest_prefix_disjoint() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    other record;
BEGIN
    IF NEW.ingest_redis_prefix IS NULL THEN
        RETURN NEW;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('apps.ingest_redis_prefix'));
    SELECT id, ingest_redis_prefix INTO other FROM apps
        WHERE id <> NEW.id AND ingest_redis_prefix IS NOT NULL
          AND (starts_with(ingest_redis_prefix, NEW.ingest_redis_prefix)
               OR starts_with(NEW.ingest_redis_prefix, ingest_redis_prefix))
        LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ingest_redis_prefix "%" overlaps "%" of app %: one prefix may not start with another',
            NEW.ingest_redis_prefix, other.ingest_redis_prefix, other.id
            USING ERRCODE = 'unique_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER apps_ingest_prefix_disjoint
    BEFORE INSERT OR UPDATE OF ingest_redis_prefix ON apps
    FOR EACH ROW EXECUTE FUNCTION apps_ingest_prefix_disjoint();
