/* bisect.c - `fdsoak bisect`: the first commit that leaks.
 *
 *   fdsoak bisect GOOD BAD [--build CMD] [--keep DIR] -- VERB ARGS...
 *
 * Run in a git work tree.  Drives `git bisect` with a soak as the test:
 * at each step CMD (if given) runs through `sh -c`, then `fdsoak VERB
 * --out STEP_DIR ARGS...`.  Flat (0) marks the commit good, leak (1) bad;
 * inconclusive (3), a usage error (2), anything else, or a build that
 * failed marks it skipped -- a step that cannot be judged must not steer
 * the search.  BAD is soaked first (a flat BAD means there is nothing to
 * find: exit 1) and so is GOOD (a leaking GOOD would make the answer a
 * lie: exit 2).  At the end it prints `first leaking commit: SHA SUBJECT`
 * and that commit's leak table from the summary.json its step wrote.
 *
 * The VERB runs with this very fdsoak, so every commit is judged by the
 * same rules; with --build, a command that is a path (./build/bin/fdsoak
 * VERB ...) runs instead, for bisecting a tree that builds fdsoak itself.
 *
 * The user's work tree is never touched: the search runs in a temporary
 * `git worktree` of its own (under TMPDIR), so the branch, the checkout,
 * and untracked and ignored files stay as they were whatever happens to
 * the search.  Each step soaks a clean checkout of its commit (a --build
 * that rewrites tracked files is undone before the next one).  SIGINT,
 * SIGTERM, SIGHUP and SIGPIPE (`| head` closing) stop the step's soak,
 * remove the temporary work tree and exit 3; after a SIGKILL the temporary
 * tree stays in TMPDIR until `git worktree prune` forgets it.
 * Exit: 0 found, 1 BAD is flat, 2 usage or environment error (not a git
 * work tree, unknown revision, dirty tree, GOOD leaks), 3 no answer (only
 * skipped commits left, or interrupted).
 */
#include "args.h"
#include "driver.h"
#include "proc.h"
#include "results_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#define OUT_MAX 65536
#define SHOW_LEAKS 8     /* places a leak table shows */
#define INTERRUPTED (-2) /* a phase stopped by a signal */

static volatile sig_atomic_t interrupted;
static volatile pid_t current_child;
/* The private work tree the search runs in: every git command and every
 * step runs there once it exists (NULL before). */
static const char *tree;
static char step_cwd[2 * PATH_MAX + 2];

/* The one error printer (args.c), under the name this file always used. */
#define berr(...) fsk__error("bisect", __VA_ARGS__)

/* An end point (GOOD or BAD) whose step gave neither flat nor leak (rc as
 * step returns it): say why and where its log is; the exit code. */
static int unjudged(const char *which, const char *sha, int rc, const char *root) {
  berr("%s %.12s cannot be judged (%s): see %s/%.12s.log", which, sha,
       rc < 0    ? "build failed"
       : rc == 3 ? "inconclusive"
                 : "soak error",
       root, sha);
  return rc == 3 ? FSK_EXIT_INCONCLUSIVE : FSK_EXIT_USAGE;
}

/* A terminal's Ctrl-C reaches the whole foreground group, the soak
 * included, which then writes its partial results and exits; a signal sent
 * to bisect alone (kill, a CI runner's cancel) is passed on to the step. */
static void on_signal(int sig, siginfo_t *si, void *ctx) {
  (void)ctx;
  interrupted = sig;
  /* SIGPIPE is ours alone (nobody reads our output any more): the step's
   * soak is stopped the way a cancel stops it. */
  if (current_child > 0 && sig == SIGPIPE)
    kill(current_child, SIGTERM);
  else if (current_child > 0 && (si == NULL || si->si_code == SI_USER || si->si_code == SI_QUEUE))
    kill(current_child, sig);
}

