/* modbus_load.c — a closed-loop Modbus/TCP load generator on icsrange's own
 * client library (proto/mb_client.h over net_socket_new and a real-time
 * loop): N connections, each with exactly one request in flight (FC 3, a
 * read of 100 holding registers from address 0), the next sent as soon as
 * the previous answer is in. After a warm-up, it counts completed requests
 * for a fixed time and measures each one's latency (clock_gettime around
 * the request: queued to answered).
 *
 * Usage: modbus_load HOST:PORT [CONNECTIONS [SECONDS [WARMUP_SECONDS]]]
 *        (defaults 1, 5, 0.5)
 * Prints one line:
 *   modbus_load target=... connections=N seconds=S requests=R errors=E
 *   rps=X p50_us=Y p99_us=Z mean_us=M cpu=C
 * (cpu: the generator's own CPU time over the run, in cores: near 1.00
 * means the generator, not the server, set the pace) 
 * Exit status 0, or 1 if a request failed (timeout, closed, exception, a
 * wrong answer) or nothing was measured. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "core/loop.h"
#include "core/sched.h"
#include "net/link.h"
#include "proto/mb_client.h"

#define QTY 100

struct load;

struct conn {
    struct load *ld;
    struct mb_client *c;
    uint64_t t0; /* when the request in flight was queued */
};

struct load {
    struct conn *conns;
    int n;
    uint64_t measure_from, measure_to; /* ns, CLOCK_MONOTONIC */
    int stopping;
    uint64_t requests, errors, other;
    uint64_t *lat; /* ns per measured request */
    size_t nlat, caplat;
    struct mb_req req;
    char first_error[160];
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void on_result(void *ctx, const struct mb_result *r);

static void send_next(struct conn *k)
{
    struct err e;
    k->t0 = now_ns();
    if (mb_client_send(k->c, 1, &k->ld->req, on_result, k, &e) != 0) {
        fprintf(stderr, "modbus_load: %s\n", e.msg);
        exit(1);
    }
}

static void on_result(void *ctx, const struct mb_result *r)
{
    struct conn *k = ctx;
    struct load *ld = k->ld;
    uint64_t t1 = now_ns();
    int ok = r->status == MB_CLIENT_OK && !r->rsp.exception && r->rsp.u.read.nbytes == 2 * QTY &&
             mb_get16(r->rsp.u.read.data + 2 * 99) == 99;
    if (k->t0 >= ld->measure_from && t1 <= ld->measure_to) {
        if (ok) {
            ld->requests++;
            if (ld->nlat == ld->caplat) {
                ld->caplat = ld->caplat ? 2 * ld->caplat : 1 << 16;
                ld->lat = realloc(ld->lat, ld->caplat * sizeof *ld->lat);
                if (!ld->lat) {
                    fprintf(stderr, "modbus_load: out of memory\n");
                    exit(1);
                }
            }
            ld->lat[ld->nlat++] = t1 - k->t0;
        } else {
            ld->errors++;
        }
    } else {
        ld->other++;
    }
    if (!ok && !ld->first_error[0])
        snprintf(ld->first_error, sizeof ld->first_error, "%s%s%s",
                 mb_client_status_name(r->status),
                 r->status == MB_CLIENT_OK && r->rsp.exception ? ": exception" : "",
                 r->status == MB_CLIENT_OK && !r->rsp.exception ? ": unexpected values" : "");
    if (!ld->stopping)
        send_next(k);
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct(const uint64_t *v, size_t n, double p)
{
    if (!n)
        return 0;
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return (double)v[i];
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 5) {
        fprintf(stderr, "usage: modbus_load HOST:PORT [CONNECTIONS [SECONDS [WARMUP]]]\n");
        return 2;
    }
    struct net_addr target;
    struct err e;
    if (net_addr_parse(argv[1], 502, &target, &e) != 0) {
        fprintf(stderr, "modbus_load: %s\n", e.msg);
        return 2;
    }
    int nconn = argc > 2 ? atoi(argv[2]) : 1;
    double seconds = argc > 3 ? atof(argv[3]) : 5.0;
    double warmup = argc > 4 ? atof(argv[4]) : 0.5;
    if (nconn < 1 || nconn > 10000 || !(seconds > 0) || !(warmup >= 0)) {
        fprintf(stderr, "modbus_load: CONNECTIONS 1-10000, SECONDS > 0, WARMUP >= 0\n");
        return 2;
    }

    struct sched *s = sched_new();
    struct rtloop *loop = s ? rtloop_new(s, 1.0, &e) : NULL;
    struct net *net = loop ? net_socket_new(loop, &e) : NULL;
    if (!net) {
        fprintf(stderr, "modbus_load: %s\n", s ? e.msg : "out of memory");
        return 1;
    }
    struct load ld;
    memset(&ld, 0, sizeof ld);
    ld.n = nconn;
    ld.req.fc = MB_FC_READ_HOLDING_REGISTERS;
    ld.req.u.read.addr = 0;
    ld.req.u.read.qty = QTY;
    ld.conns = calloc((size_t)nconn, sizeof *ld.conns);
    struct mb_client_opts o;
    mb_client_opts_default(&o);
    o.timeout = 5 * VT_SEC;
    o.max_inflight = 1;
    for (int i = 0; i < nconn; i++) {
        ld.conns[i].ld = &ld;
        ld.conns[i].c = mb_client_new(net, &target, &o, &e);
        if (!ld.conns[i].c) {
            fprintf(stderr, "modbus_load: %s\n", e.msg);
            return 1;
        }
    }
    uint64_t start = now_ns();
    double cpu0 = cpu_seconds();
    ld.measure_from = start + (uint64_t)(warmup * 1e9);
    ld.measure_to = ld.measure_from + (uint64_t)(seconds * 1e9);
    for (int i = 0; i < nconn; i++)
        send_next(&ld.conns[i]);
    vtime_t until = sched_now(s) + (vtime_t)((warmup + seconds) * 1e9) + 10 * VT_MS;
    int sig = rtloop_run(loop, until);
    ld.stopping = 1;
    uint64_t end = now_ns();
    double cpu = (cpu_seconds() - cpu0) / ((double)(end - start) / 1e9);
    double window = (double)(ld.measure_to - ld.measure_from) / 1e9;
    if (end < ld.measure_to) /* interrupted */
        window = (double)(end - ld.measure_from) / 1e9;

    qsort(ld.lat, ld.nlat, sizeof *ld.lat, cmp_u64);
    double sum = 0;
    for (size_t i = 0; i < ld.nlat; i++)
        sum += (double)ld.lat[i];
    printf("modbus_load target=%s connections=%d seconds=%.2f requests=%llu errors=%llu "
           "rps=%.0f p50_us=%.1f p99_us=%.1f mean_us=%.1f cpu=%.2f\n",
           argv[1], nconn, window, (unsigned long long)ld.requests,
           (unsigned long long)ld.errors, window > 0 ? (double)ld.requests / window : 0.0,
           pct(ld.lat, ld.nlat, 0.50) / 1e3, pct(ld.lat, ld.nlat, 0.99) / 1e3,
           ld.nlat ? sum / (double)ld.nlat / 1e3 : 0.0, cpu);
    if (ld.first_error[0])
        fprintf(stderr, "modbus_load: first error: %s\n", ld.first_error);

    for (int i = 0; i < nconn; i++)
        mb_client_free(ld.conns[i].c);
    free(ld.conns);
    free(ld.lat);
    net_free(net);
    rtloop_free(loop);
    sched_free(s);
    return sig || ld.errors || !ld.requests ? 1 : 0;
}
