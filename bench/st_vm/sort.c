/* Insertion sort of 1,000 int16s, 100 times (fresh pseudo-random data each time). */
#include <stdint.h>
#include <stdio.h>
#include <time.h>
int main(void)
{
    static int16_t a[1001];
    uint32_t seed = 42;
    int32_t checksum = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int rep = 1; rep <= 100; rep++) {
        for (int i = 1; i <= 1000; i++) {
            seed = seed * 1103515245u + 12345u;
            a[i] = (int16_t)((seed / 65536) % 32768);
        }
        for (int i = 2; i <= 1000; i++) {
            int16_t key = a[i];
            int j = i - 1;
            while (j >= 1 && a[j] > key) {
                a[j + 1] = a[j];
                j--;
            }
            a[j + 1] = key;
        }
        checksum += a[1] + a[500] + a[1000];
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("%.6f %d\n", (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9, checksum);
    return 0;
}