/* Run argv; its stdout and stderr go to the file log (appended), or into
 * buf when log is NULL and buf is not.  git runs in the C locale so its
 * messages can be read.  Returns the exit status, 128+N for a signal, or
 * a negative errno when it could not start. */
static int run(char *const argv[], const char *log, char *buf, size_t len, int git) {
  int pfd[2] = {-1, -1}, status, fd;
  size_t used = 0;
  pid_t pid, parent;

  if (buf != NULL && len > 0)
    buf[0] = '\0';
  if (log == NULL && buf != NULL && pipe2(pfd, O_CLOEXEC) != 0)
    return -errno;
  fflush(NULL);
  parent = getpid();
  pid = fork();
  if (pid < 0) {
    int e = -errno;
    if (pfd[0] >= 0) {
      close(pfd[0]);
      close(pfd[1]);
    }
    return e;
  }
  if (pid == 0) {
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    /* A bisect killed outright takes its step's soak with it (which then
     * stops its own target). */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
      _exit(125);
    if (!git && step_cwd[0] != '\0' && chdir(step_cwd) != 0) {
      fprintf(stderr, "cannot enter %s: %s\n", step_cwd, strerror(errno));
      _exit(125);
    }
    if (git) {
      setenv("LC_ALL", "C", 1);
      unsetenv("LANGUAGE");
      setenv("GIT_TERMINAL_PROMPT", "0", 1);
    }
    if (log != NULL) {
      fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (fd < 0)
        _exit(126);
    } else if (buf != NULL) {
      fd = pfd[1];
    } else {
      fd = -1;
    }
    if (fd >= 0 && (dup2(fd, 1) < 0 || dup2(fd, 2) < 0))
      _exit(126);
    fd = open("/dev/null", O_RDONLY);
    if (fd >= 0 && fd != 0) {
      dup2(fd, 0);
      close(fd);
    }
    execvp(argv[0], argv);
    fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  current_child = pid;
  if (pfd[0] >= 0) {
    close(pfd[1]);
    for (;;) {
      char sink[4096];
      ssize_t n =
        len - used > 1 ? read(pfd[0], buf + used, len - used - 1) : read(pfd[0], sink, sizeof sink);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      if (len - used > 1)
        used += (size_t)n;
    }
    buf[used] = '\0';
    close(pfd[0]);
  }
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      current_child = 0;
      return -errno;
    }
  }
  current_child = 0;
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

/* git ARGS..., output into buf (NULL-terminated list). */
static int git(char *buf, size_t len, ...) {
  char *argv[16];
  int n = 0;
  va_list ap;

  argv[n++] = "git";
  if (tree != NULL) {
    argv[n++] = "-C";
    argv[n++] = (char *)tree;
  }
  va_start(ap, len);
  while (n < 15 && (argv[n] = va_arg(ap, char *)) != NULL)
    n++;
  va_end(ap);
  argv[n] = NULL;
  return run(argv, NULL, buf, len, 1);
}

static void chomp(char *s) {
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
    s[--n] = '\0';
}

/* The full sha of a revision that names a commit, or an error. */
static int resolve(const char *rev, char sha[64]) {
  char spec[512], out[256];

  snprintf(spec, sizeof spec, "%s^{commit}", rev);
  if (git(out, sizeof out, "rev-parse", "--verify", "--quiet", spec, NULL) != 0)
    return -1;
  chomp(out);
  if (strlen(out) < 40 || strlen(out) >= 64)
    return -1;
  snprintf(sha, 64, "%s", out);
  return 0;
}

static void subject_of(const char *sha, char *buf, size_t len) {
  if (git(buf, len, "log", "-1", "--format=%s", sha, NULL) != 0)
    snprintf(buf, len, "?");
  chomp(buf);
}

