/* test_range.c — the range as a user runs it: `icsrange run` and
 * `icsrange dataset` on plants/waterworks.yaml with its PLC, SIS and HMI,
 * checked with real peers (mbpoll, tshark), the historian read back from
 * SQLite, and `icsrange ctl`.
 *
 * - fast end to end: AUTO holds the level; an operator write through the
 *   HMI (Modbus FC 6 over the network) forces the pump in MANUAL, the tank
 *   rises until the SIS trips; the historian has the write with its source
 *   address, and the trip.
 * - an inject (`--at`) of a sensor offset: LT-101 and LT-101.true differ,
 *   and the PLC holds the faulty reading at its setpoint.
 * - dataset determinism (sha256 of the four files), and tshark on its pcap:
 *   no malformed frame, no expert error, request/response pairs per
 *   function code equal to the counters in meta.json.
 * - real time: mbpoll reads the level from outside; its connection is in
 *   the pcap with its source port, handshake and FIN, and tshark's
 *   follow,tcp gives its bytes; ctl status/pause/resume/speed.
 * - snapshots: setpoint written with mbpoll on a paused range, snapshot,
 *   restore fast to 24 h with a snapshot at 23 h (the suite's 24 h run:
 *   AUTO holds the new setpoint within 2 cm all day), restore that to 24 h:
 *   the last hour is byte-identical, at most 1 h of physics steps ran, and
 *   a real-time restore still serves the setpoint.
 * - kill -9 of a real-time range: committed historian rows survive and the
 *   database checks clean. Two instances side by side. Bad plant files.
 */
#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "historian/historian.h"
#include "interop.h"
#include "testutil.h"

static int have(const char *prog)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", prog);
    return system(cmd) == 0;
}

static struct tu_run run_ok(const char *const *argv)
{
    struct tu_run r = tu_icsrange_v(argv);
    if (r.status != 0)
        fail_msg("icsrange %s %s exited %d:\n%s\n%s", argv[0], argv[1] ? argv[1] : "", r.status,
                 clip(r.out), clip(r.err));
    return r;
}

/* ---- the historian, read back ---- */

struct evs {
    char text[16][300];
    char source[16][64];
    size_t n;
};

static int ev_cb(void *ctx, int64_t id, const struct hist_event *ev)
{
    (void)id;
    struct evs *e = ctx;
    if (e->n < 16) {
        snprintf(e->text[e->n], sizeof e->text[0], "%s", ev->text ? ev->text : "");
        snprintf(e->source[e->n], sizeof e->source[0], "%s", ev->source ? ev->source : "");
    }
    e->n++;
    return 0;
}

static int details_cb(void *ctx, int64_t id, const struct hist_event *ev)
{
    (void)id;
    snprintf((char *)ctx, 512, "%s", ev->details ? ev->details : "");
    return 0;
}

static void events_of(const char *db, const char *kind, struct evs *out)
{
    struct err e;
    memset(out, 0, sizeof *out);
    struct hist *h = hist_open_ro(db, &e);
    if (!h)
        fail_msg("%s", e.msg);
    if (hist_events_each(h, kind, 0, VT_NEVER, ev_cb, out, &e) < 0) {
        hist_close(h, NULL);
        fail_msg("%s", e.msg);
    }
    hist_close(h, NULL);
}

/* ---- fast end to end ---- */

static void fast_end_to_end(void **state)
{
    (void)state;
    const char *csv = tu_tmp("e2e.csv"), *db = tu_tmp("e2e.db");
    /* the operator switches to MANUAL (%MW0 = holding 1024) and runs the
     * pump (%MW4 = holding 1028) from the HMI at 10 min */
    const char *argv[] = {"run", tu_path("plants/waterworks.yaml"), "--fast", "--duration",
                          "30m", "--csv", csv, "--db", db, "--quiet", "--at", "10m",
                          "hmi.plc.hr1024=1", "--at", "10m", "hmi.plc.hr1028=1", NULL};
    struct tu_run r = run_ok(argv);
    tu_run_free(&r);
    struct tu_csv *c = tu_csv_read(csv);
    size_t lt = tu_csv_col(c, "LT-101.true"), pump = tu_csv_col(c, "P-101.true"),
           attack = tu_csv_col(c, "attack");
    assert_int_equal(c->nrows, 1801);
    /* AUTO: from 2 to 10 min, within 2 cm of the 0.5 m setpoint */
    for (size_t i = 120; i < 600; i++)
        TU_NEAR(tu_csv_at(c, i, lt), 0.5, 0.02);
    double top = 0;
    size_t trip_row = 0;
    for (size_t i = 600; i < c->nrows; i++) {
        double v = tu_csv_at(c, i, lt);
        if (v > top) {
            top = v;
            trip_row = i;
        }
        assert_true(tu_csv_at(c, i, attack) == 0);
    }
    /* forced up past H (0.75 m) until the SIS's trip, which stops the pump
     * short of the top (1.0 m) */
    assert_true(top > 0.8);
    assert_true(top < 0.95);
    assert_true(tu_csv_at(c, trip_row + 30, pump) == 0);
    assert_true(tu_csv_at(c, c->nrows - 1, lt) < top - 0.1);
    tu_csv_free(c);

    struct evs w, trip;
    events_of(db, HIST_EV_NET_WRITE, &w);
    assert_int_equal(w.n, 2);
    TU_CONTAINS(w.text[0], "FC 6 write holding register 1024 = 1");
    TU_CONTAINS(w.text[1], "FC 6 write holding register 1028 = 1");
    /* the HMI's own address (127.0.1.20) and an ephemeral port */
    assert_true(strncmp(w.source[0], "127.0.1.20:", 11) == 0);
    assert_true(atoi(w.source[0] + 11) >= 1024);
    events_of(db, HIST_EV_SIS_TRIP, &trip);
    assert_int_equal(trip.n, 1);
    TU_CONTAINS(trip.text[0], "high-high level trip");
    /* the counters the historian keeps: the two writes, served and sent */
    struct err e;
    struct hist *h = hist_open_ro(db, &e);
    if (!h)
        fail_msg("%s", e.msg);
    int64_t served = -1, sent = -1, polls = -1;
    assert_int_equal(hist_counter_get(h, "servers.plc.fc6", &served, &e), 1);
    assert_int_equal(hist_counter_get(h, "clients.hmi->plc.fc6", &sent, &e), 1);
    assert_int_equal(hist_counter_get(h, "clients.hmi->plc.fc4", &polls, &e), 1);
    hist_close(h, NULL);
    assert_int_equal(served, 2);
    assert_int_equal(sent, 2);
    assert_true(polls >= 1800 && polls <= 1801); /* one input-register read a second */
}

