-- Apps (tenants), their keys, webhooks and the append-only audit log.
-- Every per-app limit of PROTOCOL.md §16 is a column with Pusher's default.

CREATE TABLE apps (
    id                              text PRIMARY KEY CHECK (id ~ '^[0-9]{1,20}$'),
    name                            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    enabled                         boolean NOT NULL DEFAULT true,
    -- feature flags
    client_events                   boolean NOT NULL DEFAULT false,
    user_auth                       boolean NOT NULL DEFAULT false,
    subscription_count              boolean NOT NULL DEFAULT false,
    require_tls                     boolean NOT NULL DEFAULT false,
    authorized_connections          boolean NOT NULL DEFAULT false,
    allowed_origins                 text[] NOT NULL DEFAULT '{}',
    -- limits
    max_connections                 integer NOT NULL DEFAULT 10000 CHECK (max_connections >= 0),
    max_payload_kb                  integer NOT NULL DEFAULT 10 CHECK (max_payload_kb BETWEEN 1 AND 1024),
    max_channel_name_length         integer NOT NULL DEFAULT 200 CHECK (max_channel_name_length BETWEEN 16 AND 200),
    max_event_name_length           integer NOT NULL DEFAULT 200 CHECK (max_event_name_length BETWEEN 16 AND 200),
    max_channels_per_trigger        integer NOT NULL DEFAULT 100 CHECK (max_channels_per_trigger BETWEEN 1 AND 100),
    max_batch_size                  integer NOT NULL DEFAULT 10 CHECK (max_batch_size BETWEEN 1 AND 100),
    max_presence_members            integer NOT NULL DEFAULT 100 CHECK (max_presence_members BETWEEN 1 AND 10000),
    max_presence_info_bytes         integer NOT NULL DEFAULT 1024 CHECK (max_presence_info_bytes BETWEEN 64 AND 65536),
    max_subscriptions_per_connection integer NOT NULL DEFAULT 100 CHECK (max_subscriptions_per_connection BETWEEN 1 AND 10000),
    client_events_per_second        integer NOT NULL DEFAULT 10 CHECK (client_events_per_second >= 0),
    backend_events_per_second       integer NOT NULL DEFAULT 1000 CHECK (backend_events_per_second >= 0),
    read_requests_per_second        integer NOT NULL DEFAULT 100 CHECK (read_requests_per_second >= 0),
    created_at                      timestamptz NOT NULL DEFAULT now(),
    updated_at                      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE app_keys (
    key         text PRIMARY KEY CHECK (key ~ '^[A-Za-z0-9_-]{8,64}$'),
    app_id      text NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    -- nonce || ciphertext, sealed with RT_MASTER_KEY (see server/src/core/rt_secret.h)
    secret_enc  bytea NOT NULL,
    label       text NOT NULL DEFAULT '',
    status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
CREATE INDEX app_keys_app_id ON app_keys (app_id);

CREATE TABLE app_webhooks (
    id          bigserial PRIMARY KEY,
    app_id      text NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    url         text NOT NULL CHECK (url ~ '^https?://'),
    -- empty = every kind: channel_occupied, channel_vacated, member_added, member_removed,
    -- client_event, cache_miss, subscription_count
    event_types text[] NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX app_webhooks_app_id ON app_webhooks (app_id);

CREATE TABLE audit_log (
    id      bigserial PRIMARY KEY,
    at      timestamptz NOT NULL DEFAULT now(),
    actor   text NOT NULL,
    action  text NOT NULL,
    app_id  text,
    details jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_app_at ON audit_log (app_id, at);

-- The audit log is append-only: no row may be changed or removed, by anyone.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP;
END $$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- Running servers LISTEN on rt_app_changed; the payload is the app id that changed.
CREATE FUNCTION notify_app_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed text;
BEGIN
    IF TG_OP = 'DELETE' THEN
        changed := OLD.app_id;
    ELSE
        changed := NEW.app_id;
    END IF;
    PERFORM pg_notify('rt_app_changed', changed);
    RETURN NULL;
END $$;

CREATE FUNCTION notify_app_row_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('rt_app_changed', OLD.id);
    ELSE
        PERFORM pg_notify('rt_app_changed', NEW.id);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER apps_notify AFTER INSERT OR UPDATE OR DELETE ON apps
    FOR EACH ROW EXECUTE FUNCTION notify_app_row_changed();
CREATE TRIGGER app_keys_notify AFTER INSERT OR UPDATE OR DELETE ON app_keys
    FOR EACH ROW EXECUTE FUNCTION notify_app_changed();
CREATE TRIGGER app_webhooks_notify AFTER INSERT OR UPDATE OR DELETE ON app_webhooks
    FOR EACH ROW EXECUTE FUNCTION notify_app_changed();