typedef struct {
  const char *build;   /* --build CMD, or NULL */
  const char *keep;    /* --keep DIR, or NULL */
  char root[PATH_MAX]; /* where each step's results go */
  char **soak;         /* argv of the soak, with "--out" and a slot for its dir */
  int out_slot;        /* index of the dir in soak */
  int steps;
  const char *good_rev, *bad_rev; /* as given */
  char good[64], bad[64];         /* resolved */
  char prefix[PATH_MAX];          /* where in the tree the user stands */
  char tree_dir[PATH_MAX];        /* the private work tree, or "" */
  int started;                    /* it is a registered work tree */
  struct sigaction old[4];        /* the dispositions to restore */
  char self[PATH_MAX];            /* this fdsoak */
  char out[OUT_MAX];              /* the last git command's output */
} bisect_t;

/* One step: build and soak the checked-out commit sha.  Returns the
 * soak's exit code, or -1 when the build failed (a skip). */
static int step(bisect_t *b, const char *sha, const char *role) {
  char dir[PATH_MAX + 16], log[PATH_MAX + 32], subject[256], shortsha[13];
  int rc;

  snprintf(shortsha, sizeof shortsha, "%.12s", sha);
  subject_of(sha, subject, sizeof subject);
  snprintf(dir, sizeof dir, "%s/%s", b->root, shortsha);
  snprintf(log, sizeof log, "%s.log", dir);
  b->steps++;
  if (b->build != NULL) {
    char *argv[] = {"sh", "-c", (char *)b->build, NULL};

    rc = run(argv, log, NULL, 0, 0);
    if (rc != 0) {
      printf("  %-6s %s %s: build failed (exit %d, %s) -> skip\n", role, shortsha, subject, rc,
             log);
      fflush(stdout);
      return -1;
    }
  }
  b->soak[b->out_slot] = dir;
  rc = run(b->soak, log, NULL, 0, 0);
  printf("  %-6s %s %s: %s (exit %d)", role, shortsha, subject,
         rc == 0   ? "flat"
         : rc == 1 ? "leak"
         : rc == 3 ? "inconclusive"
         : rc == 2 ? "error"
                   : "failed",
         rc);
  if (strcmp(role, "step") == 0)
    printf(" -> %s", rc == 0 ? "good" : rc == 1 ? "bad" : "skip");
  if (rc != 0 && rc != 1)
    printf(" [%s]", log);
  putchar('\n');
  fflush(stdout);
  return rc;
}

/* The leak table of the commit whose results are in dir: every scenario
 * that leaked, with its rate and why, and its fds grouped by the place
 * that opened them (finding.c, as after a soak); then the projection. */
static void print_leaks(const char *dir) {
  fsk_run_t run;
  size_t i;
  int rc;

  if ((rc = fsk__results_load(dir, &run)) != 0) {
    printf("  (no readable summary in %s: %s)\n", dir,
           rc == -EBADMSG ? "not a summary fdsoak wrote" : strerror(-rc));
    return;
  }
  for (i = 0; i < run.nscen; i++) {
    const fsk_scenario_t *s = &run.scen[i];
    int first = -1, last = -1;

    if (s->verdict != FSK_VERDICT_LEAK)
      continue;
    (void)fsk__scenario_ends(s, &first, &last);
    printf("  %s/%s: leak, fds %d -> %d", s->path, s->adapter, first, last);
    if (isfinite(s->rate))
      printf(", %+.4f fd per %s", s->rate, s->unit != NULL ? s->unit : "cycle");
    printf("\n");
    if (s->stats.why[0])
      printf("    %s\n", s->stats.why);
    if (s->nleaked == 0)
      printf("    (no fd outlived its cycle by identity; the count grew)\n");
    fsk_findings_print(stdout, s, SHOW_LEAKS);
  }
  if (run.has_projection && run.projection_text[0])
    printf("  projection: %s\n", run.projection_text);
  printf("  results: %s\n", dir);
  fsk__results_release(&run);
}

/* Undo what a step did to the private tree's tracked files, and remove
 * the untracked ones it made (ignored build output stays, for the next
 * build): git's next checkout must not stop at them.  0, or git's exit. */
