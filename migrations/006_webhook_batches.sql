-- Webhook batching (docs/webhooks.md "Batching"): events for the same endpoint within
-- batch_window_ms of the first go out in one request of at most batch_max events.
ALTER TABLE app_webhooks
    ADD COLUMN batch_window_ms integer NOT NULL DEFAULT 100
        CHECK (batch_window_ms BETWEEN 0 AND 10000),
    ADD COLUMN batch_max integer NOT NULL DEFAULT 50
        CHECK (batch_max BETWEEN 1 AND 1000);
