/* libFuzzer target: rt_cluster_msg_decode on arbitrary bytes; whatever decodes must encode
 * back to exactly the same bytes (the format has one spelling per message). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rt_cluster_wire.h"
#include "rt_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rt_cluster_msg m;
    if (rt_cluster_msg_decode((const char *)data, size, &m) != RT_OK) return 0;
    if (strlen(m.node) == 0 || strlen(m.app_id) == 0 || strlen(m.channel) == 0) abort();
    size_t len = 0;
    char *again = rt_cluster_msg_encode(m.kind, m.node, m.app_id, m.channel, m.except, m.payload,
                                        m.payload_len, &len);
    if (!again || len != size || memcmp(again, data, size) != 0) abort();
    free(again);
    return 0;
}