static int clean_tree(void) {
  char out[4096];
  int rc = git(out, sizeof out, "reset", "-q", "--hard", NULL);

  if (rc == 0)
    rc = git(out, sizeof out, "clean", "-q", "-f", "-d", NULL);
  if (rc != 0)
    berr("cannot clean the bisect's work tree:\n%s", out);
  return rc;
}

/* The first bad commit, when git bisect's output names it: a line that
 * is exactly "SHA is the first bad commit" (a commit subject saying so is
 * never at the start of a line: git prints "[SHA] subject" and indents the
 * message), confirmed by refs/bisect/bad.  0 and sha set, or -1. */
static int first_bad(const char *out, char sha[64]) {
  static const char tail[] = " is the first bad commit";
  const char *line = out;
  char ref[128];

  for (; line != NULL && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
    size_t n = strspn(line, "0123456789abcdef");

    if (n >= 40 && n < 64 && strncmp(line + n, tail, sizeof tail - 1) == 0 &&
        (line[n + sizeof tail - 1] == '\n' || line[n + sizeof tail - 1] == '\0')) {
      if (git(ref, sizeof ref, "rev-parse", "--verify", "--quiet", "refs/bisect/bad", NULL) != 0)
        return -1;
      chomp(ref);
      if (strlen(ref) != n || strncmp(ref, line, n) != 0)
        return -1;
      snprintf(sha, 64, "%.*s", (int)n, line);
      return 0;
    }
  }
  return -1;
}

#define BO(field) offsetof(bisect_t, field)
static const fsk__flag_t bisect_flags[] = {
  {"--build", NULL, FSK_ARG_STR, "CMD", BO(build), 0, 0, NULL,
   "run `sh -c CMD` before each soak; a failed build skips the commit", 0},
  {"--keep", NULL, FSK_ARG_STR, "DIR", BO(keep), 0, 0, NULL,
   "keep each step's results and log in DIR (default: a new /tmp dir)", 0},
  {NULL, NULL, 0, NULL, 0, 0, 0, NULL, NULL, 0},
};

const fsk__verb_t fsk__bisect_verb = {
  "bisect",
  bisect_flags,
  "GOOD BAD -- VERB ARGS...",
  1,
  "  find the first commit between GOOD (flat) and BAD (leaks) whose soak leaks,\n"
  "  with git bisect, in the current git work tree (which must be clean)\n"
  "  VERB ARGS          the soak: `watch ...` or `run ...`, run by this fdsoak at every\n"
  "                     step with --out set by bisect; with --build, a path\n"
  "                     (./build/bin/fdsoak watch ...) runs that program instead\n",
  "  flat -> good, leak -> bad, inconclusive, error or failed build -> skip\n"
  "exit: 0 found, 1 BAD is flat, 2 usage/environment error, 3 no answer\n"};

/* The soak's argv from u (after --): PROGRAM VERB --out DIR ARGS... */
static int soak_argv(bisect_t *b, char **u, int nu) {
  int path = strchr(u[0], '/') != NULL, vi = path ? 1 : 0, k;
  ssize_t n;

  if (path && b->build == NULL)
    return berr("'%s' is a path: a program from the tree needs --build (else every step runs "
                "the same binary); give a VERB (watch, run) to soak with this fdsoak",
                u[0]);
  if (vi >= nu)
    return berr("'%s' needs a VERB (watch, run) after it", u[0]);
  if (strcmp(u[vi], "watch") != 0 && strcmp(u[vi], "run") != 0)
    return berr("the soak's VERB is watch or run, not '%s'", u[vi]);
  for (k = vi + 1; k < nu && strcmp(u[k], "--") != 0; k++)
    if (strcmp(u[k], "--out") == 0 || strcmp(u[k], "--pid") == 0 || strcmp(u[k], "--json") == 0)
      return berr("the soak must not take %s: %s", u[k],
                  strcmp(u[k], "--pid") == 0
                    ? "a running process is not rebuilt at each commit"
                    : "bisect sets where each step's results go and reads them");
  if (!path) {
    if ((n = readlink("/proc/self/exe", b->self, sizeof b->self - 1)) <= 0)
      return berr("cannot find this fdsoak: %s", strerror(errno));
    b->self[n] = '\0';
  }
  if ((b->soak = calloc((size_t)nu + 4, sizeof *b->soak)) == NULL)
    return berr("out of memory");
  b->soak[0] = path ? u[0] : b->self;
  b->soak[1] = u[vi];
  b->soak[2] = "--out";
  b->out_slot = 3;
  for (k = vi + 1; k < nu; k++)
    b->soak[k + 3 - vi] = u[k];
  return 0;
}

