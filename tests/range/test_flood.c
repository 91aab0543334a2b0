/* test_flood.c — the comms budget: a flood costs the operator the view,
 * never the physics. The default waterworks range runs fast; from 30 s to
 * 90 s a client at 127.0.1.66 sends reads to the BPCS PLC at 2.5 times its
 * budget (500 requests per second against 200). The PLC answers the excess
 * with exception 06, the HMI's polls fail and its view of the PLC goes
 * stale (an event in the historian), while the level stays held within
 * 2 cm; once the flood stops the view comes back. Built on the range's
 * internal structure to place the flooding client on its in-memory net. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "range/range_int.h"
#include "testutil.h"

struct flood {
    struct mb_client *c;
    vtime_t from, to;
    uint64_t sent, answered, busy;
};

static void flood_done(void *ctx, const struct mb_result *res)
{
    struct flood *f = ctx;
    if (res->status != MB_CLIENT_OK || !res->pdu)
        return;
    f->answered++;
    if (res->pdu_len >= 2 && res->pdu[0] == (0x80 | MB_FC_READ_HOLDING_REGISTERS) &&
        res->pdu[1] == 0x06)
        f->busy++;
}

static void flood_tick(void *ctx, vtime_t now)
{
    struct flood *f = ctx;
    if (now < f->from || now >= f->to || mb_client_pending(f->c) > 4)
        return;
    struct mb_req q = {.fc = MB_FC_READ_HOLDING_REGISTERS, .u.read = {1024, 10}};
    struct err e;
    if (mb_client_send(f->c, 1, &q, flood_done, f, &e) == 0)
        f->sent++;
}

struct lost {
    int lost, restored;
};

static int note_cb(void *ctx, int64_t id, const struct hist_event *ev)
{
    (void)id;
    struct lost *l = ctx;
    if (ev->text && strstr(ev->text, "view of plc lost"))
        l->lost++;
    if (ev->text && strstr(ev->text, "view of plc restored"))
        l->restored++;
    return 0;
}

static void flood_costs_the_view_not_the_physics(void **state)
{
    (void)state;
    struct range_opts o;
    range_opts_default(&o);
    o.plant_path = tu_path("plants/waterworks.yaml");
    o.fast = 1;
    o.duration = 120 * VT_SEC;
    const char *db = tu_tmp("flood.db"), *csv = tu_tmp("flood.csv");
    o.db_path = db;
    o.csv_path = csv;
    o.ctl_path = "";
    struct err e;
    struct range *r = range_new(&o, &e);
    if (!r)
        fail_msg("%s", e.msg);
    struct range_dev *plc = NULL, *hmi = NULL;
    for (size_t i = 0; i < r->spec.ndev; i++) {
        if (strcmp(r->spec.dev[i].name, "plc") == 0)
            plc = &r->spec.dev[i];
        if (r->spec.dev[i].kind == RK_HMI)
            hmi = &r->spec.dev[i];
    }
    assert_non_null(plc);
    assert_non_null(hmi);
    assert_true(plc->budget == 200);
    struct flood f = {0};
    f.from = 30 * VT_SEC;
    f.to = 90 * VT_SEC;
    struct mb_client_opts co;
    mb_client_opts_default(&co);
    co.max_inflight = 4;
    co.timeout = VT_SEC;
    net_addr_parse("127.0.1.66:0", 0, &co.from, &e);
    co.has_from = 1;
    f.c = mb_client_new(r->net, &plc->addr, &co, &e);
    assert_non_null(f.c);
    assert_true(sched_every(r->s, VT_MS, 2 * VT_MS, SCHED_PRIO_COMMAND, flood_tick, &f) >= 0);
    int tg = hmi_find(hmi->hmi, "plc");
    assert_true(tg >= 0);
    /* before: the view is fresh */
    sched_run_until(r->s, 29 * VT_SEC);
    assert_true(hmi_target_view(hmi->hmi, (size_t)tg)->fresh);
    uint64_t failed_before = hmi_target_view(hmi->hmi, (size_t)tg)->failed;
    /* during: stale */
    sched_run_until(r->s, 89 * VT_SEC);
    const struct hmi_view *v = hmi_target_view(hmi->hmi, (size_t)tg);
    assert_false(v->fresh);
    assert_true(v->failed > failed_before + 30);
    const struct mb_server_stats *st = mb_server_stats(plc_device_server(plc->plc));
    assert_true(st->busy > 10000);
    /* the flood got the budget's worth of answers (200 a second for
     * 60 s, the HMI's share aside), and exception 06 for the rest */
    assert_true(f.sent > 25000);
    print_message("flood: %llu sent, %llu answered, %llu busy; server busy %llu\n", (unsigned long long)f.sent, (unsigned long long)f.answered, (unsigned long long)f.busy, (unsigned long long)st->busy);
    assert_true(f.busy > 15000);
    uint64_t served = f.answered - f.busy;
    assert_true(served <= 200 * 60 + 200);
    assert_true(served > 200 * 60 - 1000);
    /* after: the rest of the run; the view comes back */
    assert_int_equal(range_run(r, &e), 0);
    assert_true(hmi_target_view(hmi->hmi, (size_t)tg)->fresh);
    mb_client_free(f.c);
    range_free(r);

    struct hist *h = hist_open_ro(db, &e);
    if (!h)
        fail_msg("%s", e.msg);
    struct lost l = {0};
    assert_true(hist_events_each(h, HIST_EV_NOTE, 0, VT_NEVER, note_cb, &l, &e) >= 0);
    hist_close(h, NULL);
    assert_true(l.lost >= 1);
    assert_true(l.restored >= 1);
    /* the physics never noticed: AUTO held the level all along */
    struct tu_csv *c = tu_csv_read(csv);
    size_t lt = tu_csv_col(c, "LT-101.true");
    for (size_t i = 10; i < c->nrows; i++)
        TU_NEAR(tu_csv_at(c, i, lt), 0.5, 0.02);
    tu_csv_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(flood_costs_the_view_not_the_physics),
    };
    return cmocka_run_group_tests_name("range_flood", tests, NULL, NULL);
}
