/* test_unwind.c — inj__unwind (unwind.c) lists the same return addresses
   as glibc's backtrace() called at the same place, on many stacks: deep
   recursion through frames of every shape (rsp-based, rbp-based under
   alloca, with and without a frame pointer), through libc (qsort's
   comparator) and libsqlite3 (sqlite3_exec's callback), in a thread (the
   end of the stack), in a signal handler (the kernel's trampoline), at a
   return address on the edge of a rule (a call that does not return), for
   every limit; and that the fast way was taken where it can be, so the
   comparison is not backtrace() against itself. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <alloca.h>
#include <dlfcn.h>
#include <execinfo.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "shim.h"

enum { MAXF = 32 };

typedef struct {
  void *a[MAXF], *b[MAXF];
  int na, nb, max;
} grab_t;

/* volatile: the signal handler counts too. */
static volatile int g_mismatch, g_compared;

/* Both captures from one frame.  Their first entries are the two call
   sites in this function, so they differ by design: each must lie in this
   function; every entry after it must be equal. */
__attribute__((noinline)) static void grab(grab_t *g) {
  g->na = inj__unwind(g->a, g->max);
  g->nb = backtrace(g->b, g->max);
  __asm__ volatile("" ::: "memory"); /* no tail call: this frame stays */
}

/* grab's code: a few calls, well under 256 bytes (static, so dladdr
   cannot name it). */
static int in_grab(void *pc) {
  uintptr_t at = (uintptr_t)pc, start = (uintptr_t)(void *)grab;
  return at > start && at < start + 256;
}

static void check(grab_t *g, const char *where) {
  g_compared++;
  if (g->na != g->nb) {
    fprintf(stderr, "%s (max %d): %d frames against backtrace()'s %d\n", where, g->max, g->na,
            g->nb);
    g_mismatch++;
    return;
  }
  if (g->na > 0 && (!in_grab(g->a[0]) || !in_grab(g->b[0]))) {
    fprintf(stderr, "%s: first frames %p and %p not in one function\n", where, g->a[0], g->b[0]);
    g_mismatch++;
    return;
  }
  for (int i = 1; i < g->na; i++) {
    if (g->a[i] != g->b[i]) {
      fprintf(stderr, "%s (max %d): frame %d is %p, backtrace() says %p\n", where, g->max, i,
              g->a[i], g->b[i]);
      g_mismatch++;
      return;
    }
  }
}

static void grab_all(const char *where) {
  static const int maxes[] = {1, 2, 3, 11, MAXF};

  for (size_t i = 0; i < sizeof maxes / sizeof maxes[0]; i++) {
    grab_t g;
    memset(&g, 0, sizeof g);
    g.max = maxes[i];
    grab(&g);
    check(&g, where);
  }
}

/* Frames of different shapes, chosen by depth. */
static void rec(int depth, int shape);

__attribute__((noinline)) static void rec_plain(int depth, int shape) {
  volatile char pad[24];
  pad[0] = (char)depth;
  rec(depth - 1, shape + 1);
  __asm__ volatile("" ::"r"(pad) : "memory");
}

/* alloca makes GCC keep the CFA on rbp: the rbp-based rule. */
__attribute__((noinline)) static void rec_alloca(int depth, int shape) {
  volatile char *p = alloca((size_t)(16 + depth * 8));
  p[0] = (char)depth;
  rec(depth - 1, shape + 1);
  __asm__ volatile("" ::"r"(p) : "memory");
}

__attribute__((noinline, optimize("no-omit-frame-pointer"))) static void rec_fp(int depth,
                                                                                int shape) {
  volatile char pad[200];
  pad[0] = (char)depth;
  rec(depth - 1, shape + 1);
  __asm__ volatile("" ::"r"(pad) : "memory");
}

__attribute__((noinline)) static void rec_big(int depth, int shape) {
  volatile char pad[5000];
  pad[depth] = (char)depth;
  rec(depth - 1, shape + 1);
  __asm__ volatile("" ::"r"(pad) : "memory");
}

__attribute__((noinline)) static void rec(int depth, int shape) {
  if (depth <= 0) {
    grab_all("recursion");
    return;
  }
  switch (shape % 4) {
  case 0:
    rec_plain(depth, shape);
    break;
  case 1:
    rec_alloca(depth, shape);
    break;
  case 2:
    rec_fp(depth, shape);
    break;
  default:
    rec_big(depth, shape);
    break;
  }
  __asm__ volatile("" ::: "memory");
}

