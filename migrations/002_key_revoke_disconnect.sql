-- `rtadmin key revoke KEY --disconnect`: servers also close the live connections that were
-- opened with a key revoked this way (plain revocation only refuses new ones).
ALTER TABLE app_keys ADD COLUMN disconnect_on_revoke boolean NOT NULL DEFAULT false;
