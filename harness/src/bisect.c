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
#include "driver.h"
#include "proc.h"
#include "results_internal.h"

#include <errno.h>
#include <fcntl.h>
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
#define SHOW_LEAKS 8 /* places a leak table shows */

static volatile sig_atomic_t interrupted;
static volatile pid_t current_child;
/* The private work tree the search runs in: every git command and every
 * step runs there once it exists (NULL before). */
static const char *tree;
static char step_cwd[PATH_MAX + 64];

static int berr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int berr(const char *fmt, ...) {
  va_list ap;
  fputs("fdsoak bisect: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  return FSK_EXIT_USAGE;
}

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
  char root[PATH_MAX]; /* where each step's results go */
  char **soak;         /* argv of the soak, with "--out" and a slot for its dir */
  int out_slot;        /* index of the dir in soak */
  int steps;
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

static void bisect_usage(FILE *f) {
  fprintf(f, "usage: fdsoak bisect GOOD BAD [--build CMD] [--keep DIR] -- VERB ARGS...\n"
             "  find the first commit between GOOD (flat) and BAD (leaks) whose soak leaks,\n"
             "  with git bisect, in the current git work tree (which must be clean)\n"
             "  VERB ARGS    the soak: `watch ...` or `run ...`, run by this fdsoak at every step\n"
             "               with --out set by bisect; with --build, a path (./build/bin/fdsoak\n"
             "               watch ...) runs that program instead\n"
             "  --build CMD  run `sh -c CMD` before each soak; a failed build skips the commit\n"
             "  --keep DIR   keep each step's results and log in DIR (default: a new /tmp dir)\n"
             "  flat -> good, leak -> bad, inconclusive, error or failed build -> skip\n"
             "exit: 0 found, 1 BAD is flat, 2 usage/environment error, 3 no answer\n");
}

int fsk__bisect_main(int argc, char **argv) {
  const char *good_rev = NULL, *bad_rev = NULL, *keep = NULL;
  char good[64], bad[64], head_sha[64], found[64] = "", self[PATH_MAX], out[OUT_MAX];
  char subject[256], dir[PATH_MAX + 16], prefix[PATH_MAX], tree_dir[PATH_MAX] = "";
  char real[PATH_MAX];
  const char *tmp = getenv("TMPDIR");
  bisect_t b;
  int i, dash = -1, rc, code = FSK_EXIT_USAGE, started = 0, nsoak, k;
  struct sigaction sa, old_int, old_term, old_hup, old_pipe;
  ssize_t n;

  memset(&b, 0, sizeof b);
  for (i = 0; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) {
      dash = i;
      break;
    } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
      bisect_usage(stdout);
      return 0;
    } else if (strcmp(argv[i], "--build") == 0 || strcmp(argv[i], "--keep") == 0) {
      if (i + 1 >= argc || argv[i + 1][0] == '\0')
        return fsk__usage_error("bisect: %s needs a value", argv[i]);
      if (argv[i][2] == 'b')
        b.build = argv[++i];
      else
        keep = argv[++i];
    } else if (argv[i][0] == '-') {
      return fsk__usage_error("bisect: unknown flag '%s'", argv[i]);
    } else if (good_rev == NULL) {
      good_rev = argv[i];
    } else if (bad_rev == NULL) {
      bad_rev = argv[i];
    } else {
      return fsk__usage_error("bisect: unexpected '%s' (the soak goes after --)", argv[i]);
    }
  }
  if (good_rev == NULL || bad_rev == NULL)
    return fsk__usage_error(
      "bisect: needs GOOD and BAD revisions: fdsoak bisect GOOD BAD -- VERB ARGS...");
  if (dash < 0 || dash + 1 >= argc)
    return fsk__usage_error("bisect: the soak is missing: fdsoak bisect GOOD BAD -- watch ... "
                            "(everything after -- is the soak)");

  /* The soak's argv: PROGRAM VERB --out DIR ARGS... */
  {
    char **u = argv + dash + 1;
    int nu = argc - dash - 1, path = strchr(u[0], '/') != NULL, vi = path ? 1 : 0;

    if (path && b.build == NULL)
      return fsk__usage_error("bisect: '%s' is a path: a program from the tree needs --build "
                              "(else every step runs the same binary); give a VERB (watch, run) "
                              "to soak with this fdsoak",
                              u[0]);
    if (vi >= nu)
      return fsk__usage_error("bisect: '%s' needs a VERB (watch, run) after it", u[0]);
    if (strcmp(u[vi], "watch") != 0 && strcmp(u[vi], "run") != 0)
      return fsk__usage_error("bisect: the soak's VERB is watch or run, not '%s'", u[vi]);
    for (k = vi + 1; k < nu && strcmp(u[k], "--") != 0; k++)
      if (strcmp(u[k], "--out") == 0 || strcmp(u[k], "--pid") == 0 || strcmp(u[k], "--json") == 0)
        return fsk__usage_error("bisect: the soak must not take %s: %s", u[k],
                                strcmp(u[k], "--pid") == 0
                                  ? "a running process is not rebuilt at each commit"
                                  : "bisect sets where each step's results go and reads them");
    if (!path) {
      n = readlink("/proc/self/exe", self, sizeof self - 1);
      if (n <= 0)
        return berr("cannot find this fdsoak: %s", strerror(errno));
      self[n] = '\0';
    }
    nsoak = nu + 3;
    b.soak = calloc((size_t)nsoak + 1, sizeof *b.soak);
    if (b.soak == NULL)
      return berr("out of memory");
    b.soak[0] = path ? u[0] : self;
    b.soak[1] = u[vi];
    b.soak[2] = "--out";
    b.out_slot = 3;
    for (k = vi + 1; k < nu; k++)
      b.soak[k + 3 - vi] = u[k];
  }

  /* The work tree: git, clean, known revisions. */
  if (git(out, sizeof out, "rev-parse", "--is-inside-work-tree", NULL) != 0 ||
      strncmp(out, "true", 4) != 0) {
    code = berr("not in a git work tree (%s)", out[0] ? (chomp(out), out) : "git failed");
    goto out;
  }
  if (git(out, sizeof out, "status", "--porcelain", "--untracked-files=no", NULL) != 0) {
    code = berr("git status failed: %s", out);
    goto out;
  }
  if (out[0] != '\0') {
    code = berr("the work tree has uncommitted changes: commit or stash them first (each step "
                "soaks a clean checkout of its commit)\n%s",
                out);
    goto out;
  }
  if (resolve(good_rev, good) != 0) {
    code = berr("GOOD '%s' is not a commit here", good_rev);
    goto out;
  }
  if (resolve(bad_rev, bad) != 0) {
    code = berr("BAD '%s' is not a commit here", bad_rev);
    goto out;
  }
  if (strcmp(good, bad) == 0) {
    code = berr("GOOD and BAD are the same commit");
    goto out;
  }
  if (git(out, sizeof out, "merge-base", "--is-ancestor", good, bad, NULL) != 0) {
    code = berr("GOOD %.12s is not an ancestor of BAD %.12s", good, bad);
    goto out;
  }
  /* Where in the tree the user stands: each step runs at the same place
   * in the private work tree. */
  if (git(prefix, sizeof prefix, "rev-parse", "--show-prefix", NULL) != 0) {
    code = berr("git rev-parse --show-prefix failed");
    goto out;
  }
  chomp(prefix);
  if (keep != NULL) {
    if (mkdir(keep, 0755) != 0 && errno != EEXIST) {
      code = berr("cannot create %s: %s", keep, strerror(errno));
      goto out;
    }
    if (realpath(keep, b.root) == NULL) {
      code = berr("cannot use %s: %s", keep, strerror(errno));
      goto out;
    }
  } else {
    snprintf(b.root, sizeof b.root, "%s/fdsoak-bisect-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (mkdtemp(b.root) == NULL) {
      code = berr("cannot create %s: %s", b.root, strerror(errno));
      goto out;
    }
    if (realpath(b.root, real) != NULL)
      snprintf(b.root, sizeof b.root, "%s", real);
  }

  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_signal;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  sigaction(SIGHUP, &sa, &old_hup);
  sigaction(SIGPIPE, &sa, &old_pipe);

  /* The private work tree, at BAD: from here on every way out removes it. */
  snprintf(tree_dir, sizeof tree_dir, "%s/fdsoak-bisect-tree-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
  if (mkdtemp(tree_dir) == NULL) {
    code = berr("cannot create %s: %s", tree_dir, strerror(errno));
    tree_dir[0] = '\0';
    goto restore;
  }
  if (realpath(tree_dir, real) != NULL)
    snprintf(tree_dir, sizeof tree_dir, "%s", real);
  if (git(out, sizeof out, "worktree", "add", "-q", "--detach", tree_dir, bad, NULL) != 0) {
    code = berr("git worktree add %s failed:\n%s", tree_dir, out);
    goto restore;
  }
  started = 1;
  tree = tree_dir;
  snprintf(step_cwd, sizeof step_cwd, "%s/%s", tree_dir, prefix);
  if (interrupted)
    goto interrupted;
  if (git(out, sizeof out, "bisect", "start", NULL) != 0) {
    code = berr("git bisect start failed:\n%s", out);
    goto restore;
  }
  printf("fdsoak bisect: GOOD %.12s, BAD %.12s; soak: %s", good, bad, b.soak[1]);
  for (k = 4; b.soak[k] != NULL; k++)
    printf(" %s", b.soak[k]);
  printf("\n");
  if (b.build != NULL)
    printf("build: %s\n", b.build);
  printf("steps (results and logs in %s):\n", b.root);
  fflush(stdout);

  /* The ends first: a flat BAD has nothing to find, and a leaking GOOD
   * would make whatever the search returns wrong. */
  rc = step(&b, bad, "BAD");
  if (interrupted)
    goto interrupted;
  if (rc == 0) {
    printf("no leak: BAD %.12s is flat, so no commit between GOOD and BAD leaks under this soak\n",
           bad);
    code = FSK_EXIT_LEAK;
    goto restore;
  }
  if (rc != 1) {
    code = unjudged("BAD", bad, rc, b.root);
    goto restore;
  }
  if (clean_tree() != 0 || git(out, sizeof out, "checkout", "-q", "--detach", good, NULL) != 0) {
    code = berr("cannot check out GOOD:\n%s", out);
    goto restore;
  }
  rc = step(&b, good, "GOOD");
  if (interrupted)
    goto interrupted;
  if (rc == 1) {
    code = berr("GOOD %.12s already leaks: the leak is older than GOOD; give an older GOOD "
                "(its table: %s/%.12s/summary.json)",
                good, b.root, good);
    goto restore;
  }
  if (rc != 0) {
    code = unjudged("GOOD", good, rc, b.root);
    goto restore;
  }

  /* git checks out the next commit after each mark, and names the first
   * bad one when no other is left. */
  rc = clean_tree();
  if (rc == 0)
    rc = git(out, sizeof out, "bisect", "bad", bad, NULL);
  if (rc == 0)
    rc = git(out, sizeof out, "bisect", "good", good, NULL);
  for (;;) {
    const char *mark;
    int soak;

    if (interrupted)
      goto interrupted;
    if (rc != 0 && strstr(out, "only 'skip'ped commits left") == NULL) {
      code = berr("git bisect failed (exit %d):\n%s", rc, out);
      goto restore;
    }
    if (first_bad(out, found) == 0)
      break;
    if (strstr(out, "only 'skip'ped commits left") != NULL) {
      char *list = strstr(out, "could be any of:");

      printf("no answer: the commits that could not be judged (build failed, inconclusive or "
             "error) hide the first leaking commit; it is one of:\n%s",
             list != NULL && strchr(list, '\n') != NULL ? strchr(list, '\n') + 1 : out);
      code = FSK_EXIT_INCONCLUSIVE;
      goto restore;
    }
    if (git(head_sha, sizeof head_sha, "rev-parse", "HEAD", NULL) != 0) {
      code = berr("git rev-parse HEAD failed");
      goto restore;
    }
    chomp(head_sha);
    soak = step(&b, head_sha, "step");
    if (interrupted)
      goto interrupted;
    mark = soak == 0 ? "good" : soak == 1 ? "bad" : "skip";
    /* A build may have rewritten tracked files (a version stamp, a
     * generated header): the next checkout must not stop at them. */
    rc = clean_tree();
    if (rc == 0)
      rc = git(out, sizeof out, "bisect", mark, NULL);
    if (b.steps > 4096) {
      code = berr("git bisect did not converge");
      goto restore;
    }
  }

  subject_of(found, subject, sizeof subject);
  snprintf(dir, sizeof dir, "%s/%.12s", b.root, found);
  printf("\nfirst leaking commit: %s %s\n", found, subject);
  /* BAD itself may be the answer; its soak ran first.  Any other answer
   * was soaked when git marked it bad. */
  print_leaks(dir);
  fflush(stdout);
  code = interrupted ? FSK_EXIT_INCONCLUSIVE : 0;
  goto restore;

interrupted:
  fprintf(stderr, "fdsoak bisect: interrupted by signal %d: no answer\n", (int)interrupted);
  code = FSK_EXIT_INCONCLUSIVE;
restore:
  /* A git step that failed because the signal reached it too (it is in
   * our process group) is the interruption, not an environment error. */
  if (interrupted && code == FSK_EXIT_USAGE) {
    fprintf(stderr, "fdsoak bisect: interrupted by signal %d: no answer\n", (int)interrupted);
    code = FSK_EXIT_INCONCLUSIVE;
  }
  if (started) {
    tree = NULL;
    if (git(out, sizeof out, "worktree", "remove", "--force", tree_dir, NULL) != 0) {
      fprintf(stderr, "fdsoak bisect: git worktree remove %s failed:\n%s", tree_dir, out);
      fsk__rmtree(tree_dir);
      git(out, sizeof out, "worktree", "prune", NULL);
    }
  } else if (tree_dir[0] != '\0') {
    rmdir(tree_dir);
  }
  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGTERM, &old_term, NULL);
  sigaction(SIGHUP, &old_hup, NULL);
  sigaction(SIGPIPE, &old_pipe, NULL);
out:
  free(b.soak);
  return code;
}
