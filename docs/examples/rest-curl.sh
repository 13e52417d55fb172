#!/bin/sh
# Calls the Realtime HTTP API (Pusher Channels compatible) with curl, signing each request in
# the shell with openssl and md5sum. See docs/rest-api.md.
#
# Environment:
#   APP_ID, KEY, SECRET   the app's id, key and secret (rtadmin app show ID)
#   HOST                  host:port of rtserver, e.g. 127.0.0.1:6001
#   PREFIX                optional RT_PATH_PREFIX of the server, e.g. /realtime (default none)
#   SCHEME                http or https (default http)
#   AUTH_TIMESTAMP        optional fixed timestamp (only to reproduce a documented signature)
#
# Usage:
#   rest-curl.sh                              run every example below, one result line each
#   rest-curl.sh METHOD PATH [BODY] [QUERY]   one call; PATH is relative to /apps/$APP_ID
#   rest-curl.sh --url METHOD PATH [BODY] [QUERY]   print the signed URL, don't call
# QUERY holds extra parameters as k=v&k=v, values not needing percent-encoding.
set -eu

: "${APP_ID:?set APP_ID}" "${KEY:?set KEY}" "${SECRET:?set SECRET}" "${HOST:?set HOST (host:port)}"
PREFIX="${PREFIX:-}"
SCHEME="${SCHEME:-http}"

# Lowercase hex HMAC-SHA256 of $2 keyed with $1.
hmac_sha256() { printf '%s' "$2" | openssl dgst -sha256 -hmac "$1" | sed 's/^.*= *//'; }

# Lowercase hex MD5 of $1.
md5_hex() { printf '%s' "$1" | md5sum | cut -d' ' -f1; }

# signed_url METHOD PATH [BODY] [QUERY]: prints the full URL with auth_* parameters.
signed_url() {
  method=$1
  path=/apps/$APP_ID$2
  body=${3:-}
  extra=${4:-}
  params="auth_key=$KEY
auth_timestamp=${AUTH_TIMESTAMP:-$(date +%s)}
auth_version=1.0"
  if [ -n "$body" ]; then
    params="$params
body_md5=$(md5_hex "$body")"
  fi
  if [ -n "$extra" ]; then
    params="$params
$(printf '%s' "$extra" | tr '&' '\n')"
  fi
  # Sort by key (byte order) and join with '&': this is both the signed query and the sent one.
  query=$(printf '%s\n' "$params" | LC_ALL=C sort -t= -k1,1 | paste -sd'&' -)
  # The signature covers METHOD\nPATH\nQUERY. PATH never includes the server's PREFIX.
  signature=$(hmac_sha256 "$SECRET" "$(printf '%s\n%s\n%s' "$method" "$path" "$query")")
  printf '%s://%s%s%s?%s&auth_signature=%s\n' "$SCHEME" "$HOST" "$PREFIX" "$path" "$query" "$signature"
}

# call METHOD PATH [BODY] [QUERY]: prints "STATUS BODY" on one line.
call() {
  url=$(signed_url "$@")
  if [ -n "${3:-}" ]; then
    out=$(curl -sS -X "$1" -H 'Content-Type: application/json' --data-binary "$3" -w '\n%{http_code}' "$url")
  else
    out=$(curl -sS -X "$1" -w '\n%{http_code}' "$url")
  fi
  printf '%s %s\n' "$(printf '%s' "$out" | tail -n 1)" "$(printf '%s' "$out" | sed '$d')"
}

if [ "${1:-}" = "--url" ]; then
  shift
  signed_url "$@"
  exit 0
fi
if [ $# -gt 0 ]; then
  call "$@"
  exit 0
fi

# ---- the examples of docs/rest-api.md, in order -------------------------------------------

printf 'trigger '
call POST /events '{"name":"greeting","channels":["my-channel"],"data":"{\"message\":\"hello\"}"}'

printf 'trigger-info '
call POST /events '{"name":"greeting","channels":["my-channel","presence-room"],"data":"{}","info":"user_count,subscription_count"}'

printf 'batch '
call POST /batch_events '{"batch":[{"channel":"my-channel","name":"a","data":"1"},{"channel":"other-channel","name":"b","data":"2"}]}'

printf 'channels '
call GET /channels

printf 'channels-presence '
call GET /channels '' 'filter_by_prefix=presence-&info=user_count'

printf 'channel '
call GET /channels/my-channel '' 'info=subscription_count'

printf 'users '
call GET /channels/presence-room/users

printf 'terminate '
call POST /users/42/terminate_connections '{}'

printf 'bad-signature '
(SECRET=wrong-secret; call GET /channels)
