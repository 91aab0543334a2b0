/* The primes up to 1,000,000 by the sieve of Eratosthenes. */
#include <stdbool.h>
#include <stdio.h>
#include <time.h>
int main(void)
{
    static bool flags[1000001];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 2; i <= 1000000; i++)
        flags[i] = true;
    for (int i = 2; i <= 1000; i++)
        if (flags[i])
            for (int j = i * i; j <= 1000000; j += i)
                flags[j] = false;
    int count = 0;
    for (int i = 2; i <= 1000000; i++)
        if (flags[i])
            count++;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("%.6f %d\n", (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9, count);
    return 0;
}
