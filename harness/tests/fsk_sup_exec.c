/* fsk_sup_exec - run one command under the seccomp engine (supervise.c) and
 * exit as it did: the fidelity cases and the benchmark compare a program
 * under the supervisor with the same program on the real event, without
 * fdsoak watch's sampling around it.
 *
 *   fsk_sup_exec SPEC CMD [ARG...]
 *
 * The supervisor's one-line account goes to stderr with FSK_SUP_VERBOSE=1;
 * FSK_SUP_ORIGINS=1 notes the origin of every open and socket call, as
 * fdsoak watch does with origins on; FSK_SUP_PROFILE=1 adds the time it
 * took per notification; FSK_SUP_SYNC_WAKE=0 leaves out the synchronous
 * wake-up and FSK_SUP_NICE=N sets the serving thread's nice value relative
 * to this process's (default -10; the benchmark's comparisons).  With an
 * unreachable rule the namespace helper (unreachd.c) is started, as fdsoak
 * watch starts it, so the fault is the real event; FSK_SUP_UNREACH=0
 * leaves it out (the model, for comparison).
 * Exit: the command's code (128+N for signal N), 2 on a usage or setup
 * error.
 */
#include "supervise.h"
#include "unreachd.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  inj_spec_t *spec = calloc(1, sizeof *spec);
  fsk__sup_t *s = NULL;
  fsk__target_t t = {.guard_fd = -1};
  fsk__unreachd_t u = {0};
  char err[256], why[512], stats[] = "/tmp/fsk-sup-exec-XXXXXX", line[512];
  int fd, rc, code = 2;

  if (argc < 3 || spec == NULL) {
    fprintf(stderr, "usage: fsk_sup_exec SPEC CMD [ARG...]\n");
    return 2;
  }
  if (fsk__sup_bpf_env(why, sizeof why) < 0) {
    fprintf(stderr, "fsk_sup_exec: %s\n", why);
    free(spec);
    return 2;
  }
  if (inj_spec_parse(argv[1], spec, err, sizeof err) != 0) {
    fprintf(stderr, "fsk_sup_exec: %s\n", err);
    return 2;
  }
  /* A rule the engine cannot carry out is refused, as fdsoak watch
   * refuses it, never left to do nothing. */
  if ((rc = fsk__sup_unsupported(spec, why, sizeof why)) != 0) {
    fprintf(stderr, "fsk_sup_exec: --inject: rule %d: %s (engine seccomp)\n", rc, why);
    free(spec);
    return 2;
  }
  /* Forked before the supervisor starts any thread. */
  for (uint32_t i = 0; i < spec->nrules; i++)
    if (spec->rules[i].action == INJ_DO_UNREACH && u.pid == 0 &&
        (getenv("FSK_SUP_UNREACH") == NULL || atoi(getenv("FSK_SUP_UNREACH")) != 0) &&
        fsk__unreachd_start(&u, err, sizeof err) != 0) {
      fprintf(stderr, "fsk_sup_exec: no unreachable helper (the model instead): %s\n", err);
      break;
    }
  if ((fd = mkstemp(stats)) < 0) {
    perror("fsk_sup_exec: mkstemp");
    fsk__unreachd_stop(&u);
    return 2;
  }
  close(fd);
  if ((rc = fsk__sup_new(&s, spec, stats)) != 0) {
    fprintf(stderr, "fsk_sup_exec: %s\n", strerror(-rc));
    goto out;
  }
  if (u.pid > 0)
    fsk__sup_unreach(s, u.name);
  if (getenv("FSK_SUP_PROFILE") != NULL)
    fsk__sup_profile(s);
  if (getenv("FSK_SUP_SYNC_WAKE") != NULL || getenv("FSK_SUP_NICE") != NULL)
    fsk__sup_tune(s, getenv("FSK_SUP_SYNC_WAKE") == NULL || atoi(getenv("FSK_SUP_SYNC_WAKE")) != 0,
                  getenv("FSK_SUP_NICE") != NULL ? atoi(getenv("FSK_SUP_NICE")) : -10);
  if ((rc = fsk__target_init(&t)) != 0) {
    fprintf(stderr, "fsk_sup_exec: %s\n", strerror(-rc));
    goto out;
  }
  /* Origins too (the cost benchmark): every open and socket call that
   * goes through gets its attempt, fd and stack noted. */
  if (getenv("FSK_SUP_ORIGINS") != NULL)
    fsk__sup_track(s);
  if ((rc = fsk__sup_spawn(s, &t, argv + 2, err, sizeof err)) != 0) {
    fprintf(stderr, "fsk_sup_exec: %s\n", err);
    goto out;
  }
  while (fsk__target_poll(&t))
    usleep(1000);
  code = WIFEXITED(t.status) ? WEXITSTATUS(t.status) : 128 + WTERMSIG(t.status);
  if (getenv("FSK_SUP_VERBOSE") != NULL) {
    fsk__sup_describe(s, line, sizeof line);
    fprintf(stderr, "%s\n", line);
  }
out:
  fsk__target_release(&t);
  fsk__sup_free(s);
  fsk__unreachd_stop(&u);
  unlink(stats);
  free(spec);
  return code;
}