/* A sensor offset injected at 5 min: the PLC holds what LT-101 reports at
 * 0.5 m, so the water really sits 0.15 m lower. */
static void inject_sensor_fault(void **state)
{
    (void)state;
    const char *csv = tu_tmp("fault.csv");
    const char *argv[] = {"run", tu_path("plants/waterworks.yaml"), "--fast", "--duration",
                          "25m", "--csv", csv, "--quiet", "--at", "5m", "LT-101.offset=15cm",
                          NULL};
    struct tu_run r = run_ok(argv);
    tu_run_free(&r);
    struct tu_csv *c = tu_csv_read(csv);
    size_t rep = tu_csv_col(c, "LT-101"), tru = tu_csv_col(c, "LT-101.true");
    for (size_t i = 120; i < 300; i++)
        TU_NEAR(tu_csv_at(c, i, rep) - tu_csv_at(c, i, tru), 0, 0.005);
    /* the last 5 minutes: the report at the setpoint, the truth 15 cm below */
    for (size_t i = c->nrows - 300; i < c->nrows; i++) {
        TU_NEAR(tu_csv_at(c, i, rep), 0.5, 0.02);
        TU_NEAR(tu_csv_at(c, i, tru), 0.35, 0.02);
    }
    tu_csv_free(c);
}

/* ---- datasets ---- */

static void sha256_file(const char *path, char hex[65])
{
    size_t len = 0;
    char *data = tu_read_file(path, &len);
    if (!data)
        fail_msg("cannot read %s", path);
    unsigned char h[32];
    crypto_hash_sha256(h, (const unsigned char *)data, len);
    free(data);
    sodium_bin2hex(hex, 65, h, sizeof h);
}

static const char *dataset(const char *name, const char *seed, const char *duration)
{
    const char *dir = tu_tmp(name);
    const char *argv[] = {"dataset", "--plant", tu_path("plants/waterworks.yaml"), "--duration",
                          duration, "--seed", seed, "--out", dir, "--label",
                          "5m,6m,T0836,setpoint change", NULL};
    struct tu_run r = run_ok(argv);
    /* quiet when not on a terminal */
    assert_string_equal(r.out, "");
    assert_string_equal(r.err, "");
    tu_run_free(&r);
    return dir;
}

static void dataset_determinism(void **state)
{
    (void)state;
    static const char *const files[] = {"process.csv", "traffic.pcap", "labels.csv",
                                        "meta.json"};
    char a[256], b[256], c[256];
    snprintf(a, sizeof a, "%s", dataset("ds_a", "7", "10m"));
    snprintf(b, sizeof b, "%s", dataset("ds_b", "7", "10m"));
    snprintf(c, sizeof c, "%s", dataset("ds_c", "8", "10m"));
    for (size_t i = 0; i < 4; i++) {
        char pa[300], pb[300], ha[65], hb[65];
        snprintf(pa, sizeof pa, "%s/%s", a, files[i]);
        snprintf(pb, sizeof pb, "%s/%s", b, files[i]);
        sha256_file(pa, ha);
        sha256_file(pb, hb);
        if (strcmp(ha, hb) != 0)
            fail_msg("%s differs between two runs with one seed", files[i]);
    }
    char pa[300], pc[300];
    snprintf(pa, sizeof pa, "%s/process.csv", a);
    snprintf(pc, sizeof pc, "%s/process.csv", c);
    assert_false(tu_same_file(pa, pc));
    /* the label: its window in labels.csv and as the attack column */
    snprintf(pa, sizeof pa, "%s/labels.csv", a);
    char *labels = tu_read_file(pa, NULL);
    TU_CONTAINS(labels, "start,end,start_s,end_s,technique,description\n");
    TU_CONTAINS(labels, "2026-03-02T00:05:00.000Z,2026-03-02T00:06:00.000Z,300.000,360.000,"
                        "T0836,setpoint change\n");
    free(labels);
    snprintf(pa, sizeof pa, "%s/process.csv", a);
    struct tu_csv *csv = tu_csv_read(pa);
    size_t att = tu_csv_col(csv, "attack");
    for (size_t i = 0; i < csv->nrows; i++)
        assert_true(tu_csv_at(csv, i, att) == (i >= 300 && i < 360 ? 1 : 0));
    tu_csv_free(csv);
}