static void test_recursion(void **state) {
  uint64_t st0[INJ_UNWIND_STAT_COUNT], st1[INJ_UNWIND_STAT_COUNT];
  (void)state;

  inj__unwind_stats(st0);
  g_mismatch = g_compared = 0;
  for (int depth = 0; depth < 40; depth++)
    for (int shape = 0; shape < 4; shape++)
      rec(depth, shape);
  inj__unwind_stats(st1);
  assert_int_equal(g_mismatch, 0);
  assert_int_equal(g_compared, 40 * 4 * 5);
  /* The fast way was taken, from the cache, for all those that stop
   * short of the stack's end (limits 1 to 11: 4 of each 5). */
  fprintf(stderr, "recursion: %llu fast, %llu by backtrace(); rules %llu cached, %llu worked out\n",
          (unsigned long long)(st1[INJ_UNWIND_FAST] - st0[INJ_UNWIND_FAST]),
          (unsigned long long)(st1[INJ_UNWIND_SLOW] - st0[INJ_UNWIND_SLOW]),
          (unsigned long long)(st1[INJ_UNWIND_HIT] - st0[INJ_UNWIND_HIT]),
          (unsigned long long)(st1[INJ_UNWIND_MISS] - st0[INJ_UNWIND_MISS]));
  assert_true(st1[INJ_UNWIND_FAST] - st0[INJ_UNWIND_FAST] >= 40 * 4 * 4);
  assert_true(st1[INJ_UNWIND_HIT] - st0[INJ_UNWIND_HIT] >
              10 * (st1[INJ_UNWIND_MISS] - st0[INJ_UNWIND_MISS]));
}

/* Return addresses at the edge of a rule.  A call to a function that does
   not return can be the last instruction of its function, so that its
   return address is the first of the next one (unw_noret_tail below), or
   be followed at once by a new row (unw_noret_row): the rule in force for
   such a frame is the one before the return address, found at the
   address less one, as libgcc does.  Hand-written, so that the layout is
   certain; the callee captures and jumps back. */
static jmp_buf g_back;

__attribute__((used, noinline, noreturn)) void unw_test_grab_and_jump(void);
void unw_test_grab_and_jump(void) {
  grab_all("noreturn call at a rule's edge");
  longjmp(g_back, 1);
}

void unw_noret_tail(void);
void unw_noret_row(void);
__asm__(".text\n"
        ".p2align 4\n"
        "unw_noret_tail:\n"
        ".cfi_startproc\n"
        "  sub $24, %rsp\n"
        ".cfi_def_cfa_offset 32\n"
        "  call unw_test_grab_and_jump\n"
        ".cfi_endproc\n"
        "unw_noret_next:\n" /* starts where the call returns to */
        ".cfi_startproc\n"
        "  ud2\n"
        ".cfi_endproc\n"
        ".p2align 4\n"
        "unw_noret_row:\n"
        ".cfi_startproc\n"
        "  push %rbx\n"
        ".cfi_def_cfa_offset 16\n"
        ".cfi_offset %rbx, -16\n"
        "  sub $16, %rsp\n"
        ".cfi_def_cfa_offset 32\n"
        "  call unw_test_grab_and_jump\n"
        ".cfi_def_cfa_offset 8\n" /* a new row at the return address */
        "  ud2\n"
        ".cfi_endproc\n");

static void test_rule_edges(void **state) {
  uint64_t st0[INJ_UNWIND_STAT_COUNT], st1[INJ_UNWIND_STAT_COUNT];
  (void)state;

  g_mismatch = g_compared = 0;
  inj__unwind_stats(st0);
  if (setjmp(g_back) == 0)
    unw_noret_tail();
  if (setjmp(g_back) == 0)
    unw_noret_row();
  inj__unwind_stats(st1);
  assert_int_equal(g_compared, 10);
  assert_int_equal(g_mismatch, 0);
  assert_true(st1[INJ_UNWIND_FAST] - st0[INJ_UNWIND_FAST] >= 8);
}

/* An object unloaded and another loaded at its address: the return
   address in unw_lib_call is the same number in both, its rule is not. */
static uintptr_t g_lib_ra;

__attribute__((noinline)) static void grab_cb(void) {
  void *b[2];

  if (backtrace(b, 2) == 2)
    g_lib_ra = (uintptr_t)b[1]; /* in unw_lib_call */
  grab_all("after an unload");
}

