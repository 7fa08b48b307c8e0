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
#include "driver.h"

#include <stdio.h>
#include <string.h>

#ifndef FDSOAK_VERSION
#define FDSOAK_VERSION "0.0.0"
#endif

static void usage(FILE *f) {
  fprintf(
    f, "usage: fdsoak run   [--path fatal|retryable|exception|all] [--adapter api|platform|all]\n"
       "                    [--cycles N] [--warmup N] [--regress PATH] [--out DIR] [--json] [-q]\n"
       "                    [--matrix] [--valgrind]\n"
       "       fdsoak watch [--inject SPEC] [--cycles N | --duration S] [--interval MS]\n"
       "                    [--warmup N] [--period S] [--timeout S] [--stall S] [--out DIR]\n"
       "                    [--sarif FILE] [--json] [-q] (--pid PID | -- CMD [ARG...])\n"
       "       fdsoak bench\n"
       "       fdsoak gate  [--baseline FILE] [--update-baseline] [--report FILE.md]\n"
       "                    [--sarif FILE] RESULT_DIR [RESULT_DIR...]\n"
       "       fdsoak bisect GOOD BAD [--build CMD] [--keep DIR] -- VERB ARGS...\n"
       "       fdsoak report [--markdown FILE] [--sarif FILE] [--svg FILE] [-q] DIR [DIR...]\n"
       "       fdsoak --version;  fdsoak VERB --help\n"
       "exit: 0 flat/pass, 1 leak, 2 usage or environment error, 3 inconclusive\n");
}

int main(int argc, char **argv) {
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
  if (strcmp(argv[1], "run") == 0)
    return fsk__run_main(argc - 2, argv + 2);
  if (strcmp(argv[1], "watch") == 0)
    return fsk__watch_main(argc - 2, argv + 2);
  if (strcmp(argv[1], "bench") == 0)
    return fsk__bench_main(argc - 2, argv + 2);
  if (strcmp(argv[1], "gate") == 0)
    return fsk__gate_main(argc - 2, argv + 2);
  if (strcmp(argv[1], "bisect") == 0)
    return fsk__bisect_main(argc - 2, argv + 2);
  if (strcmp(argv[1], "report") == 0)
    return fsk__report_main(argc - 2, argv + 2);
  return fsk__usage_error("unknown verb '%s' (run, watch, bench, gate, bisect, report)", argv[1]);
}