/* 0: parsed; 1: the help was printed; else the exit code. */
static int parse_bisect(int argc, char **argv, bisect_t *b) {
  fsk__args_t a;
  int rc;

  if ((rc = fsk__args_parse(&fsk__bisect_verb, argc, argv, b, &a)) != 0)
    return rc;
  if (a.npos > 2)
    return berr("unexpected '%s' (the soak goes after --)", a.pos[2]);
  if (a.npos < 2)
    return berr("needs GOOD and BAD revisions: fdsoak bisect GOOD BAD -- VERB ARGS...");
  b->good_rev = a.pos[0];
  b->bad_rev = a.pos[1];
  if (a.cmd == NULL || a.ncmd == 0)
    return berr("the soak is missing: fdsoak bisect GOOD BAD -- watch ... (everything after -- "
                "is the soak)");
  return soak_argv(b, a.cmd, a.ncmd);
}

/* The work tree: git, clean, known revisions; where the user stands in it. */
static int check_repo(bisect_t *b) {
  char *out = b->out;

  if (git(out, OUT_MAX, "rev-parse", "--is-inside-work-tree", NULL) != 0 ||
      strncmp(out, "true", 4) != 0)
    return berr("not in a git work tree (%s)", out[0] ? (chomp(out), out) : "git failed");
  if (git(out, OUT_MAX, "status", "--porcelain", "--untracked-files=no", NULL) != 0)
    return berr("git status failed: %s", out);
  if (out[0] != '\0')
    return berr("the work tree has uncommitted changes: commit or stash them first (each step "
                "soaks a clean checkout of its commit)\n%s",
                out);
  if (resolve(b->good_rev, b->good) != 0)
    return berr("GOOD '%s' is not a commit here", b->good_rev);
  if (resolve(b->bad_rev, b->bad) != 0)
    return berr("BAD '%s' is not a commit here", b->bad_rev);
  if (strcmp(b->good, b->bad) == 0)
    return berr("GOOD and BAD are the same commit");
  if (git(out, OUT_MAX, "merge-base", "--is-ancestor", b->good, b->bad, NULL) != 0)
    return berr("GOOD %.12s is not an ancestor of BAD %.12s", b->good, b->bad);
  /* Each step runs at the same place in the private work tree. */
  if (git(b->prefix, sizeof b->prefix, "rev-parse", "--show-prefix", NULL) != 0)
    return berr("git rev-parse --show-prefix failed");
  chomp(b->prefix);
  return 0;
}

/* Where each step's results and logs go: --keep DIR, or a new directory. */
static int make_root(bisect_t *b, const char *tmp) {
  char real[PATH_MAX];

  if (b->keep != NULL) {
    if (mkdir(b->keep, 0755) != 0 && errno != EEXIST)
      return berr("cannot create %s: %s", b->keep, strerror(errno));
    if (realpath(b->keep, b->root) == NULL)
      return berr("cannot use %s: %s", b->keep, strerror(errno));
    return 0;
  }
  snprintf(b->root, sizeof b->root, "%s/fdsoak-bisect-XXXXXX", tmp);
  if (mkdtemp(b->root) == NULL)
    return berr("cannot create %s: %s", b->root, strerror(errno));
  if (realpath(b->root, real) != NULL)
    snprintf(b->root, sizeof b->root, "%s", real);
  return 0;
}