/* Counts of `tshark -T fields -e modbus.func_code` lines per (fc, side). */
static void tshark_counts(const char *pcap, const char *filter, long counts[128])
{
    memset(counts, 0, 128 * sizeof counts[0]);
    const char *argv[] = {"tshark", "-n", "-r", pcap, "-Y", filter, "-T", "fields", "-e",
                          "modbus.func_code", NULL};
    struct tu_run r = tu_exec(argv);
    if (r.status != 0)
        fail_msg("tshark exited %d: %s", r.status, clip(r.err));
    for (char *line = r.out; line && *line;) {
        char *nl = strchr(line, '\n');
        int fc = atoi(line);
        if (fc > 0 && fc < 128)
            counts[fc]++;
        line = nl ? nl + 1 : NULL;
    }
    tu_run_free(&r);
}

static void dataset_pcap_tshark(void **state)
{
    (void)state;
    if (!have("tshark"))
        TU_SKIP("tshark (Debian package tshark)");
    const char *dir = dataset("ds_t", "3", "10m");
    char pcap[300], meta[300];
    snprintf(pcap, sizeof pcap, "%s/traffic.pcap", dir);
    snprintf(meta, sizeof meta, "%s/meta.json", dir);
    const char *bad_argv[] = {"tshark", "-n", "-r", pcap, "-Y",
                              "_ws.malformed || _ws.expert.severity == error", NULL};
    struct tu_run r = tu_exec(bad_argv);
    assert_int_equal(r.status, 0);
    if (r.out[0])
        fail_msg("tshark finds malformed frames or expert errors:\n%s", clip(r.out));
    tu_run_free(&r);
    long req[128], rsp[128];
    tshark_counts(pcap, "modbus && tcp.dstport == 502", req);
    tshark_counts(pcap, "modbus && tcp.srcport == 502", rsp);
    json_error_t je;
    json_t *m = json_load_file(meta, 0, &je);
    if (!m)
        fail_msg("meta.json: %s", je.text);
    json_t *tr = json_object_get(m, "transactions");
    long servers[128] = {0}, clients[128] = {0};
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(tr, "servers"), k, v) {
        const char *fc;
        json_t *n;
        json_object_foreach(v, fc, n) servers[atoi(fc) & 127] += (long)json_integer_value(n);
    }
    json_object_foreach(json_object_get(tr, "clients"), k, v) {
        const char *fc;
        json_t *n;
        json_object_foreach(v, fc, n) clients[atoi(fc) & 127] += (long)json_integer_value(n);
    }
    json_decref(m);
    long total = 0;
    for (int fc = 1; fc < 128; fc++) {
        if (rsp[fc] != servers[fc] || rsp[fc] != clients[fc])
            fail_msg("FC %d: tshark sees %ld responses, the servers count %ld, the clients %ld",
                     fc, rsp[fc], servers[fc], clients[fc]);
        /* a request still in flight when the run ended has no response */
        if (req[fc] < rsp[fc] || req[fc] > rsp[fc] + 2)
            fail_msg("FC %d: %ld requests for %ld responses", fc, req[fc], rsp[fc]);
        total += rsp[fc];
    }
    /* the HMI reads 6 blocks of the PLC and 2 of the SIS every second */
    assert_true(total >= 8 * 600);
    assert_true(servers[1] >= 1200 && servers[3] >= 2400);
}

/* ---- real time ---- */

static void range_start(struct server *s, const char *const *args)
{
    char *why;
    if (proc_try_start(s, args, &why) != 0)
        fail_msg("the range exited before it was ready:\n%s", clip(why));
}

static void range_stop(struct server *s)
{
    char *log = server_stop(s);
    release(log);
}

static struct tu_run mbpoll(const char *host, const char *const *args)
{
    const char *argv[24] = {"mbpoll", "-m", "tcp", "-a", "1", "-1", "-o", "2"};
    size_t n = 8;
    for (size_t i = 0; args[i] && n < 22; i++)
        argv[n++] = args[i];
    argv[n++] = host;
    argv[n] = NULL;
    return tu_exec(argv);
}

static long mbpoll_value(struct tu_run *r)
{
    const char *p = strstr(r->out, "]: \t");
    if (r->status != 0 || !p)
        fail_msg("mbpoll exited %d:\n%s\n%s", r->status, clip(r->out), clip(r->err));
    return atol(p + 4);
}

static struct tu_run ctl(const char *instance, const char *a, const char *b)
{
    const char *argv[] = {"ctl", "--instance", instance, a, b, NULL};
    return tu_icsrange_v(argv);
}

