/* fsk_c_store.c - the seed's reconnect loop as a static C program, for the
 * seccomp engine's C origins (harness/tests/go.sh, case c_origins).
 *
 * Built -static -O2 (gcc leaves out frame pointers there), once with -g
 * and once without.  Each attempt opens a store of two files and connects
 * to 127.0.0.1:PORT, where the program itself listens; fdsoak's rule fails
 * one connect in three.  With -leak a failed attempt drops its store
 * without closing it (the bug); without it the store is closed on every
 * path.  The store's functions are kept out of line so that the report has
 * a frame of each to name (gcc would otherwise fold them into main).
 *
 * Usage: fsk_c_store [-leak] [-log FILE] PORT ATTEMPTS
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct {
  int db, wal;
} store_t;

static char g_dir[64];

__attribute__((noinline)) static int store_open(store_t *s) {
  char p[96];

  snprintf(p, sizeof p, "%s/responses.db", g_dir);
  if ((s->db = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
    return -1;
  snprintf(p, sizeof p, "%s/responses.db-wal", g_dir);
  if ((s->wal = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
    close(s->db);
    return -1;
  }
  return 0;
}

__attribute__((noinline)) static void store_close(store_t *s) {
  close(s->db);
  close(s->wal);
}

/* One attempt: 0 connected, -1 failed (the store dropped with -leak). */
__attribute__((noinline)) static int attempt(int port, int leak) {
  store_t s;
  struct sockaddr_in a;
  int fd, rc;

  if (store_open(&s) != 0) {
    perror("store_open");
    exit(1);
  }
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
    perror("socket");
    exit(1);
  }
  rc = connect(fd, (struct sockaddr *)&a, sizeof a);
  close(fd);
  if (rc != 0 && leak)
    return -1;
  store_close(&s);
  return rc == 0 ? 0 : -1;
}

int main(int argc, char **argv) {
  int leak = 0, port, attempts, i, failed = 0, ln, one = 1;
  const char *logf = NULL;
  FILE *log = NULL;
  struct sockaddr_in a;
  struct timespec pause = {0, 5000000};

  while (argc > 1 && argv[1][0] == '-') {
    if (strcmp(argv[1], "-leak") == 0) {
      leak = 1;
    } else if (strcmp(argv[1], "-log") == 0 && argc > 2) {
      logf = argv[2];
      argv++, argc--;
    } else {
      break;
    }
    argv++, argc--;
  }
  if (argc != 3) {
    fprintf(stderr, "usage: fsk_c_store [-leak] [-log FILE] PORT ATTEMPTS\n");
    return 2;
  }
  port = atoi(argv[1]);
  attempts = atoi(argv[2]);
  snprintf(g_dir, sizeof g_dir, "/tmp/fsk-c-store-XXXXXX");
  if (mkdtemp(g_dir) == NULL || (logf != NULL && (log = fopen(logf, "w")) == NULL)) {
    perror("fsk_c_store");
    return 2;
  }
  /* Our own listener: a connect fails only when fdsoak fails it. */
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if ((ln = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0 ||
      setsockopt(ln, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      bind(ln, (struct sockaddr *)&a, sizeof a) != 0 || listen(ln, 4096) != 0) {
    perror("listen");
    return 2;
  }
  for (i = 0; i < attempts; i++) {
    if (attempt(port, leak) != 0) {
      failed++;
      /* fdsoak counts each injected failure as an attempt: the store was
       * opened in the attempt this connect ended. */
      if (log != NULL && leak) {
        fprintf(log, "%d\n", failed);
        fflush(log);
      }
    }
    /* Drain the backlog: accepted connections are closed at once. */
    for (;;) {
      int c = accept4(ln, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (c < 0)
        break;
      close(c);
    }
    nanosleep(&pause, NULL);
  }
  printf("%d attempts, %d failed\n", attempts, failed);
  return 0;
}