static const int caught[4] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};

/* The private work tree, at BAD, and git bisect started in it: from here
 * on every way out removes it. */
static int start_tree(bisect_t *b, const char *tmp) {
  char real[PATH_MAX];
  struct sigaction sa;
  int i;

  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_signal;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  for (i = 0; i < 4; i++)
    sigaction(caught[i], &sa, &b->old[i]);
  snprintf(b->tree_dir, sizeof b->tree_dir, "%s/fdsoak-bisect-tree-XXXXXX", tmp);
  if (mkdtemp(b->tree_dir) == NULL) {
    b->tree_dir[0] = '\0';
    return berr("cannot create %s/fdsoak-bisect-tree-XXXXXX: %s", tmp, strerror(errno));
  }
  if (realpath(b->tree_dir, real) != NULL)
    snprintf(b->tree_dir, sizeof b->tree_dir, "%s", real);
  if (git(b->out, OUT_MAX, "worktree", "add", "-q", "--detach", b->tree_dir, b->bad, NULL) != 0)
    return berr("git worktree add %s failed:\n%s", b->tree_dir, b->out);
  b->started = 1;
  tree = b->tree_dir;
  snprintf(step_cwd, sizeof step_cwd, "%s/%s", b->tree_dir, b->prefix);
  if (interrupted)
    return INTERRUPTED;
  if (git(b->out, OUT_MAX, "bisect", "start", NULL) != 0)
    return berr("git bisect start failed:\n%s", b->out);
  return 0;
}

static void stop_tree(bisect_t *b) {
  int i;

  if (b->started) {
    tree = NULL;
    if (git(b->out, OUT_MAX, "worktree", "remove", "--force", b->tree_dir, NULL) != 0) {
      fprintf(stderr, "fdsoak bisect: git worktree remove %s failed:\n%s", b->tree_dir, b->out);
      fsk__rmtree(b->tree_dir);
      git(b->out, OUT_MAX, "worktree", "prune", NULL);
    }
  } else if (b->tree_dir[0] != '\0') {
    rmdir(b->tree_dir);
  }
  /* start_tree installed the handlers first thing. */
  for (i = 0; i < 4; i++)
    sigaction(caught[i], &b->old[i], NULL);
}

/* The ends first: a flat BAD has nothing to find, and a leaking GOOD
 * would make whatever the search returns wrong.  0 to search on, else the
 * exit code. */
static int soak_ends(bisect_t *b) {
  int k, rc;

  printf("fdsoak bisect: GOOD %.12s, BAD %.12s; soak: %s", b->good, b->bad, b->soak[1]);
  for (k = 4; b->soak[k] != NULL; k++)
    printf(" %s", b->soak[k]);
  printf("\n");
  if (b->build != NULL)
    printf("build: %s\n", b->build);
  printf("steps (results and logs in %s):\n", b->root);
  fflush(stdout);
  rc = step(b, b->bad, "BAD");
  if (interrupted)
    return INTERRUPTED;
  if (rc == 0) {
    printf("no leak: BAD %.12s is flat, so no commit between GOOD and BAD leaks under this soak\n",
           b->bad);
    return FSK_EXIT_LEAK;
  }
  if (rc != 1)
    return unjudged("BAD", b->bad, rc, b->root);
  if (clean_tree() != 0 || git(b->out, OUT_MAX, "checkout", "-q", "--detach", b->good, NULL) != 0)
    return berr("cannot check out GOOD:\n%s", b->out);
  rc = step(b, b->good, "GOOD");
  if (interrupted)
    return INTERRUPTED;
  if (rc == 1)
    return berr("GOOD %.12s already leaks: the leak is older than GOOD; give an older GOOD "
                "(its table: %s/%.12s/summary.json)",
                b->good, b->root, b->good);
  return rc != 0 ? unjudged("GOOD", b->good, rc, b->root) : 0;
}

