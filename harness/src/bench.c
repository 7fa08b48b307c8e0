/* bench.c - `fdsoak bench`: what a soak costs, measured in one run.
 *
 * Prints (figures, not assertions: these machines are shared and noisy, so
 * compare the ratios measured side by side here):
 *   1. cycles per second of `fdsoak run`, per scenario;
 *   2. the ratio of its cost per cycle to a bare loop doing the same system
 *      work without the gateway: SQLite open in WAL mode and close, a
 *      failing loopback connect, one fd-count sample;
 *   3. the wall time to replay a 26-hour production retry schedule per path;
 *   4. the cost of one sample (count, and full snapshot) at 10, 1,000 and
 *      10,000 open fds.
 */
#include "driver.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <sqlite3.h>

extern char **environ;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run `fdsoak run` on one scenario; return its summary's seconds, or < 0. */
static double soak_seconds(const char *self, const char *dir, const char *path,
                           const char *adapter, long cycles, long warmup) {
  char out[PATH_MAX], cyc[32], wu[32], file[PATH_MAX + 16];
  char *argv[] = {(char *)self, "run", "--path", (char *)path, "--adapter", (char *)adapter,
                  "--cycles", cyc, "--warmup", wu, "--out", out, "-q", NULL};
  double secs = -1;
  cJSON *root, *sc, *s;
  char *text;
  long len;
  FILE *f;
  pid_t pid;
  int st, devnull;
  posix_spawn_file_actions_t fa;

  snprintf(out, sizeof(out), "%s/%s-%s-%ld", dir, path, adapter, cycles);
  snprintf(cyc, sizeof(cyc), "%ld", cycles);
  snprintf(wu, sizeof(wu), "%ld", warmup);
  posix_spawn_file_actions_init(&fa);
  devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (devnull >= 0)
    posix_spawn_file_actions_adddup2(&fa, devnull, 1);
  if (posix_spawn(&pid, self, &fa, NULL, argv, environ) != 0) {
    posix_spawn_file_actions_destroy(&fa);
    if (devnull >= 0)
      close(devnull);
    return -1;
  }
  posix_spawn_file_actions_destroy(&fa);
  if (devnull >= 0)
    close(devnull);
  waitpid(pid, &st, 0);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    return -1;
  snprintf(file, sizeof(file), "%s/summary.json", out);
  if ((f = fopen(file, "r")) == NULL)
    return -1;
  fseek(f, 0, SEEK_END);
  len = ftell(f);
  rewind(f);
  text = malloc((size_t)len + 1);
  if (text != NULL && fread(text, 1, (size_t)len, f) == (size_t)len) {
    text[len] = '\0';
    root = cJSON_Parse(text);
    sc = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "scenarios"), 0);
    s = cJSON_GetObjectItem(sc, "seconds");
    if (cJSON_IsNumber(s))
      secs = s->valuedouble;
    cJSON_Delete(root);
  }
  free(text);
  fclose(f);
  return secs;
}

/* The same system work as one api/exception cycle, without the gateway. */
static double bare_cycle_us(const char *dir, long n) {
  char db[PATH_MAX];
  struct sockaddr_in sa;
  double t0;
  long i;
  int s;

  snprintf(db, sizeof(db), "%s/bare.db", dir);
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons(47199); /* closed: the kernel refuses on loopback */
  t0 = now_s();
  for (i = 0; i < n; i++) {
    sqlite3 *h = NULL;
    sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    sqlite3_exec(h, "PRAGMA journal_mode=WAL; CREATE TABLE IF NOT EXISTS t(x); SELECT 1 FROM t;",
                 NULL, NULL, NULL);
    sqlite3_close_v2(h);
    s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s >= 0) {
      (void)connect(s, (struct sockaddr *)&sa, sizeof(sa));
      close(s);
    }
    (void)fsk_fd_count(0);
  }
  return (now_s() - t0) / (double)n * 1e6;
}

