/* mbcall.c — a Modbus client call that a test waits for (see mbcall.h). */
#include "mbcall.h"

#include <string.h>

void tu_call_done(void *ctx, const struct mb_result *res)
{
    struct tu_call *k = ctx;
    k->r = *res;
    if (res->pdu) {
        memcpy(k->pdu, res->pdu, res->pdu_len);
        k->r.pdu = k->pdu;
        if (res->status == MB_CLIENT_OK)
            mb_rsp_decode(k->pdu, res->pdu_len, 1, &k->r.rsp);
    }
    k->done = 1;
}