/* git checks out the next commit after each mark, and names the first bad
 * one when no other is left.  0 with found set, else the exit code. */
static int search(bisect_t *b, char found[64]) {
  char *out = b->out, head_sha[64];
  int rc = clean_tree(), soak;

  if (rc == 0)
    rc = git(out, OUT_MAX, "bisect", "bad", b->bad, NULL);
  if (rc == 0)
    rc = git(out, OUT_MAX, "bisect", "good", b->good, NULL);
  for (;;) {
    if (interrupted)
      return INTERRUPTED;
    if (rc != 0 && strstr(out, "only 'skip'ped commits left") == NULL)
      return berr("git bisect failed (exit %d):\n%s", rc, out);
    if (first_bad(out, found) == 0)
      return 0;
    if (strstr(out, "only 'skip'ped commits left") != NULL) {
      char *list = strstr(out, "could be any of:");

      printf("no answer: the commits that could not be judged (build failed, inconclusive or "
             "error) hide the first leaking commit; it is one of:\n%s",
             list != NULL && strchr(list, '\n') != NULL ? strchr(list, '\n') + 1 : out);
      return FSK_EXIT_INCONCLUSIVE;
    }
    if (git(head_sha, sizeof head_sha, "rev-parse", "HEAD", NULL) != 0)
      return berr("git rev-parse HEAD failed");
    chomp(head_sha);
    soak = step(b, head_sha, "step");
    if (interrupted)
      return INTERRUPTED;
    /* A build may have rewritten tracked files (a version stamp, a
     * generated header): the next checkout must not stop at them. */
    rc = clean_tree();
    if (rc == 0)
      rc = git(out, OUT_MAX, "bisect", soak == 0 ? "good" : soak == 1 ? "bad" : "skip", NULL);
    if (b->steps > 4096)
      return berr("git bisect did not converge");
  }
}

/* The answer: the commit and its leak table. */
static int answer(bisect_t *b, const char *found) {
  char subject[256], dir[PATH_MAX + 16];

  subject_of(found, subject, sizeof subject);
  snprintf(dir, sizeof dir, "%s/%.12s", b->root, found);
  printf("\nfirst leaking commit: %s %s\n", found, subject);
  /* BAD itself may be the answer; its soak ran first.  Any other answer
   * was soaked when git marked it bad. */
  print_leaks(dir);
  fflush(stdout);
  return interrupted ? FSK_EXIT_INCONCLUSIVE : 0;
}

int fsk__bisect_main(int argc, char **argv) {
  static bisect_t b; /* large (git's output): not on the stack */
  const char *tmp = getenv("TMPDIR");
  char found[64] = "";
  int code;

  memset(&b, 0, sizeof b);
  tmp = tmp != NULL && tmp[0] ? tmp : "/tmp";
  if ((code = parse_bisect(argc, argv, &b)) != 0) {
    free(b.soak);
    return code == 1 ? 0 : code;
  }
  if ((code = check_repo(&b)) != 0 || (code = make_root(&b, tmp)) != 0) {
    free(b.soak);
    return code;
  }
  if ((code = start_tree(&b, tmp)) == 0 && (code = soak_ends(&b)) == 0 &&
      (code = search(&b, found)) == 0)
    code = answer(&b, found);
  /* A git step that failed because the signal reached it too (it is in
   * our process group) is the interruption, not an environment error. */
  if (code == INTERRUPTED || (interrupted && code == FSK_EXIT_USAGE)) {
    fprintf(stderr, "fdsoak bisect: interrupted by signal %d: no answer\n", (int)interrupted);
    code = FSK_EXIT_INCONCLUSIVE;
  }
  stop_tree(&b);
  free(b.soak);
  return code;
}
