/* inj_threads — several threads hammering connect(), for exact counts.
 *
 *   inj_threads THREADS ITERATIONS
 *
 * Each iteration: socket, connect to 127.0.0.1:0 (closed by construction:
 * the kernel refuses it), close.  The test rule injects ENETUNREACH, so an
 * injected failure is told apart from the kernel's ECONNREFUSED.  Prints
 * "injected=N refused=M other=K" and, when FDSOAK_INJECT is set, also
 * "expected=E": what inj_when_fires() predicts for rule 1 over all
 * THREADS*ITERATIONS calls, whatever the interleaving. */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "inj.h"

static int iterations;
static unsigned long injected, refused, other;

static void *worker(void *arg) {
  struct sockaddr_in a;
  unsigned long inj = 0, ref = 0, oth = 0;
  (void)arg;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < iterations; i++) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      oth++;
      continue;
    }
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
      if (errno == ENETUNREACH)
        inj++;
      else if (errno == ECONNREFUSED)
        ref++;
      else
        oth++;
    } else {
      oth++;
    }
    close(fd);
  }
  __atomic_fetch_add(&injected, inj, __ATOMIC_RELAXED);
  __atomic_fetch_add(&refused, ref, __ATOMIC_RELAXED);
  __atomic_fetch_add(&other, oth, __ATOMIC_RELAXED);
  return NULL;
}

int main(int argc, char **argv) {
  int nthreads = argc > 1 ? atoi(argv[1]) : 4;
  pthread_t th[64];
  const char *spec = getenv("FDSOAK_INJECT");

  iterations = argc > 2 ? atoi(argv[2]) : 1000;
  if (nthreads < 1 || nthreads > 64)
    return 2;
  for (int i = 0; i < nthreads; i++)
    pthread_create(&th[i], NULL, worker, NULL);
  for (int i = 0; i < nthreads; i++)
    pthread_join(th[i], NULL);
  printf("injected=%lu refused=%lu other=%lu\n", injected, refused, other);
  if (spec) {
    static inj_spec_t s;
    char err[256];
    unsigned long exp = 0;
    if (inj_spec_parse(spec, &s, err, sizeof err) == 0 && s.nrules > 0) {
      for (uint64_t n = 0; n < (uint64_t)nthreads * (uint64_t)iterations; n++)
        exp += (unsigned long)inj_when_fires(&s.rules[0], n, 0);
      printf("expected=%lu\n", exp);
    }
  }
  return 0;
}
