/* Token buckets for rate limits (client events per connection, REST calls per app). */
#include "rt_ratelimit.h"

/* A clock that goes backwards refills nothing. burst < 1 can never yield a token. now_ms of 0
 * is stored as 1 so that a used bucket is never mistaken for a fresh one. */
bool rt_bucket_take(struct rt_bucket *b, double rate_per_sec, double burst, uint64_t now_ms)
{
    if (rate_per_sec <= 0) return true;
    if (now_ms == 0) now_ms = 1;
    if (b->last_ms == 0) {
        b->tokens = burst;
    } else if (now_ms > b->last_ms) {
        b->tokens += (double)(now_ms - b->last_ms) * rate_per_sec / 1000.0;
    }
    if (b->tokens > burst) b->tokens = burst;
    if (now_ms > b->last_ms) b->last_ms = now_ms;
    if (b->tokens < 1.0) return false;
    b->tokens -= 1.0;
    return true;
}
