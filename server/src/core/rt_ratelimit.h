/* Token buckets for rate limits (client events per connection, REST calls per app). */
#ifndef RT_RATELIMIT_H
#define RT_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct rt_bucket {
    double tokens;
    uint64_t last_ms; /* 0 = never used: the bucket starts full */
};

/* Refills at rate_per_sec up to burst, then takes one token. Returns false (and takes
 * nothing) when empty. rate_per_sec <= 0 means unlimited (always true). */
bool rt_bucket_take(struct rt_bucket *b, double rate_per_sec, double burst, uint64_t now_ms);

#endif