static void real_time_mbpoll_pcap(void **state)
{
    (void)state;
    if (!have("mbpoll") || !have("tshark"))
        TU_SKIP("mbpoll and tshark (Debian packages mbpoll, tshark)");
    struct server s;
    const char *pcap = tu_tmp("rt.pcap");
    const char *args[] = {"run", tu_path("plants/waterworks.yaml"), "--instance", "211",
                          "--pcap", pcap, NULL};
    range_start(&s, args);
    /* the level register: input register 0 (1-based reference 1) */
    const char *rd[] = {"-t", "3", "-r", "1", "-c", "1", NULL};
    struct tu_run m = mbpoll("127.0.211.10", rd);
    long level = mbpoll_value(&m);
    tu_run_free(&m);
    /* 0.5 m of a 0-1000 mm range in 0-65535 counts, within noise */
    assert_true(labs(level - 32768) < 700);
    struct tu_run st = ctl("211", "status", NULL);
    assert_int_equal(st.status, 0);
    TU_CONTAINS(st.out, "\"plc_mode\": \"RUN\"");
    TU_CONTAINS(st.out, "\"127.0.211.10:502\"");
    tu_run_free(&st);
    st = ctl("211", "speed", "5");
    assert_int_equal(st.status, 0);
    tu_run_free(&st);
    st = ctl("211", "pause", NULL);
    assert_int_equal(st.status, 0);
    tu_run_free(&st);
    st = ctl("211", "status", NULL);
    TU_CONTAINS(st.out, "\"paused\": true");
    double t1 = tu_json_num(st.out, "t_s");
    tu_run_free(&st);
    sleep_ms(300);
    st = ctl("211", "status", NULL);
    assert_true(tu_json_num(st.out, "t_s") == t1);
    tu_run_free(&st);
    st = ctl("211", "resume", NULL);
    assert_int_equal(st.status, 0);
    tu_run_free(&st);
    sleep_ms(1500);
    range_stop(&s);

    /* mbpoll's connection: from outside the range's addresses */
    const char *conv[] = {"tshark", "-n", "-r", pcap, "-Y",
                          "tcp.flags.syn == 1 && tcp.flags.ack == 0 && !(ip.src == 127.0.211.0/24)",
                          "-T", "fields", "-e", "ip.src", "-e", "tcp.srcport", "-e",
                          "tcp.stream", NULL};
    struct tu_run t = tu_exec(conv);
    assert_int_equal(t.status, 0);
    char ip[64] = "";
    int port = 0, stream = -1;
    if (sscanf(t.out, "%63s %d %d", ip, &port, &stream) != 3)
        fail_msg("no outside connection in the pcap:\n%s", clip(t.out));
    tu_run_free(&t);
    assert_string_equal(ip, "127.0.0.1");
    assert_true(port >= 1024);
    char filter[160];
    snprintf(filter, sizeof filter, "tcp.stream == %d && (tcp.flags.syn == 1 || tcp.flags.fin == 1)",
             stream);
    const char *flags[] = {"tshark", "-n", "-r", pcap, "-Y", filter, "-T", "fields", "-e",
                           "tcp.flags.str", NULL};
    t = tu_exec(flags);
    /* SYN, SYN-ACK, and a FIN from each side */
    size_t syn = 0, fin = 0;
    for (const char *q = t.out; *q; q++) {
        syn += *q == 'S';
        fin += *q == 'F';
    }
    if (syn != 2 || fin != 2)
        fail_msg("mbpoll's connection: %zu SYN and %zu FIN flags:\n%s", syn, fin, clip(t.out));
    tu_run_free(&t);
    const char *bad[] = {"tshark", "-n", "-r", pcap, "-Y",
                         "_ws.malformed || _ws.expert.severity == error", NULL};
    t = tu_exec(bad);
    assert_int_equal(t.status, 0);
    if (t.out[0])
        fail_msg("tshark finds malformed frames or expert errors:\n%s", clip(t.out));
    tu_run_free(&t);
    char follow[64];
    snprintf(follow, sizeof follow, "follow,tcp,raw,%d", stream);
    const char *fol[] = {"tshark", "-n", "-r", pcap, "-q", "-z", follow, NULL};
    t = tu_exec(fol);
    assert_int_equal(t.status, 0);
    /* mbpoll's request: unit 1, FC 4, address 0, count 1; and our answer */
    TU_CONTAINS(t.out, "000000060104");
    TU_CONTAINS(t.out, "00000001");
    char value_hex[16];
    snprintf(value_hex, sizeof value_hex, "010402%04lx", (unsigned long)level);
    TU_CONTAINS(t.out, value_hex);
    tu_run_free(&t);
}

/* The PLC closes an idle connection itself (60 s of virtual time without a
 * request; at x60, a second): the pcap holds its FIN and the client's. */