/* Twice: the first fills the cache, the second reads it. */
static uintptr_t call_through(const char *path) {
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  void (*call)(void (*)(void));

  assert_non_null(h);
  *(void **)&call = dlsym(h, "unw_lib_call");
  assert_non_null(call);
  call(grab_cb);
  call(grab_cb);
  dlclose(h);
  return g_lib_ra;
}

static void test_unload(void **state) {
  uint64_t st0[INJ_UNWIND_STAT_COUNT], st1[INJ_UNWIND_STAT_COUNT];
  uintptr_t ra_a, ra_b;
  (void)state;

  g_mismatch = g_compared = 0;
  inj__unwind_stats(st0);
  ra_a = call_through(UNW_LIB_A_PATH);
  ra_b = call_through(UNW_LIB_B_PATH);
  inj__unwind_stats(st1);
  assert_int_equal(g_mismatch, 0);
  assert_int_equal(g_compared, 20);
  assert_true(st1[INJ_UNWIND_FAST] - st0[INJ_UNWIND_FAST] >= 16);
  /* Loaded elsewhere, the second object proves nothing about the cache. */
  if (ra_a != ra_b)
    skip();
}

static int by_int(const void *x, const void *y) {
  static int once;
  if (!once) {
    once = 1;
    grab_all("qsort comparator");
  }
  return *(const int *)x - *(const int *)y;
}

static void test_through_libc(void **state) {
  int v[64];
  uint64_t st0[INJ_UNWIND_STAT_COUNT], st1[INJ_UNWIND_STAT_COUNT];
  (void)state;

  for (int i = 0; i < 64; i++)
    v[i] = (i * 37) % 64;
  g_mismatch = g_compared = 0;
  inj__unwind_stats(st0);
  qsort(v, 64, sizeof v[0], by_int);
  inj__unwind_stats(st1);
  assert_int_equal(g_compared, 5);
  assert_int_equal(g_mismatch, 0);
  assert_true(st1[INJ_UNWIND_FAST] > st0[INJ_UNWIND_FAST]);
}

static int row_cb(void *arg, int n, char **vals, char **names) {
  (void)arg;
  (void)n;
  (void)vals;
  (void)names;
  grab_all("sqlite3_exec callback");
  return 0;
}

static void test_through_sqlite(void **state) {
  sqlite3 *db = NULL;
  uint64_t st0[INJ_UNWIND_STAT_COUNT], st1[INJ_UNWIND_STAT_COUNT];
  (void)state;

  assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
  g_mismatch = g_compared = 0;
  inj__unwind_stats(st0);
  assert_int_equal(sqlite3_exec(db, "SELECT 1 UNION ALL SELECT 2", row_cb, NULL, NULL), SQLITE_OK);
  inj__unwind_stats(st1);
  sqlite3_close(db);
  assert_int_equal(g_compared, 10);
  assert_int_equal(g_mismatch, 0);
  assert_true(st1[INJ_UNWIND_FAST] > st0[INJ_UNWIND_FAST]);
}

static void *thread_main(void *arg) {
  (void)arg;
  grab_all("thread");
  rec(3, 1);
  return NULL;
}

static void test_thread(void **state) {
  pthread_t t;
  (void)state;

  g_mismatch = g_compared = 0;
  assert_int_equal(pthread_create(&t, NULL, thread_main, NULL), 0);
  pthread_join(t, NULL);
  assert_int_equal(g_compared, 10);
  assert_int_equal(g_mismatch, 0);
}

static void on_usr1(int sig) {
  (void)sig;
  grab_all("signal handler");
}

static void test_signal_handler(void **state) {
  struct sigaction sa;
  sigset_t set;
  (void)state;

  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sigaction(SIGUSR1, &sa, NULL);
  /* Whoever started us may have blocked it. */
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  pthread_sigmask(SIG_UNBLOCK, &set, NULL);
  g_mismatch = g_compared = 0;
  raise(SIGUSR1);
  assert_int_equal(g_compared, 5);
  assert_int_equal(g_mismatch, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_recursion),      cmocka_unit_test(test_through_libc),
    cmocka_unit_test(test_through_sqlite), cmocka_unit_test(test_thread),
    cmocka_unit_test(test_signal_handler), cmocka_unit_test(test_rule_edges),
    cmocka_unit_test(test_unload),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
