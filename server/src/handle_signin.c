/* pusher:signin (PROTOCOL.md §10.1, §12): user authentication and watchlists. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "handlers.h"
#include "registry.h"
#include "rt_auth.h"
#include "rt_user_data.h"
#include "seclog.h"
#include "token.h"
#include "user.h"

void rt_signin_apply(struct rt_conn *c, const char *user_id, char *user_info, char **watchlist,
                     size_t watchlist_len)
{
    if (!c->user_id) {
        int came_online = rt_user_attach(c->app, c, user_id);
        /* In a cluster "online" means the user's first socket on any node: Redis decides. */
        if (rt_registry_active())
            rt_registry_user_online(c);
        else if (came_online == 1)
            rt_user_notify_watchers(c->app, c->user_id, "online");
    }
    free(c->user_info);
    c->user_info = user_info;
    for (size_t i = 0; i < c->watchlist_len; i++)
        free(c->watchlist[i]);
    free(c->watchlist);
    c->watchlist = watchlist;
    c->watchlist_len = watchlist_len;
    c->authorized = true;
}

void rt_signin_send_success(struct rt_conn *c, const char *user_data, size_t len)
{
    json_t *data = json_pack("{s:s%}", "user_data", user_data, len);
    size_t n;
    char *text = rt_encode_event_json("pusher:signin_success", NULL, data, NULL, &n);
    json_decref(data);
    rt_conn_send_text(c, text, n);
}

/* A failed sign-in is fatal: pusher:error 4009 and close (what soketi and sockudo do; pusher-js
 * treats it as refused). A "token" member instead of auth/user_data is a connection token
 * (token.h): it works whether or not the app has --user-auth, since only the app's backend
 * can sign one. */
void rt_handle_signin(struct rt_conn *c, const struct rt_msg *m)
{
    const json_t *token = json_object_get(m->data_obj, "token");
    if (token) {
        rt_token_handle_signin(c, token);
        return;
    }
    if (!c->app->cfg->user_auth) {
        rt_conn_fail(c, 4009, "User authentication is not enabled for this app");
        return;
    }
    const char *auth = rt_json_str(m->data_obj, "auth", NULL);
    size_t ud_len = 0;
    const char *user_data = rt_json_str(m->data_obj, "user_data", &ud_len);
    struct rt_str key, sig;
    if (!auth || !user_data || rt_auth_split(rt_str_c(auth), &key, &sig) != 0) {
        rt_conn_fail(c, 4009,
                     "Invalid pusher:signin: auth and user_data strings, or a token string, are "
                     "required");
        return;
    }
    char keybuf[72];
    const char *secret = NULL;
    if (key.n < sizeof keybuf) {
        memcpy(keybuf, key.p, key.n);
        keybuf[key.n] = '\0';
        secret = rt_app_secret(c->app, keybuf);
    }
    if (!secret || !rt_auth_verify_user(rt_str_c(secret), rt_str_c(c->socket_id),
                                        (struct rt_str){user_data, ud_len}, sig)) {
        rt_conn_auth_failed(c);
        rt_seclog(c->app->cfg->id, RT_SEC_SIGNIN_AUTH_FAILURE,
                  secret ? "bad_signature" : "unknown_key");
        rt_conn_fail(c, 4009, "Invalid signature for pusher:signin");
        return;
    }
    struct rt_signin s;
    char err[160];
    if (rt_signin_parse((struct rt_str){user_data, ud_len},
                        (size_t)c->app->cfg->max_presence_info_bytes, &s, err, sizeof err) != 0) {
        rt_conn_fail(c, 4009, err);
        return;
    }
    if (c->user_id && strcmp(c->user_id, s.user.user_id) != 0) {
        rt_signin_clear(&s);
        rt_conn_fail(c, 4009, "Already signed in as a different user");
        return;
    }
    /* Every check is done: from here on nothing fails, so a refused sign-in above leaves the
     * connection exactly as it was (and is closed with 4009). */
    rt_signin_apply(c, s.user.user_id, s.user.user_info, s.watchlist, s.watchlist_len);
    s.user.user_info = NULL;
    s.watchlist = NULL;
    s.watchlist_len = 0;
    rt_signin_send_success(c, user_data, ud_len);
    if (s.watchlist_truncated)
        rt_conn_send_error(c, 4302, "Watchlist limit exceeded: only the first 100 ids are used",
                           NULL);
    rt_user_send_watchlist_state(c);
    rt_signin_clear(&s);
}