static void server_close_in_pcap(void **state)
{
    (void)state;
    if (!have("tshark"))
        TU_SKIP("tshark (Debian package tshark)");
    struct server s;
    const char *pcap = tu_tmp("idle.pcap");
    const char *args[] = {"run", tu_path("plants/waterworks.yaml"), "--instance", "218",
                          "--speed", "60", "--pcap", pcap, NULL};
    range_start(&s, args);
    const char *py[] = {"/usr/bin/python3", "-c",
                        "import socket\n"
                        "s = socket.create_connection(('127.0.218.10', 502))\n"
                        "s.settimeout(10)\n"
                        "print(s.getsockname()[1], len(s.recv(10)))\n"
                        "s.close()\n",
                        NULL};
    struct tu_run t = tu_exec(py);
    if (t.status != 0)
        fail_msg("the idle client: %s %s", clip(t.out), clip(t.err));
    int port = 0, got = -1;
    assert_int_equal(sscanf(t.out, "%d %d", &port, &got), 2);
    assert_int_equal(got, 0); /* EOF: the server closed */
    tu_run_free(&t);
    sleep_ms(300);
    range_stop(&s);
    char filter[96];
    snprintf(filter, sizeof filter, "tcp.port == %d && tcp.flags.fin == 1", port);
    const char *q[] = {"tshark", "-n", "-r", pcap, "-Y", filter, "-T", "fields", "-e", "ip.src",
                       NULL};
    t = tu_exec(q);
    assert_int_equal(t.status, 0);
    /* the server's FIN first, then the client's */
    assert_string_equal(t.out, "127.0.218.10\n127.0.0.1\n");
    tu_run_free(&t);
}

/* As root, --capture records the real traffic with libpcap: a SYN scan
 * that never completes a handshake is in the file, which the tap could
 * not draw. */
static void capture_syn_scan(void **state)
{
    (void)state;
    if (geteuid() != 0)
        TU_SKIP("root (capturing on lo needs CAP_NET_RAW)");
    if (!have("nmap") || !have("tshark"))
        TU_SKIP("nmap and tshark (Debian packages nmap, tshark)");
    struct server s;
    const char *pcap = tu_tmp("cap.pcap");
    const char *args[] = {"run", tu_path("plants/waterworks.yaml"), "--instance", "216",
                          "--capture", "lo", "--pcap", pcap, NULL};
    range_start(&s, args);
    const char *scan[] = {"nmap", "-n", "-Pn", "-sS", "-p", "502,503", "127.0.216.10", NULL};
    struct tu_run n = tu_exec(scan);
    if (n.status != 0)
        fail_msg("nmap exited %d: %s", n.status, clip(n.err));
    TU_CONTAINS(n.out, "502/tcp open");
    TU_CONTAINS(n.out, "503/tcp closed");
    tu_run_free(&n);
    sleep_ms(1200);
    range_stop(&s);
    /* the half-open probe of 502 (SYN, SYN-ACK, the scanner's RST) and the
     * closed port's RST; the HMI's polling too */
    const char *q1[] = {"tshark", "-n", "-r", pcap, "-Y",
                        "tcp.dstport == 503 && tcp.flags.syn == 1", NULL};
    struct tu_run t = tu_exec(q1);
    assert_int_equal(t.status, 0);
    assert_true(t.out[0] != '\0');
    tu_run_free(&t);
    const char *q2[] = {"tshark", "-n", "-r", pcap, "-Y",
                        "tcp.srcport == 503 && tcp.flags.reset == 1", NULL};
    t = tu_exec(q2);
    assert_true(t.out[0] != '\0');
    tu_run_free(&t);
    const char *q3[] = {"tshark", "-n", "-r", pcap, "-Y", "ip.src == 127.0.216.20 && modbus",
                        NULL};
    t = tu_exec(q3);
    assert_true(t.out[0] != '\0');
    tu_run_free(&t);
}

/* A device's engineering password from `ctl status`. */
static void password_of(const char *instance, const char *device, char out[64])
{
    struct tu_run st = ctl(instance, "status", NULL);
    assert_int_equal(st.status, 0);
    json_error_t je;
    json_t *j = json_loads(st.out, 0, &je);
    tu_run_free(&st);
    if (!j)
        fail_msg("status is not JSON: %s", je.text);
    out[0] = '\0';
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(j, "devices"), i, d)
        if (strcmp(json_string_value(json_object_get(d, "name")), device) == 0)
            snprintf(out, 64, "%s", json_string_value(json_object_get(d, "engineering_password")));
    json_decref(j);
    assert_true(out[0] != '\0');
}

/* ---- snapshots ---- */

static char *csv_lines_from(const char *path, const char *from_ts)
{
    char *text = tu_read_file(path, NULL);
    if (!text)
        fail_msg("cannot read %s", path);
    char *p = strstr(text, from_ts);
    if (!p)
        fail_msg("%s has no row at %s", path, from_ts);
    char *out = strdup(p);
    free(text);
    return out;
}

