/* Leveled logging to stderr, one line per record, scoped by app id where it applies. */
#ifndef RT_LOG_H
#define RT_LOG_H

enum rt_log_level { RT_LOG_DEBUG = 0, RT_LOG_INFO, RT_LOG_WARN, RT_LOG_ERROR };

/* Returns 0, or -1 when name is not one of debug/info/warn/error. */
int rt_log_set_level_name(const char *name);

/* Returns 0, or -1 when name is not text or json. json: one JSON object per line,
 * {"time","level",...,"msg"}, where leading key=value words of the message (app=, socket=,
 * request=) become fields ("app", "socket_id", "request_id"). */
int rt_log_set_format_name(const char *name);

void rt_log(enum rt_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define rt_log_debug(...) rt_log(RT_LOG_DEBUG, __VA_ARGS__)
#define rt_log_info(...) rt_log(RT_LOG_INFO, __VA_ARGS__)
#define rt_log_warn(...) rt_log(RT_LOG_WARN, __VA_ARGS__)
#define rt_log_error(...) rt_log(RT_LOG_ERROR, __VA_ARGS__)

#endif
