/* main.c - the fdsoak command line: one verb, one file.
 *
 *   fdsoak run    ...   (run.c: the reference gateway in-process)
 *   fdsoak watch  ...   (watch.c: any program, from outside)
 *   fdsoak bench  ...   (bench.c)
 *   fdsoak gate   ...   (gate.c)
 *   fdsoak bisect ...   (bisect.c)
 *   fdsoak report ...   (report.c: the report again, from results)
 *
 * Exit codes of every verb: 0 flat/pass, 1 leak, 2 usage or environment
 * error, 3 inconclusive.
 */
#include "args.h"
#include "driver.h"
#include "unreachd.h"

#include <stdio.h>
#include <string.h>

#ifndef FDSOAK_VERSION
#define FDSOAK_VERSION "0.0.0"
#endif

/* The verbs `fdsoak --help` lists; __worker, run's internal worker, and
 * __unreachd, the namespace helper for tests that preload the shim by hand
 * (unreachd.c), are not among them. */
static const struct {
  const fsk__verb_t *verb;
  int (*main)(int argc, char **argv);
} verbs[] = {
  {&fsk__run_verb, fsk__run_main},       {&fsk__watch_verb, fsk__watch_main},
  {&fsk__bench_verb, fsk__bench_main},   {&fsk__gate_verb, fsk__gate_main},
  {&fsk__bisect_verb, fsk__bisect_main}, {&fsk__report_verb, fsk__report_main},
};
#define NVERBS (sizeof verbs / sizeof verbs[0])

static void usage(FILE *f) {
  size_t i;

  for (i = 0; i < NVERBS; i++)
    fsk__args_synopsis(f, verbs[i].verb, i == 0 ? "usage: " : "       ");
  fprintf(f, "       fdsoak --version;  fdsoak VERB --help\n"
             "exit: 0 flat/pass, 1 leak, 2 usage or environment error, 3 inconclusive\n");
}

int main(int argc, char **argv) {
  size_t i;

  if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? FSK_EXIT_USAGE : 0;
  }
  if (strcmp(argv[1], "--version") == 0) {
    printf("fdsoak %s\n", FDSOAK_VERSION);
    return 0;
  }
  if (strcmp(argv[1], "__worker") == 0)
    return fsk__run_worker_main(argc - 2, argv + 2);
  if (strcmp(argv[1], "__unreachd") == 0)
    return fsk__unreachd_main(argc - 2, argv + 2);
  for (i = 0; i < NVERBS; i++)
    if (strcmp(argv[1], verbs[i].verb->verb) == 0)
      return verbs[i].main(argc - 2, argv + 2);
  return fsk__error(NULL,
                    "unknown verb '%s' (run, watch, bench, gate, bisect, report; see "
                    "fdsoak --help)",
                    argv[1]);
}
