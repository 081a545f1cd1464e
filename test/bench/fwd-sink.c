/*
 * Sink of the forwarding benchmark (forward.ts builds it with cc at bench time). In C so that the
 * receiving end never drops what the chain delivered.
 *
 *   fwd-sink           prints its UDP port (127.0.0.1, chosen by the kernel) as one line, then
 *                      takes one command per line on stdin:
 *   arm TRIAL WARM TOTAL LATENCY   count packets of TRIAL with WARM <= seq < TOTAL, and if LATENCY
 *                                  is 1 record their one-way latency; answers "ok"
 *   report                         answers "RECEIVED DUPLICATES STRAY COUNT" and then one line
 *                                  with COUNT latencies in microseconds (0.1 µs), unsorted
 *
 * Latency is CLOCK_MONOTONIC now minus the send time fwd-gen wrote at offset 8; both processes
 * read the same clock.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PAYLOAD 200
#define BATCH 64
#define SOCKET_BUFFER (4 * 1024 * 1024)

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static uint32_t get_u32(const uint8_t *p) { uint32_t v = 0; for (int i = 3; i >= 0; i--) v = (v << 8) | p[i]; return v; }
static uint64_t get_u64(const uint8_t *p) { uint64_t v = 0; for (int i = 7; i >= 0; i--) v = (v << 8) | p[i]; return v; }

static long trial = -1, warm = 0, total = 0, received = 0, duplicates = 0, stray = 0, count = 0;
static uint8_t *seen = NULL;
static float *lat = NULL;

static void on_packet(const uint8_t *m, ssize_t n, int64_t at) {
  if (n != PAYLOAD || (long)get_u32(m) != trial) { stray++; return; }
  long seq = (long)get_u32(m + 4);
  if (seq < warm || seq >= total) return;
  if (seen[seq]) { duplicates++; return; }
  seen[seq] = 1;
  received++;
  if (lat != NULL) lat[count++] = (float)((double)(at - (int64_t)get_u64(m + 8)) / 1000.0);
}

int main(void) {
  setvbuf(stdout, NULL, _IOFBF, 1 << 16);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) { perror("fwd-sink: socket"); return 1; }
  int buf = SOCKET_BUFFER;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = 0 };
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0) { perror("fwd-sink: bind"); return 1; }
  socklen_t len = sizeof addr;
  getsockname(fd, (struct sockaddr *)&addr, &len);
  printf("%d\n", ntohs(addr.sin_port));
  fflush(stdout);

  static uint8_t bufs[BATCH][PAYLOAD + 64];
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  for (int i = 0; i < BATCH; i++) {
    iov[i].iov_base = bufs[i];
    iov[i].iov_len = sizeof bufs[i];
    memset(&msgs[i], 0, sizeof msgs[i]);
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  char line[256];
  size_t have = 0;
  struct pollfd pf[2] = { { .fd = fd, .events = POLLIN }, { .fd = 0, .events = POLLIN } };
  for (;;) {
    if (poll(pf, 2, -1) < 0) continue;
    if (pf[0].revents & POLLIN) {
      int n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
      int64_t at = now_ns();
      for (int i = 0; i < n; i++) on_packet(bufs[i], msgs[i].msg_len, at);
    }
    if (pf[1].revents & (POLLIN | POLLHUP)) {
      ssize_t r = read(0, line + have, sizeof line - 1 - have);
      if (r <= 0) return 0;
      have += (size_t)r;
      line[have] = 0;
      char *nl;
      while ((nl = strchr(line, '\n')) != NULL) {
        *nl = 0;
        long t, w, tot, l;
        if (sscanf(line, "arm %ld %ld %ld %ld", &t, &w, &tot, &l) == 4 && w >= 0 && tot >= w) {
          free(seen); free(lat);
          seen = calloc((size_t)tot + 1, 1);
          lat = l ? malloc(sizeof(float) * ((size_t)(tot - w) + 1)) : NULL;
          trial = t; warm = w; total = tot;
          received = duplicates = stray = count = 0;
          printf("ok\n");
        } else if (strcmp(line, "report") == 0) {
          printf("%ld %ld %ld %ld\n", received, duplicates, stray, count);
          for (long i = 0; i < count; i++) printf(i == 0 ? "%.1f" : " %.1f", lat[i]);
          printf("\n");
        } else {
          fprintf(stderr, "fwd-sink: bad command: %s\n", line);
          return 2;
        }
        fflush(stdout);
        size_t used = (size_t)(nl - line) + 1;
        memmove(line, nl + 1, have - used + 1);
        have -= used;
      }
      if (have >= sizeof line - 1) { fprintf(stderr, "fwd-sink: command too long\n"); return 2; }
    }
  }
}
