/* inj_stats_dump — print a target's shim counters from another process.
 *
 *   inj_stats_dump STATS_PATH [FD]
 *
 * Exit 0 and "key=value" lines; exit 3 when the page exists but no shim
 * initialised it (-EAGAIN: e.g. a static binary); exit 1 on other errors.
 * With FD, also prints the recorded origin of that fd (FDSOAK_INJECT_TRACK=1). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inj.h"

int main(int argc, char **argv) {
  inj_stats_view_t v;
  const inj_stats_page_t *p;
  int rc;

  if (argc < 2)
    return 2;
  rc = inj_stats_open(argv[1], &v);
  if (rc == -EAGAIN) {
    printf("state=not-loaded\n");
    return 3;
  }
  if (rc < 0) {
    fprintf(stderr, "inj_stats_dump: %s: %s\n", argv[1], strerror(-rc));
    return 1;
  }
  p = v.page;
  printf("pid=%u\nnrules=%u\ngeneration=%llu\ninjected_total=%llu\nseq=%llu\n"
         "control_errors=%llu\nattached=%llu\nfd_track=%u\nobserved_total=%llu\n",
         p->pid, p->nrules, (unsigned long long)inj_stats_load(&p->generation),
         (unsigned long long)inj_stats_load(&p->injected_total),
         (unsigned long long)inj_stats_load(&p->seq),
         (unsigned long long)inj_stats_load(&p->control_errors),
         (unsigned long long)inj_stats_load(&p->attached), p->fd_track,
         (unsigned long long)inj_stats_load(&p->observed_total));
  printf("unreach_approx=%u\nunreach_why=%u\n", p->unreach_approx, p->unreach_why);
  for (unsigned i = 0; i < p->nrules && i < INJ_MAX_RULES; i++)
    printf("rule%u seen=%llu matched=%llu injected=%llu observed=%llu text=%s\n", i + 1,
           (unsigned long long)inj_stats_load(&p->rules[i].calls_seen),
           (unsigned long long)inj_stats_load(&p->rules[i].matched),
           (unsigned long long)inj_stats_load(&p->rules[i].injected),
           (unsigned long long)inj_stats_load(&p->rules[i].observed), p->rules[i].text);
  if (argc > 2) {
    inj_fd_record_t r;
    int fd = atoi(argv[2]);
    /* The fd's process: argv[3], else the one that set the page up. */
    int pid = argc > 3 ? atoi(argv[3]) : (int)p->pid;
    if (inj_stats_fd_record(&v, pid, fd, &r) == 0) {
      printf("fd%d op=%s nframes=%u", fd, inj_op_name(r.op), r.nframes);
      for (unsigned i = 0; i < r.nframes && i < INJ_BT_FRAMES; i++)
        printf(" %#llx", (unsigned long long)r.frames[i]);
      printf("\n");
    } else {
      printf("fd%d none\n", fd);
    }
  }
  inj_stats_close(&v);
  return 0;
}
