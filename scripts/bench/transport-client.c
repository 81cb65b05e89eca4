/*
 * Round-trip client for scripts/bench/transport.ts. Prints "rounds=N ns=T errors=E".
 *   shim <rounds> <request-hex>   netlink socket (run under LD_PRELOAD): send, recv(MSG_DONTWAIT)
 *   raw-c <rounds> <request-hex>  SEQPACKET socketpair with a forked C echo peer: send, recv
 *   raw-path <rounds> <request-hex> <path>  SEQPACKET connection to an echo server at path
 */
#define _GNU_SOURCE
#include <linux/netlink.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static size_t unhex(const char *hex, uint8_t *out, size_t cap) {
  size_t n = strlen(hex) / 2;
  if (n > cap) n = cap;
  for (size_t i = 0; i < n; i++) sscanf(hex + 2 * i, "%2hhx", &out[i]);
  return n;
}

/* Sends `rounds` requests, each followed by one read of its answer. */
static void run(int fd, long rounds, const uint8_t *req, size_t len, int flags) {
  static uint8_t buf[65536];
  long errors = 0;
  uint64_t t0 = now_ns();
  for (long i = 0; i < rounds; i++) {
    if (send(fd, req, len, 0) != (ssize_t)len) errors++;
    if (recv(fd, buf, sizeof(buf), flags) <= 0) errors++;
  }
  uint64_t t1 = now_ns();
  printf("rounds=%ld ns=%llu errors=%ld\n", rounds, (unsigned long long)(t1 - t0), errors);
}

int main(int argc, char **argv) {
  if (argc < 4) return 64;
  long rounds = atol(argv[2]);
  uint8_t req[65536];
  size_t len = unhex(argv[3], req, sizeof(req));
  if (!strcmp(argv[1], "shim")) {
    int fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_GENERIC);
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) return perror("socket"), 1;
    run(fd, rounds, req, len, MSG_DONTWAIT); /* the reply must be there when send returns */
    return 0;
  }
  if (!strcmp(argv[1], "raw-c")) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) != 0) return perror("socketpair"), 1;
    pid_t child = fork();
    if (child == 0) {
      close(sv[0]);
      uint8_t b[65536];
      ssize_t n;
      while ((n = recv(sv[1], b, sizeof(b), 0)) > 0) send(sv[1], b, (size_t)n, 0);
      _exit(0);
    }
    close(sv[1]);
    run(sv[0], rounds, req, len, 0);
    close(sv[0]);
    waitpid(child, NULL, 0);
    return 0;
  }
  if (!strcmp(argv[1], "raw-path") && argc > 4) {
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[4]);
    int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) return perror("connect"), 1;
    run(fd, rounds, req, len, 0);
    return 0;
  }
  return 64;
}