static void sample_cost(int nfds) {
  struct rlimit rl;
  fsk_fd_t *buf;
  int *opened, have = fsk_fd_count(0), k = 0, i, reps = nfds >= 10000 ? 20 : 200;
  size_t n;
  double t0, count_us, snap_us;

  getrlimit(RLIMIT_NOFILE, &rl);
  if ((rlim_t)nfds + 64 > rl.rlim_cur) {
    rl.rlim_cur = (rlim_t)nfds + 64 <= rl.rlim_max ? (rlim_t)nfds + 64 : rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  opened = calloc((size_t)nfds, sizeof(int));
  buf = calloc((size_t)nfds + 64, sizeof(*buf));
  if (opened == NULL || buf == NULL)
    goto out;
  for (i = have; i < nfds; i++) {
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      break;
    opened[k++] = fd;
  }
  t0 = now_s();
  for (i = 0; i < reps * 10; i++)
    (void)fsk_fd_count(0);
  count_us = (now_s() - t0) / (reps * 10) * 1e6;
  t0 = now_s();
  for (i = 0; i < reps; i++)
    (void)fsk_fd_snapshot(0, buf, (size_t)nfds + 64, &n);
  snap_us = (now_s() - t0) / reps * 1e6;
  printf("  %6d fds: count %8.2f us   classified snapshot %10.1f us\n", fsk_fd_count(0),
         count_us, snap_us);
out:
  while (k > 0)
    close(opened[--k]);
  free(opened);
  free(buf);
}

int fsk__bench_main(int argc, char **argv) {
  static const char *paths[] = {"fatal", "retryable", "exception"};
  static const char *adapters[] = {"api", "platform"};
  char self[PATH_MAX + 16], exe_dir[PATH_MAX], dir[] = "/tmp/fdsoak-bench-XXXXXX";
  const long cycles = 1000, warmup = 10, replay = 315; /* 26 h of attempts at the cap */
  double bare, worst_ratio = 0;
  size_t p, a;
  char cmd[64];

  if (argc > 0) {
    fprintf(stderr, "fdsoak bench: takes no arguments\n");
    return FSK_EXIT_USAGE;
  }
  fsk__exe_dir(exe_dir, sizeof(exe_dir));
  snprintf(self, sizeof(self), "%s/fdsoak", exe_dir);
  if (mkdtemp(dir) == NULL) {
    perror("fdsoak bench: mkdtemp");
    return FSK_EXIT_USAGE;
  }
  bare = bare_cycle_us(dir, 2000);
  printf("fdsoak bench (one run; compare ratios, not absolute times)\n");
  printf("bare loop (SQLite WAL open+close, refused loopback connect, one sample): %.1f us/cycle\n",
         bare);
  printf("%-10s %-9s %12s %12s %10s %16s\n", "path", "adapter", "cycles/s", "us/cycle",
         "x bare", "26 h replay (s)");
  for (a = 0; a < 2; a++) {
    for (p = 0; p < 3; p++) {
      double s = soak_seconds(self, dir, paths[p], adapters[a], cycles, warmup);
      double r = soak_seconds(self, dir, paths[p], adapters[a], replay, 3);
      double us = s > 0 ? s / (double)(cycles + warmup) * 1e6 : -1;
      if (s < 0) {
        printf("%-10s %-9s   (run failed)\n", paths[p], adapters[a]);
        continue;
      }
      if (us / bare > worst_ratio)
        worst_ratio = us / bare;
      printf("%-10s %-9s %12.0f %12.1f %10.2f %16.3f\n", paths[p], adapters[a],
             (double)(cycles + warmup) / s, us, us / bare, r);
    }
  }
  printf("worst ratio to the bare loop: %.2fx (target: within 1.25x)\n", worst_ratio);
  printf("cost of one sample:\n");
  sample_cost(10);
  sample_cost(1000);
  sample_cost(10000);
  snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
  if (system(cmd) != 0)
    fprintf(stderr, "fdsoak bench: could not remove %s\n", dir);
  return 0;
}
