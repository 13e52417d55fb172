/* One error enum for the whole project: functions return 0 or a negative rt_err. */
#ifndef RT_ERR_H
#define RT_ERR_H

enum rt_err {
    RT_OK = 0,
    /* -1 is unused: allocation failure aborts instead of returning (rt_alloc.h). */
    RT_ERR_INVALID = -2,       /* malformed input (JSON, frame, parameter) */
    RT_ERR_TOO_LARGE = -3,     /* input over a configured limit */
    RT_ERR_BAD_SIGNATURE = -4, /* HMAC / signature mismatch */
    RT_ERR_UNKNOWN_KEY = -5,   /* key is not one of the app's active keys */
    RT_ERR_EXPIRED = -6,       /* timestamp outside the accepted window */
    RT_ERR_NOT_FOUND = -7,
    RT_ERR_FORBIDDEN = -8,
    RT_ERR_LIMIT = -9,         /* a count limit (members, channels, rate) was hit */
    RT_ERR_CRYPTO = -10,       /* decryption failed (wrong master key or tampered data) */
    RT_ERR_IO = -11,
};

#endif
