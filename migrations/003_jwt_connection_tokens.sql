-- Connection tokens (JWT, docs/security.md#connection-tokens-jwt): the public key that verifies
-- RS*/ES* tokens, the algorithms an app accepts (HS* are signed with the secret of an active
-- key, named by the token's kid), and whether every connection must present a valid token.
ALTER TABLE apps
    ADD COLUMN jwt_public_key text CHECK (length(jwt_public_key) BETWEEN 1 AND 16384),
    ADD COLUMN jwt_algorithms text[] NOT NULL DEFAULT '{HS256}'
        CHECK (jwt_algorithms <@ ARRAY['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512',
                                       'ES256', 'ES384', 'ES512']),
    ADD COLUMN require_token boolean NOT NULL DEFAULT false;
