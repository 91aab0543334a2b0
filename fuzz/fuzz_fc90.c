/* fuzz_fc90.c — libFuzzer harness for the PLC's engineering access (FC 90):
 * the input is a sequence of FC 90 PDUs (each preceded by its length byte)
 * handed to the handler of a PLC running a small program, keyswitch in
 * PROGRAM, no password: reservations, uploads, downloads (whose bytes are
 * then compiled: the ST front end is fuzzed through this path too), starts,
 * stops and restarts, with a few scans between requests. Never a crash, a
 * leak or a hang; every answer is a valid FC 90 response or an exception. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plc/engineering.h"
#include "plc/runtime.h"
#include "proto/eng90.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char prog[] = "PROGRAM p\n  VAR q AT %QW0 : INT; n : DINT; END_VAR\n"
                           "  n := n + 1;\n  q := DINT_TO_INT(n MOD 100);\nEND_PROGRAM\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct err e;
    struct sched *s = sched_new();
    struct plc_config pc;
    plc_config_default(&pc);
    pc.key = PLC_KEY_PROGRAM;
    struct plc *p = plc_new(s, &pc, &e);
    plc_install(p, "p.st", prog, sizeof prog - 1, "fuzz", NULL, &e);
    plc_set_mode(p, PLC_RUN, "fuzz", &e);
    struct plc_eng_config ec;
    plc_eng_config_default(&ec);
    ec.max_program = 4096;
    struct plc_eng *g = plc_eng_new(p, s, &ec, &e);
    struct net_addr peer = {0x7f000001, 40000}, local = {0x7f000001, 502};
    size_t i = 0;
    while (i < size) {
        size_t n = data[i++];
        if (n > size - i)
            n = size - i;
        uint8_t pdu[MB_MAX_PDU + 8], out[MB_MAX_PDU];
        size_t len = n > MB_MAX_PDU ? MB_MAX_PDU : n;
        memcpy(pdu, data + i, len);
        if (len >= 1)
            pdu[0] = ENG90_FC;
        i += n;
        struct mb_request_info info = {1, &peer, &local, 1, 1, sched_now(s)};
        int r = plc_eng_handle(g, &info, pdu, len, out);
        if (r > 0) {
            struct eng90_rsp rsp;
            if (r > MB_MAX_PDU || eng90_rsp_decode(out, (size_t)r, &rsp) != 0)
                abort(); /* the handler answered something that is not FC 90 */
        } else if (r == 0 || -r > 0x0B) {
            abort(); /* neither an answer nor a Modbus exception */
        }
        sched_run_until(s, sched_now(s) + 50 * VT_MS);
    }
    plc_eng_free(g);
    plc_free(p);
    sched_free(s);
    return 0;
}
