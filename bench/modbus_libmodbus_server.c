/* modbus_libmodbus_server.c — the benchmark's peer: a libmodbus 3.1.6
 * Modbus/TCP server holding the same map as bench/modbus.sh gives
 * `icsrange modbus serve` (1000 of each table, holding registers 0-99 set
 * to 0..99), written the way libmodbus's own tests/bandwidth-server-many-up.c
 * is: one thread, select() over the listening socket and every client,
 * modbus_receive() then modbus_reply() for the socket that is readable.
 *
 * Usage: modbus_libmodbus_server [ADDR [PORT]]   (default 127.0.0.1 15502)
 * Prints "listening on ADDR:PORT" on stderr once ready (PORT 0: any free
 * port); SIGTERM/SIGINT stop it (exit 0). */
#include <arpa/inet.h>
#include <errno.h>
#include <modbus.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#define TABLE 1000

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

int main(int argc, char **argv)
{
    const char *ip = argc > 1 ? argv[1] : "127.0.0.1";
    int port = argc > 2 ? atoi(argv[2]) : 15502;
    modbus_t *ctx = modbus_new_tcp(ip, port);
    modbus_mapping_t *map = modbus_mapping_new(TABLE, TABLE, TABLE, TABLE);
    if (!ctx || !map) {
        fprintf(stderr, "modbus_libmodbus_server: %s\n", modbus_strerror(errno));
        return 1;
    }
    for (int i = 0; i < 100; i++)
        map->tab_registers[i] = (uint16_t)i;
    int lfd = modbus_tcp_listen(ctx, 128);
    if (lfd < 0) {
        fprintf(stderr, "modbus_libmodbus_server: listen on %s:%d: %s\n", ip, port,
                modbus_strerror(errno));
        return 1;
    }
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    getsockname(lfd, (struct sockaddr *)&sa, &sl);
    fprintf(stderr, "listening on %s:%d\n", ip, ntohs(sa.sin_port));
    struct sigaction act;
    memset(&act, 0, sizeof act);
    act.sa_handler = on_signal;
    sigaction(SIGTERM, &act, NULL);
    sigaction(SIGINT, &act, NULL);

    fd_set all;
    FD_ZERO(&all);
    FD_SET(lfd, &all);
    int maxfd = lfd;
    uint8_t query[MODBUS_TCP_MAX_ADU_LENGTH];
    unsigned long long served = 0;
    while (!stop) {
        fd_set rd = all;
        if (select(maxfd + 1, &rd, NULL, NULL, NULL) < 0) {
            if (errno == EINTR)
                continue;
            perror("select");
            break;
        }
        for (int fd = 0; fd <= maxfd; fd++) {
            if (!FD_ISSET(fd, &rd))
                continue;
            if (fd == lfd) {
                int c = accept(lfd, NULL, NULL);
                if (c < 0)
                    continue;
                if (c >= FD_SETSIZE) {
                    close(c);
                    continue;
                }
                FD_SET(c, &all);
                if (c > maxfd)
                    maxfd = c;
                continue;
            }
            modbus_set_socket(ctx, fd);
            int n = modbus_receive(ctx, query);
            if (n > 0) {
                modbus_reply(ctx, query, n, map);
                served++;
            } else if (n < 0) {
                close(fd);
                FD_CLR(fd, &all);
                while (maxfd > lfd && !FD_ISSET(maxfd, &all))
                    maxfd--;
            }
        }
    }
    fprintf(stderr, "stopped: %llu requests served\n", served);
    for (int fd = 0; fd <= maxfd; fd++)
        if (FD_ISSET(fd, &all))
            close(fd);
    modbus_set_socket(ctx, -1);
    modbus_free(ctx);
    modbus_mapping_free(map);
    return 0;
}
