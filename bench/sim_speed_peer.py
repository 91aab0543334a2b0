#!/usr/bin/env python3
"""sim_speed_peer.py - the peer of bench/sim_speed.sh.

The waterworks physics written the way Python testbeds write their physical
process (MiniCPS's SWaT stage-1 model and its descendants: a loop over a
fixed time step updating tank levels with Torricelli outflow, sensors read
from the state): same equations, same dt (10 ms), same sensors (8 at 100 ms,
the pH analyser at 1 s, with noise and lag), same CSV at 1 s. Pure compute:
no sleeps, no database, so it is faster than those testbeds run; it is the
fair "same work in Python" baseline.

Prints one line: simulated seconds, wall seconds, speed-up over real time.
"""
import csv
import math
import random
import sys
import time

def main():
    duration = float(sys.argv[1]) if len(sys.argv) > 1 else 3600.0
    out = sys.argv[2] if len(sys.argv) > 2 else "/dev/null"
    dt = 0.01
    g = 9.80665
    A1 = 0.25                       # sump
    A2 = math.pi * 0.15 ** 2        # T-101
    a_or = math.pi * 0.005 ** 2
    cd = 0.62
    intake = 12e-3 / 60
    qmax = 15e-3 / 60
    v1 = A1 * 0.8; v1max = A1 * 0.8
    v2 = A2 * 0.5; v2max = A2 * 1.0
    speed = 0.6; speed_ref = 0.6; alpha = 1 - math.exp(-dt / 1.5)
    xv = 1.0; fv = 1.0
    profile = [0.15, 0.08, 0.03, 0.00, 0.05, 0.25, 0.70, 1.00, 0.90, 0.70, 0.60, 0.60,
               0.62, 0.58, 0.55, 0.55, 0.62, 0.75, 0.90, 0.95, 0.80, 0.60, 0.40, 0.25]
    rng = random.Random(1)
    ou = 0.0
    spilled = returned = unmet = 0.0
    sensors = []   # [name, getter, lo, hi, noise, lag alpha, filt, value]
    state = {}
    def add(name, key, lo, hi, noise, lag, period):
        sensors.append([name, key, lo, hi, noise, 1 - math.exp(-period / lag) if lag else 1.0,
                        None, 0.0, period])
    add("LT-101", "h2", 0, 1, 1.5e-3, 0.5, 0.1)
    add("LT-201", "h2", 0, 1, 2e-3, 0.5, 0.1)
    add("FT-101", "q_in", 0, 655.35, 0.05, 0.2, 0.1)
    add("FT-102", "q_out", 0, 655.35, 0.05, 0.2, 0.1)
    switches = [("LSH-101", 0.85, True), ("LSL-101", 0.15, False), ("LSHH-201", 0.92, True)]
    sw_state = [0, 0, 0]
    ph_filt = 7.15
    f = open(out, "w", newline="")
    w = csv.writer(f)
    w.writerow(["timestamp", "T-100", "P-101", "P-101.true", "T-101", "FV-102", "consumers"] +
               [s[0] for s in sensors] + [s[0] + ".true" for s in sensors] +
               [s[0] for s in switches] + ["AT-301"])
    steps = int(round(duration / dt))
    q_in = q_out = 0.0
    demand = 4e-3 / 60
    t0 = time.perf_counter()
    for k in range(steps):
        t = k * dt
        if k % 100 == 0:   # once per second: demand knot
            hour = (t / 3600.0) % 24
            h0 = int(hour); fr = hour - h0
            prof = profile[h0] * (1 - fr) + profile[(h0 + 1) % 24] * fr
            a = math.exp(-1 / 120.0)
            ou = ou * a + 0.3e-3 / 60 * math.sqrt(1 - a * a) * rng.gauss(0, 1)
            demand = max(0.0, 4e-3 / 60 + 6e-3 / 60 * prof + ou)
        h1 = v1 / A1; h2 = v2 / A2
        suction = 1.0 if h1 >= 0.02 else h1 / 0.02
        q_in = speed * qmax * suction * xv
        cap = cd * a_or * fv * math.sqrt(2 * g * h2) if h2 > 0 else 0.0
        q_out = min(cap, demand)
        unmet += max(0.0, demand - q_out) * dt
        v1 += (intake - q_in) * dt
        if v1 > v1max:
            returned += v1 - v1max; v1 = v1max
        v1 = max(v1, 0.0)
        v2 += (q_in - q_out) * dt
        if v2 > v2max:
            spilled += v2 - v2max; v2 = v2max
        v2 = max(v2, 0.0)
        speed += (speed_ref - speed) * alpha
        if k % 10 == 0:    # sensors at 100 ms
            state["h2"] = v2 / A2; state["q_in"] = q_in * 60e3; state["q_out"] = q_out * 60e3
            for s in sensors:
                x = state[s[1]]
                s[6] = x if s[6] is None else s[6] + s[5] * (x - s[6])
                y = s[6] + s[4] * rng.gauss(0, 1)
                raw = min(65535, max(0, round((y - s[2]) / (s[3] - s[2]) * 65535)))
                s[7] = s[2] + raw / 65535 * (s[3] - s[2])
            for i, (name, sp, above) in enumerate(switches):
                x = state["h2"]
                if above:
                    sw_state[i] = 1 if x >= sp else (0 if x <= sp - 0.01 else sw_state[i])
                else:
                    sw_state[i] = 1 if x <= sp else (0 if x >= sp + 0.01 else sw_state[i])
        if k % 100 == 0:   # pH analyser at 1 s, CSV row at 1 s
            ph_filt += (1 - math.exp(-1 / 10.0)) * (7.1517 - ph_filt)
            ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(1772409600 + t))
            w.writerow([ts, "%.6f" % h1, "%.3f" % (speed_ref * 100), "%.3f" % (speed * 100),
                        "%.6f" % h2, "%.3f" % (fv * 100), "%.4f" % (demand * 60e3)] +
                       ["%.5f" % s[7] for s in sensors] +
                       ["%.7f" % state[s[1]] for s in sensors] + sw_state +
                       ["%.2f" % (ph_filt + 0.01 * rng.gauss(0, 1))])
    f.close()
    wall = time.perf_counter() - t0
    print("%.0f %.3f %.1f" % (duration, wall, duration / wall))

if __name__ == "__main__":
    main()
