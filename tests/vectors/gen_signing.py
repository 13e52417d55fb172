#!/usr/bin/env python3
"""Regenerates signing.json from first principles (Python hmac/hashlib), independently of
the C code under test. Run: python3 tests/vectors/gen_signing.py > tests/vectors/signing.json"""
import base64
import hashlib
import hmac
import json

KEY, SECRET = "278d425bdf160c739803", "7ad3773142a6692b25b8"


def sign(secret, msg):
    return hmac.new(secret.encode(), msg.encode(), hashlib.sha256).hexdigest()


def channel(name, socket_id, chan, channel_data=None, key=KEY, secret=SECRET):
    msg = f"{socket_id}:{chan}" + (f":{channel_data}" if channel_data is not None else "")
    e = {"name": name, "key": key, "secret": secret, "socket_id": socket_id, "channel": chan}
    if channel_data is not None:
        e["channel_data"] = channel_data
    e["auth"] = f"{key}:{sign(secret, msg)}"
    return e


def user(name, socket_id, user_data, key=KEY, secret=SECRET):
    return {"name": name, "key": key, "secret": secret, "socket_id": socket_id,
            "user_data": user_data,
            "auth": f"{key}:{sign(secret, f'{socket_id}::user::{user_data}')}"}


def rest(name, method, path, params, body, timestamp, key=KEY, secret=SECRET):
    q = dict(params)
    q.update({"auth_key": key, "auth_timestamp": str(timestamp), "auth_version": "1.0"})
    e = {"name": name, "key": key, "secret": secret, "method": method, "path": path,
         "params": params, "body": body, "timestamp": timestamp}
    if body:
        e["body_md5"] = q["body_md5"] = hashlib.md5(body.encode()).hexdigest()
    query = "&".join(f"{k.lower()}={v}" for k, v in sorted(q.items(), key=lambda kv: kv[0].lower()))
    e["string_to_sign"] = f"{method}\n{path}\n{query}"
    e["auth_signature"] = sign(secret, e["string_to_sign"])
    return e


def webhook(name, body, key=KEY, secret=SECRET):
    return {"name": name, "key": key, "secret": secret, "body": body,
            "signature": sign(secret, body)}


def encrypted(name, master_key, chan):
    return {"name": name, "master_key_base64": base64.b64encode(master_key).decode(),
            "channel": chan,
            "shared_secret_base64":
                base64.b64encode(hashlib.sha256(chan.encode() + master_key).digest()).decode()}


vectors = {
    "channel_auth": [
        channel("protocol_md_private_foobar", "1234.1234", "private-foobar"),
        channel("presence_with_channel_data", "1234.1234", "presence-foobar",
                '{"user_id":10,"user_info":{"name":"Mr. Channels"}}'),
        channel("presence_cache_string_user_id", "123456.7890123", "presence-cache-room-1",
                '{"user_id":"42","user_info":{"name":"Ada"}}'),
        channel("private_with_channel_data_php_custom_data", "1234.1234", "private-foobar",
                '{"user_id":"42"}'),
        channel("private_encrypted_channel", "98765.4321", "private-encrypted-orders"),
    ],
    "user_auth": [
        user("signin_with_watchlist", "1234.1234",
             '{"id":"42","user_info":{"name":"Ada"},"watchlist":["7","9"]}'),
        user("signin_id_only", "555.666", '{"id":"user@example.com"}'),
    ],
    "rest": [
        rest("protocol_md_trigger_event", "POST", "/apps/3/events", {},
             '{"name":"foo","channels":["project-3"],"data":"{\\"some\\":\\"data\\"}"}',
             1353088179),
        rest("get_channels_with_params_and_space", "GET", "/apps/3/channels",
             {"filter_by_prefix": "presence-", "info": "user_count", "name": "Something else"},
             None, 1353088179),
        rest("get_users_no_body", "GET", "/apps/3/channels/presence-room-1/users", {}, None,
             1700000000),
        rest("terminate_connections_empty_object_body", "POST",
             "/apps/3/users/42/terminate_connections", {}, "{}", 1700000000),
    ],
    "webhook": [
        webhook("channel_occupied",
                '{"time_ms":1327078148132,"events":[{"name":"channel_occupied",'
                '"channel":"test_channel"}]}'),
    ],
    "encrypted": [
        encrypted("master_key_bytes_0_to_31", bytes(range(32)), "private-encrypted-x"),
        encrypted("master_key_all_0xff", b"\xff" * 32, "private-encrypted-cache-orders"),
    ],
}

print(json.dumps(vectors, indent=1, ensure_ascii=False))
