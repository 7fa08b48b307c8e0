/* test_gosym.c - the .gopclntab symbolizer (gosym.c) against Go's own.
 *
 * A static Go program (harness/tests/go/reconnect.go) is built here for
 * amd64 and, cross-compiled with no network, for arm64.  For pcs all
 * through some of its functions (the program's and the standard library's),
 * fsk__gosym_name must say what `go tool addr2line` says: the function and
 * the file:line.  The arm64 binary cannot run here: its stack walk is not
 * tested (see gosym.c); its tables are.
 *
 * Environment: FSK_GO_SRC (reconnect.go), FSK_GO_CACHE (a GOCACHE in the
 * build tree).  Skipped (77) without a go command.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "gosym.h"

static char g_dir[64];

/* Run a shell command line; 0 when it exited 0. */
static int run(const char *fmt, ...) {
  char cmd[2048];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  return system(cmd) == 0 ? 0 : -1;
}

static const char *const g_funcs[] = {"main.openStore",  "main.main",        "os.OpenFile",
                                      "net.DialTimeout", "runtime.mallocgc", NULL};

/* Build reconnect.go for arch, then compare every step-th pc of the
 * functions above with go tool addr2line.  The number of pcs compared. */
static int compare(const char *arch, unsigned step) {
  char bin[128], cmd[512], line[1024], ours[1024], theirs[1100], fn[512];
  const char *src = getenv("FSK_GO_SRC"), *cache = getenv("FSK_GO_CACHE");
  uint64_t pcs[4096];
  int npcs = 0, i, same = 0;
  FILE *f, *addrs;
  fsk__gosym_t *g = NULL;

  snprintf(bin, sizeof bin, "%s/reconnect-%s", g_dir, arch);
  assert_int_equal(
    run("cd %s && CGO_ENABLED=0 GOOS=linux GOARCH=%s GOCACHE='%s' GOFLAGS=-buildvcs=false "
        "GO111MODULE=off go build -o '%s' '%s'",
        g_dir, arch, cache != NULL ? cache : "/tmp/fsk-go-cache", bin, src),
    0);
  /* Entry and size of each function, from Go's own nm. */
  snprintf(cmd, sizeof cmd, "go tool nm -size '%s'", bin);
  assert_non_null(f = popen(cmd, "r"));
  while (fgets(line, sizeof line, f) != NULL) {
    unsigned long long addr, size;
    char type[8];

    if (sscanf(line, "%llx %llu %7s %511s", &addr, &size, type, fn) != 4 || strcmp(type, "T") != 0)
      continue;
    for (i = 0; g_funcs[i] != NULL; i++)
      if (strcmp(fn, g_funcs[i]) == 0) {
        unsigned long long off;

        for (off = 0; off < size && npcs < (int)(sizeof pcs / sizeof *pcs); off += step)
          pcs[npcs++] = addr + off;
      }
  }
  pclose(f);
  assert_true(npcs > 100);
  snprintf(cmd, sizeof cmd, "%s/pcs-%s", g_dir, arch);
  assert_non_null(addrs = fopen(cmd, "w"));
  for (i = 0; i < npcs; i++)
    fprintf(addrs, "0x%llx\n", (unsigned long long)pcs[i]);
  fclose(addrs);
  assert_int_equal(fsk__gosym_open(bin, &g), 0);
  snprintf(cmd, sizeof cmd, "go tool addr2line '%s' < '%s/pcs-%s'", bin, g_dir, arch);
  assert_non_null(f = popen(cmd, "r"));
  for (i = 0; i < npcs; i++) {
    char where[480];

    if (fgets(fn, sizeof fn, f) == NULL || fgets(where, sizeof where, f) == NULL)
      break;
    fn[strcspn(fn, "\n")] = '\0';
    where[strcspn(where, "\n")] = '\0';
    snprintf(theirs, sizeof theirs, "%s (%s)", fn, where);
    assert_int_equal(fsk__gosym_name(g, pcs[i], ours, sizeof ours), 0);
    if (strcmp(ours, theirs) != 0)
      fail_msg("%s pc 0x%llx: ours '%s', go tool addr2line '%s'", arch, (unsigned long long)pcs[i],
               ours, theirs);
    same++;
  }
  pclose(f);
  assert_int_equal(same, npcs);
  /* A pc in no function. */
  assert_int_equal(fsk__gosym_name(g, 16, ours, sizeof ours), -ENOENT);
  fsk__gosym_free(g);
  return same;
}

static void test_amd64(void **state) {
  (void)state;
  /* x86 instructions are of any length: every byte. */
  print_message("amd64: %d pcs named as go tool addr2line names them\n", compare("amd64", 1));
}

static void test_arm64(void **state) {
  (void)state;
  /* arm64 instructions are 4 bytes. */
  print_message("arm64: %d pcs named as go tool addr2line names them\n", compare("arm64", 4));
}

/* Not Go: refused, not misread. */
static void test_not_go(void **state) {
  fsk__gosym_t *g = NULL;
  char self[64];

  (void)state;
  snprintf(self, sizeof self, "/proc/%d/exe", (int)getpid());
  assert_int_equal(fsk__gosym_open(self, &g), -ENOEXEC);
  assert_null(g);
  assert_int_equal(fsk__gosym_open("/nonexistent/program", &g), -ENOENT);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_not_go),
    cmocka_unit_test(test_amd64),
    cmocka_unit_test(test_arm64),
  };
  int rc;

  if (system("go version >/dev/null 2>&1") != 0 || getenv("FSK_GO_SRC") == NULL) {
    fprintf(stderr, "skip: no go command (ci/bootstrap installs golang-go) or no FSK_GO_SRC\n");
    return 77;
  }
  snprintf(g_dir, sizeof g_dir, "/tmp/fsk-gosym-XXXXXX");
  if (mkdtemp(g_dir) == NULL)
    return 1;
  rc = cmocka_run_group_tests(tests, NULL, NULL);
  run("rm -rf '%s'", g_dir);
  return rc;
}
