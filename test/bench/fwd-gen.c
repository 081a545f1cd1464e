/*
 * Traffic generator of the forwarding benchmark (forward.ts builds it with cc at bench time).
 * Written in C so that the generator, not the chain under test, is never the limit: a JavaScript
 * generator on the same two cores capped the bare chain and flattered the relay/bare ratio.
 *
 *   fwd-gen            then, one request per line on stdin:
 *   PORT TRIAL RATE WARM TOTAL
 *
 * For each request it sends TOTAL 200-byte datagrams to 127.0.0.1:PORT at RATE packets/s and
 * answers one line "SENT ELAPSED_NS SEND_ERRORS" on stdout. It stays up between requests so the
 * bench can account its CPU as its own. Pacing: wake every TICK_NS (absolute-time sleep on
 * CLOCK_MONOTONIC) and send every packet whose due time has passed, so the rate stays exact when a
 * wake comes late; per-packet wakes would cost every hop a wake-up each.
 *
 * Payload: u32le trial, u32le sequence, u64le CLOCK_MONOTONIC ns at send (the clock of Node's
 * process.hrtime and of fwd-sink), zeros.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PAYLOAD 200
#define TICK_NS 200000LL
#define SOCKET_BUFFER (4 * 1024 * 1024)

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void put_u32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static void put_u64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) { perror("fwd-gen: socket"); return 1; }
  int buf = SOCKET_BUFFER;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  uint64_t errors = 0;
  int connected_port = -1;
  char line[256];
  while (fgets(line, sizeof line, stdin) != NULL) {
    long port, trial, warm, total;
    double rate;
    if (sscanf(line, "%ld %ld %lf %ld %ld", &port, &trial, &rate, &warm, &total) != 5 || rate <= 0 || total < 0) {
      fprintf(stderr, "fwd-gen: bad request: %s", line);
      return 2;
    }
    (void)warm;
    if (port != connected_port) {
      struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
      inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
      if (connect(fd, (struct sockaddr *)&to, sizeof to) != 0) { perror("fwd-gen: connect"); return 1; }
      connected_port = (int)port;
    }
    uint8_t pkt[PAYLOAD];
    memset(pkt, 0, sizeof pkt);
    put_u32(pkt, (uint32_t)trial);
    double ns_per_packet = 1e9 / rate;
    int64_t start = now_ns();
    long sent = 0;
    for (;;) {
      int64_t elapsed = now_ns() - start;
      long due = (long)((double)elapsed / ns_per_packet) + 1;
      if (due > total) due = total;
      while (sent < due) {
        put_u32(pkt + 4, (uint32_t)sent);
        put_u64(pkt + 8, (uint64_t)now_ns());
        if (send(fd, pkt, sizeof pkt, 0) < 0) errors++;
        sent++;
      }
      if (sent >= total) break;
      int64_t next = (int64_t)((double)sent * ns_per_packet);
      if (next < elapsed + TICK_NS) next = elapsed + TICK_NS;
      int64_t at = start + next;
      struct timespec ts = { .tv_sec = at / 1000000000LL, .tv_nsec = at % 1000000000LL };
      while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {}
    }
    printf("%ld %lld %llu\n", sent, (long long)(now_ns() - start), (unsigned long long)errors);
  }
  return 0;
}