static void snapshot_23h_restore(void **state)
{
    (void)state;
    if (!have("mbpoll"))
        TU_SKIP("mbpoll (Debian package mbpoll)");
    const char *s0 = tu_tmp("s0.snap"), *s23 = tu_tmp("s23.snap");
    const char *full = tu_tmp("full.csv"), *last = tu_tmp("last.csv");
    struct server s;
    const char *args[] = {"run", tu_path("plants/waterworks.yaml"), "--instance", "212",
                          "--paused", NULL};
    range_start(&s, args);
    /* the operator's new setpoint: %MW2 = holding 1026 (reference 1027), 600 mm */
    const char *wr[] = {"-t", "4", "-r", "1027", NULL};
    const char *argv_w[24] = {"mbpoll", "-m", "tcp", "-a", "1", "-1", "-o", "2", "-t", "4",
                              "-r", "1027", "127.0.212.10", "600", NULL};
    (void)wr;
    struct tu_run m = tu_exec(argv_w);
    if (m.status != 0 || !strstr(m.out, "Written 1 references"))
        fail_msg("mbpoll write failed:\n%s\n%s", clip(m.out), clip(m.err));
    tu_run_free(&m);
    char pw0[64], pw1[64];
    password_of("212", "plc", pw0);
    struct tu_run st = ctl("212", "snapshot", s0);
    if (st.status != 0)
        fail_msg("ctl snapshot: %s %s", clip(st.out), clip(st.err));
    tu_run_free(&st);
    st = ctl("212", "stop", NULL);
    assert_int_equal(st.status, 0);
    tu_run_free(&st);
    /* it exits by itself after stop */
    int status = -1;
    for (int i = 0; i < 2000; i++) {
        if (waitpid(s.pid, &status, WNOHANG) == s.pid)
            break;
        sleep_ms(10);
    }
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    s.pid = 0;

    /* the day, from the snapshot, with a snapshot at 23 h */
    const char *day[] = {"run", "--restore", s0, "--fast", "--duration", "24h",
                         "--snapshot-at", "23h", s23, "--csv", full, NULL};
    struct tu_run r = run_ok(day);
    tu_run_free(&r);
    /* the last hour, from the 23 h snapshot, in a new process */
    const char *hour[] = {"run", "--restore", s23, "--fast", "--duration", "24h", "--csv",
                          last, NULL};
    r = run_ok(hour);
    const char *steps = strstr(r.out, "physics steps");
    assert_non_null(steps);
    const char *open = strrchr(r.out, '(');
    assert_non_null(open);
    long long n = atoll(open + 1);
    /* 1 h at dt = 10 ms */
    assert_true(n > 0 && n <= 360000);
    tu_run_free(&r);
    char *a = csv_lines_from(full, "2026-03-02T23:00:00Z");
    char *b = csv_lines_from(last, "2026-03-02T23:00:00Z");
    assert_int_equal(strlen(a), strlen(b));
    if (strcmp(a, b) != 0)
        fail_msg("the last hour differs between the restored and the uninterrupted run");
    free(a);
    free(b);
    /* the setpoint written before the first snapshot holds all day: AUTO
     * within 2 cm of 0.6 m after the step */
    struct tu_csv *c = tu_csv_read(full);
    size_t lt = tu_csv_col(c, "LT-101.true");
    assert_int_equal(c->nrows, 86401);
    for (size_t i = 900; i < c->nrows; i++)
        TU_NEAR(tu_csv_at(c, i, lt), 0.6, 0.02);
    tu_csv_free(c);

    /* and a real-time restore serves it over Modbus */
    const char *rt[] = {"run", "--restore", s23, "--instance", "212", "--paused", NULL};
    range_start(&s, rt);
    const char *rd[] = {"-t", "4", "-r", "1027", "-c", "1", NULL};
    m = mbpoll("127.0.212.10", rd);
    assert_int_equal(mbpoll_value(&m), 600);
    tu_run_free(&m);
    st = ctl("212", "status", NULL);
    TU_CONTAINS(st.out, "\"time\": \"2026-03-02T23:00:00.000Z\"");
    tu_run_free(&st);
    /* the random engineering password the first range drew is still the one */
    password_of("212", "plc", pw1);
    assert_string_equal(pw0, pw1);
    /* ctl restore: the running range goes back to the first snapshot */
    st = ctl("212", "restore", s0);
    assert_int_equal(st.status, 0);
    tu_run_free(&st);
    st.status = 1;
    for (int i = 0; i < 500 && st.status != 0; i++) {
        sleep_ms(20);
        st = ctl("212", "status", NULL);
        if (st.status != 0 || !strstr(st.out, "\"restored_at_s\": 0.0"))
            st.status = st.status ? st.status : 1;
        if (st.status != 0)
            tu_run_free(&st);
    }
    assert_int_equal(st.status, 0);
    tu_run_free(&st);
    m = mbpoll("127.0.212.10", rd);
    assert_int_equal(mbpoll_value(&m), 600);
    tu_run_free(&m);
    range_stop(&s);
}

/* The engineer's day: the instructor turns the SIS's key to PROGRAM, the
 * engineering workstation downloads a program over FC 90, the key goes back
 * to RUN; the historian has both key changes, the mode changes and the
 * download with the program's SHA-256. */
