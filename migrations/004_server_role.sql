-- Least privilege for rtserver: the group role realtime_server may read apps, their keys and
-- webhooks, and nothing else. It cannot write anything (app changes stay with the role rtadmin
-- uses) and cannot read audit_log or schema_migrations. LISTEN rt_app_changed needs no grant.
-- An operator gives rtserver a login role in this group, for example
--   CREATE ROLE rt_server LOGIN PASSWORD '...' IN ROLE realtime_server;
-- or `rtadmin db create-server-role rt_server`.
--
-- Roles belong to the whole PostgreSQL cluster, so the group may already exist (another
-- database of the cluster, or created by a DBA); then only this database's grants are added.
-- A migrating role that may not create roles (neither superuser nor CREATEROLE) skips the
-- group: the migration still succeeds, and `rtadmin db create-server-role` run later by a
-- role that may (or a DBA's CREATE ROLE realtime_server NOLOGIN) adds it with its grants.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'realtime_server') THEN
        IF NOT (SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user) THEN
            RAISE NOTICE 'role % may not create roles: realtime_server not created; '
                         'see docs/security.md#database-roles', current_user;
            RETURN;
        END IF;
        BEGIN
            CREATE ROLE realtime_server NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL; -- created meanwhile by a migration of another database of the cluster
        END;
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO realtime_server', current_database());
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO realtime_server', current_schema());
    GRANT SELECT ON apps, app_keys, app_webhooks TO realtime_server;
END $$;
