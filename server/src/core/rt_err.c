/* Text for rt_err codes. */
#include "rt_err.h"

const char *rt_err_str(int err)
{
    switch (err) {
    case RT_OK: return "ok";
    case RT_ERR_NOMEM: return "out of memory";
    case RT_ERR_INVALID: return "invalid input";
    case RT_ERR_TOO_LARGE: return "too large";
    case RT_ERR_BAD_SIGNATURE: return "invalid signature";
    case RT_ERR_UNKNOWN_KEY: return "unknown key";
    case RT_ERR_EXPIRED: return "timestamp expired";
    case RT_ERR_NOT_FOUND: return "not found";
    case RT_ERR_FORBIDDEN: return "forbidden";
    case RT_ERR_LIMIT: return "limit exceeded";
    case RT_ERR_CRYPTO: return "decryption failed";
    case RT_ERR_IO: return "I/O error";
    }
    return "unknown error";
}
