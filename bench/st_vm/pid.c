/* 1,000,000 steps of a PID loop on a first-order plant, in double. */
#include <stdio.h>
#include <time.h>
int main(void)
{
    volatile double kp = 1.2, ki = 0.4, kd = 0.05, dt = 0.01, tau = 2.0;
    double sp = 40.0, pv = 0.0, err, prev = 0.0, integ = 0.0, deriv, u;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int k = 1; k <= 1000000; k++) {
        if (k % 200000 == 0)
            sp = 100.0 - sp;
        err = sp - pv;
        integ = integ + ki * err * dt;
        deriv = (err - prev) / dt;
        u = kp * err + integ + kd * deriv;
        if (u > 100.0)
            u = 100.0;
        else if (u < 0.0)
            u = 0.0;
        prev = err;
        pv = pv + (u - pv) * dt / tau;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("%.6f %.6f\n", (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9, pv);
    return 0;
}