static void keyswitch_and_download_events(void **state)
{
    (void)state;
    const char *db = tu_tmp("eng.db");
    struct server s;
    const char *args[] = {"run", tu_path("plants/waterworks.yaml"), "--instance", "217",
                          "--db", db, NULL};
    range_start(&s, args);
    char password[64];
    password_of("217", "sis", password);
    /* in RUN the download is refused */
    const char *dl[] = {"plc", "download", tu_path("programs/sis.st"), "--target",
                        "127.0.217.11:502", "--password", password, NULL};
    struct tu_run r = tu_icsrange_v(dl);
    assert_int_not_equal(r.status, 0);
    tu_run_free(&r);
    const char *k1[] = {"ctl", "--instance", "217", "key", "sis", "program", NULL};
    r = tu_icsrange_v(k1);
    assert_int_equal(r.status, 0);
    tu_run_free(&r);
    r = tu_icsrange_v(dl);
    if (r.status != 0)
        fail_msg("download in PROGRAM: %s %s", clip(r.out), clip(r.err));
    tu_run_free(&r);
    const char *k2[] = {"ctl", "--instance", "217", "key", "sis", "run", NULL};
    r = tu_icsrange_v(k2);
    assert_int_equal(r.status, 0);
    tu_run_free(&r);
    sleep_ms(500);
    range_stop(&s);

    struct evs keys, dls, modes, refused;
    events_of(db, HIST_EV_KEYSWITCH, &keys);
    assert_int_equal(keys.n, 2);
    TU_CONTAINS(keys.text[0], "RUN -> PROGRAM");
    TU_CONTAINS(keys.text[1], "PROGRAM -> RUN");
    events_of(db, HIST_EV_DOWNLOAD, &dls);
    assert_int_equal(dls.n, 1);
    events_of(db, HIST_EV_MODE, &modes);
    assert_true(modes.n >= 2); /* stopped for the transfer, started again */
    events_of(db, HIST_EV_REFUSED, &refused);
    assert_true(refused.n >= 1);
    /* the download's details carry the program's hash */
    char hex[65];
    sha256_file(tu_path("programs/sis.st"), hex);
    struct err e;
    struct hist *h = hist_open_ro(db, &e);
    assert_non_null(h);
    char det[512] = "";
    assert_true(hist_events_each(h, HIST_EV_DOWNLOAD, 0, VT_NEVER, details_cb, det, &e) == 1);
    hist_close(h, NULL);
    TU_CONTAINS(det, hex);
}

/* ---- durability, instances ---- */

static void kill9_historian(void **state)
{
    (void)state;
    const char *db = tu_tmp("k.db");
    struct server s;
    const char *args[] = {"run", tu_path("plants/waterworks.yaml"), "--instance", "213",
                          "--speed", "20", "--db", db, "--no-ctl", NULL};
    range_start(&s, args);
    sleep_ms(2500);
    struct err e;
    struct hist *h = hist_open_ro(db, &e);
    if (!h)
        fail_msg("%s", e.msg);
    int64_t before = hist_count_samples(h, &e);
    hist_close(h, NULL);
    assert_true(before > 10);
    kill(s.pid, SIGKILL);
    waitpid(s.pid, NULL, 0);
    s.pid = 0;
    h = hist_open_ro(db, &e);
    if (!h)
        fail_msg("after kill -9: %s", e.msg);
    int64_t after = hist_count_samples(h, &e);
    assert_true(after >= before);
    assert_int_equal(hist_integrity_check(h, &e), 0);
    assert_true(hist_count_events(h, HIST_EV_NOTE, &e) >= 1);
    hist_close(h, NULL);
    /* and it opens for writing again */
    struct hist *w = hist_open(db, NULL, 0, NULL, &e);
    if (!w)
        fail_msg("reopen for writing: %s", e.msg);
    assert_int_equal(hist_close(w, &e), 0);
}

static void two_instances(void **state)
{
    (void)state;
    if (!have("mbpoll"))
        TU_SKIP("mbpoll (Debian package mbpoll)");
    struct server a, b;
    const char *pa = tu_tmp("a.pcap"), *pb = tu_tmp("b.pcap");
    const char *args_a[] = {"run", tu_path("plants/waterworks.yaml"), "--instance", "214",
                            "--pcap", pa, NULL};
    const char *args_b[] = {"run", tu_path("plants/waterworks.yaml"), "--instance", "215",
                            "--pcap", pb, NULL};
    range_start(&a, args_a);
    range_start(&b, args_b);
    const char *argv_w[] = {"mbpoll", "-m", "tcp", "-a", "1", "-1", "-o", "2", "-t", "4",
                            "-r", "1027", "127.0.214.10", "700", NULL};
    struct tu_run m = tu_exec(argv_w);
    assert_int_equal(m.status, 0);
    tu_run_free(&m);
    const char *rd[] = {"-t", "4", "-r", "1027", "-c", "1", NULL};
    m = mbpoll("127.0.214.10", rd);
    assert_int_equal(mbpoll_value(&m), 700);
    tu_run_free(&m);
    m = mbpoll("127.0.215.10", rd);
    assert_int_equal(mbpoll_value(&m), 500);
    tu_run_free(&m);
    struct tu_run st = ctl("214", "status", NULL);
    TU_CONTAINS(st.out, "\"instance\": 214");
    tu_run_free(&st);
    st = ctl("215", "status", NULL);
    TU_CONTAINS(st.out, "\"instance\": 215");
    tu_run_free(&st);
    /* a second range on instance 214 is refused, naming the cause */
    const char *dup[] = {"run", tu_path("plants/waterworks.yaml"), "--instance", "214",
                         "--duration", "1s", NULL};
    struct tu_run d = tu_icsrange_v(dup);
    assert_int_not_equal(d.status, 0);
    tu_run_free(&d);
    range_stop(&a);
    range_stop(&b);
}

