/* mbcall.h — a Modbus client call that a test waits for: the completion
 * callback keeps its own copy of the result, the response PDU and, when the
 * call succeeded, the decoded response. */
#ifndef TESTS_MBCALL_H
#define TESTS_MBCALL_H

#include <stdint.h>

#include "proto/mb_client.h"

struct tu_call {
    int done;
    struct mb_result r; /* r.pdu points at pdu below */
    uint8_t pdu[MB_MAX_PDU];
};

/* An mb_result_fn for mb_client_send(..., tu_call_done, &call, ...). */
void tu_call_done(void *ctx, const struct mb_result *res);

#endif