/* ---- bad files ---- */

static char *replace_new(const char *text, const char *from, const char *to)
{
    const char *p = strstr(text, from);
    if (!p)
        fail_msg("'%s' not in the plant file", from);
    size_t n = strlen(text) - strlen(from) + strlen(to) + 1;
    char *out = malloc(n);
    snprintf(out, n, "%.*s%s%s", (int)(p - text), text, to, p + strlen(from));
    return out;
}

/* The waterworks with programs at absolute paths (the file moves to the
 * temp folder), then one edit. */
static const char *variant(const char *name, const char *from, const char *to)
{
    char *text = tu_read_file(tu_path("plants/waterworks.yaml"), NULL);
    char progs[512];
    snprintf(progs, sizeof progs, "%s/", tu_path("programs"));
    char *a = replace_new(text, "../programs/", progs);
    char *b = replace_new(a, "../programs/", progs);
    char *c = from ? replace_new(b, from, to) : strdup(b);
    const char *path = tu_write_tmp(name, c);
    free(text);
    free(a);
    free(b);
    free(c);
    return path;
}

static int line_of(const char *path, const char *needle)
{
    char *text = tu_read_file(path, NULL);
    char *p = strstr(text, needle);
    int line = 1;
    for (char *q = text; p && q < p; q++)
        line += *q == '\n';
    free(text);
    return p ? line : -1;
}

static void expect_error(const char *path, const char *needle, int delta, const char *what)
{
    const char *argv[] = {"run", path, "--fast", "--duration", "1s", NULL};
    struct tu_run r = tu_icsrange_v(argv);
    assert_int_not_equal(r.status, 0);
    char where[600];
    snprintf(where, sizeof where, "%s:%d:", path, line_of(path, needle) + delta);
    TU_CONTAINS(r.err, where);
    TU_CONTAINS(r.err, what);
    tu_run_free(&r);
}

static void bad_files(void **state)
{
    (void)state;
    /* the variant itself runs */
    const char *ok = variant("ok.yaml", NULL, NULL);
    const char *argv[] = {"run", ok, "--fast", "--duration", "2s", "--quiet", NULL};
    struct tu_run r = run_ok(argv);
    tu_run_free(&r);
    expect_error(variant("noprog.yaml", "sis.st", "nothere.st"), "nothere.st", 0,
                 "cannot read");
    expect_error(variant("dup.yaml", "host: 11", "host: 10"), "sis.st", -1,
                 "10 is already the address of plc");
    expect_error(variant("tag.yaml", "\"%IW0\": LT-201", "\"%IW0\": LT-999"), "LT-999", 0,
                 "LT-999");
    expect_error(variant("dev.yaml", "  sis:\n    \"%IW0\"", "  sys:\n    \"%IW0\""), "  sys:",
                 0, "no device 'sys'");
    /* a program that does not compile: the program's file and line */
    const char *bad_st = tu_write_tmp("bad.st", "PROGRAM p\nVAR x : INT; END_VAR\nx := ;\n"
                                                "END_PROGRAM\n");
    const char *badprog = variant("badprog.yaml", "sis.st", "x");
    char *t = tu_read_file(badprog, NULL);
    char progs[512];
    snprintf(progs, sizeof progs, "%s/x", tu_path("programs"));
    char *u = replace_new(t, progs, bad_st);
    const char *p2 = tu_write_tmp("badprog2.yaml", u);
    free(t);
    free(u);
    const char *argv2[] = {"run", p2, "--fast", "--duration", "1s", NULL};
    r = tu_icsrange_v(argv2);
    assert_int_not_equal(r.status, 0);
    char where[600];
    snprintf(where, sizeof where, "%s:3:", bad_st);
    TU_CONTAINS(r.err, where);
    tu_run_free(&r);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(fast_end_to_end, kill_servers),
        cmocka_unit_test_teardown(inject_sensor_fault, kill_servers),
        cmocka_unit_test_teardown(dataset_determinism, kill_servers),
        cmocka_unit_test_teardown(dataset_pcap_tshark, kill_servers),
        cmocka_unit_test_teardown(real_time_mbpoll_pcap, kill_servers),
        cmocka_unit_test_teardown(server_close_in_pcap, kill_servers),
        cmocka_unit_test_teardown(capture_syn_scan, kill_servers),
        cmocka_unit_test_teardown(snapshot_23h_restore, kill_servers),
        cmocka_unit_test_teardown(keyswitch_and_download_events, kill_servers),
        cmocka_unit_test_teardown(kill9_historian, kill_servers),
        cmocka_unit_test_teardown(two_instances, kill_servers),
        cmocka_unit_test_teardown(bad_files, kill_servers),
    };
    return cmocka_run_group_tests_name("range", tests, NULL, NULL);
}
