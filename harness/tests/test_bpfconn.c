/* test_bpfconn.c - which rule sets the seccomp engine lets the kernel
 * decide (fsk__bpfconn_expressible, bpfconn.c).  Since the eBPF path is the
 * default, a rule set wrongly called expressible would be carried out by a
 * program that does not know its action or schedule (a fault silently
 * lost or changed), and one wrongly refused would cost a notification per
 * connect.  Each reason for refusing is checked on its own, with the rule
 * it names, next to the closest rule set that is expressible.
 *
 * Then the programs themselves against rules.c (inj_decide, what the
 * notified path runs): random expressible rule sets, a child in a cgroup of
 * its own making datagram connects to addresses and ports those rules half
 * match, and every connect's result and every counter of the stats page
 * compared with inj_decide's on the same calls (root and a build with eBPF
 * only; skipped otherwise). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "bpfconn.h"
#include "../bpf/bpfconn_abi.h"

/* Parse text (it must parse) and ask; why gets the reason. */
static int expressible(const char *text, char *why, size_t len) {
  inj_spec_t *spec = calloc(1, sizeof *spec);
  char err[256] = "";
  int rc;

  assert_non_null(spec);
  if (inj_spec_parse(text, spec, err, sizeof err) != 0)
    fail_msg("spec '%s' does not parse: %s", text, err);
  why[0] = '\0';
  rc = fsk__bpfconn_expressible(spec, why, len);
  free(spec);
  return rc;
}

static void assert_yes(const char *text) {
  char why[200];

  if (expressible(text, why, sizeof why) != 1)
    fail_msg("'%s' should be decided in the kernel, refused: %s", text, why);
}

/* Refused, with a reason that contains want. */
static void assert_no(const char *text, const char *want) {
  char why[200];

  if (expressible(text, why, sizeof why) != 0)
    fail_msg("'%s' should keep the notification path", text);
  if (strstr(why, want) == NULL)
    fail_msg("'%s': reason '%s' does not say '%s'", text, why, want);
}

/* The actions and schedules the programs carry out, on any address form. */
static void expressible_sets(void **state) {
  (void)state;
  assert_yes("connect:do=refuse");
  assert_yes("connect:addr=127.0.0.1,port=8080:do=hang");
  assert_yes("connect:addr=10.0.0.0/8:do=timeout");
  assert_yes("connect:addr=[::1]/128,port=1-52:do=refuse");
  assert_yes("connect:port=54-65535:do=errno(ENETDOWN)");
  assert_yes("connect:do=async(ECONNREFUSED)");
  assert_yes("connect:port=9:when=first(3):do=refuse");
  assert_yes("connect:port=9:when=after(2):do=hang");
  assert_yes("connect:port=9:when=every(3):do=errno(EACCES)");
  /* Rules of other ops are the notification path's: they do not stop
   * the connect rules from going to the kernel. */
  assert_yes("open:path=*.db-wal:do=errno(EMFILE);connect:port=9:do=refuse;"
             "socket:do=errno(EMFILE);bind:port=80:do=errno(EADDRINUSE)");
  assert_yes("connect:port=9:do=refuse;connect:addr=127.0.0.1:when=every(2):do=hang");
}

static void refused_action(void **state) {
  (void)state;
  assert_no("connect:port=9:do=unreachable(net)", "rule 1: only do=refuse, do=hang");
  assert_no("connect:port=9:do=unreachable(host)", "rule 1: only do=refuse");
  assert_no("connect:port=9:do=async(EHOSTUNREACH)", "rule 1: only do=refuse");
  assert_no("connect:port=9:do=reset(0)", "rule 1: only do=refuse");
  assert_no("connect:port=9:do=reset(accept)", "rule 1: only do=refuse");
  /* pass counts an observed attempt, which the programs do not keep. */
  assert_no("connect:port=9:do=pass", "rule 1: only do=refuse");
  /* The rule named is the one that cannot be said, not the first. */
  assert_no("connect:port=9:do=refuse;open:do=errno(EIO);connect:port=10:do=reset",
            "rule 3: only do=refuse");
}

static void refused_schedule(void **state) {
  (void)state;
  assert_no("connect:port=9:when=prob(0.5):do=refuse", "rule 1: only when=first/after/every");
  assert_no("connect:port=9:when=pattern(XXO):do=refuse", "rule 1: only when=first/after/every");
  assert_no("connect:port=9:when=down(2s):do=hang", "rule 1: only when=first/after/every");
  assert_no("connect:port=9:when=window(1s,2s):do=refuse", "rule 1: only when=first/after/every");
  assert_no("connect:port=9:do=refuse;connect:port=10:when=prob(0.1,7):do=refuse",
            "rule 2: only when=");
}

/* AF_UNIX connects never reach the inet programs. */
static void refused_path(void **state) {
  (void)state;
  assert_no("connect:path=/tmp/*.sock:do=errno(ECONNREFUSED)", "rule 1 matches a path (AF_UNIX)");
  assert_no("connect:port=9:do=refuse;connect:path=@abstract:do=errno(ENOENT)",
            "rule 2 matches a path");
}

/* A rule that may match port 53 would take the DNS stub's connects. */
static void refused_port53(void **state) {
  (void)state;
  assert_no("connect:port=53:do=refuse", "rule 1 covers port 53");
  assert_no("connect:addr=127.0.0.1,port=1-1024:do=hang", "rule 1 covers port 53");
  assert_no("connect:port=53-53:do=errno(EIO)", "port 53");
  assert_yes("connect:port=52:do=refuse");
  assert_yes("connect:port=54:do=refuse");
}

static void refused_no_connect_rule(void **state) {
  (void)state;
  assert_no("open:path=*.db:do=errno(EMFILE)", "no connect rule");
  assert_no("bind:port=80:do=errno(EADDRINUSE);socket:do=errno(EMFILE)", "no connect rule");
  assert_no("", "no connect rule");
}

/* The rule map has FSK_BPF_RULES slots: a spec with more rules than that
 * (INJ_MAX_RULES may grow) stays notified.  As many as the slots fit. */
static void refused_too_many(void **state) {
  inj_spec_t *spec = calloc(1, sizeof *spec);
  char text[4096], err[256], why[200];
  size_t used = 0;
  int i;

  (void)state;
  assert_non_null(spec);
  for (i = 0; i < FSK_BPF_RULES; i++)
    used += (size_t)snprintf(text + used, sizeof text - used, "%sconnect:port=%d:do=refuse",
                             i ? ";" : "", 1000 + i);
  assert_int_equal(inj_spec_parse(text, spec, err, sizeof err), 0);
  assert_int_equal(spec->nrules, FSK_BPF_RULES);
  assert_int_equal(fsk__bpfconn_expressible(spec, why, sizeof why), 1);
  spec->nrules = FSK_BPF_RULES + 1;
  assert_int_equal(fsk__bpfconn_expressible(spec, why, sizeof why), 0);
  assert_non_null(strstr(why, "more than 32 rules"));
  free(spec);
}

/* The kernel against rules.c ------------------------------------------ */

#define KCALLS 240

/* A small deterministic generator: the same rule sets on every run. */
static uint64_t rng = 0x9e3779b97f4a7c15u;
static unsigned rnd(unsigned n) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (unsigned)(rng % n);
}

/* Call i's destination: 127.0.A.B or ::1 or ::ffff:127.0.A.B, port 1000-1007. */
static socklen_t dest(unsigned i, struct sockaddr_storage *ss) {
  unsigned k = (i * 7 + 3) % 16, port = 1000 + (i * 5) % 8;

  memset(ss, 0, sizeof *ss);
  if (k < 10) {
    struct sockaddr_in *a = (void *)ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    a->sin_addr.s_addr = htonl(0x7f000000u | ((k % 4) << 8) | (1 + k % 3));
    return sizeof *a;
  } else {
    struct sockaddr_in6 *a = (void *)ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    if (k < 13) {
      a->sin6_addr = in6addr_loopback;
    } else {
      a->sin6_addr.s6_addr[10] = a->sin6_addr.s6_addr[11] = 0xff;
      a->sin6_addr.s6_addr[12] = 127;
      a->sin6_addr.s6_addr[14] = (uint8_t)(k % 4);
      a->sin6_addr.s6_addr[15] = (uint8_t)(1 + k % 3);
    }
    return sizeof *a;
  }
}

/* One random rule set of up to four connect rules (and an open rule the
 * programs skip), all expressible. */
static void random_spec(char *text, size_t len) {
  static const char *when[] = {"", ":when=first(%u)", ":when=after(%u)", ":when=every(%u)"};
  static const char *act[] = {"refuse", "hang", "errno(ENETDOWN)", "errno(EACCES)"};
  unsigned n = 1 + rnd(4), i;
  size_t used = 0;

  for (i = 0; i < n; i++) {
    char w[32], a[64] = "";
    unsigned lo = 1000 + rnd(8);

    snprintf(w, sizeof w, when[rnd(4)], 1 + rnd(4));
    switch (rnd(5)) {
    case 0:
      snprintf(a, sizeof a, "addr=127.0.%u.0/24,", rnd(4));
      break;
    case 1:
      snprintf(a, sizeof a, "addr=127.0.0.0/%u,", 8 + 8 * rnd(3));
      break;
    case 2:
      snprintf(a, sizeof a, "addr=[::1],");
      break;
    case 3:
      snprintf(a, sizeof a, "addr=127.0.%u.%u,", rnd(4), 1 + rnd(3));
      break;
    }
    used += (size_t)snprintf(text + used, len - used, "%sconnect:%sport=%u-%u%s:do=%s",
                             i ? ";" : "", a, lo, lo + rnd(4), w, act[rnd(4)]);
    if (i == 0 && rnd(2))
      used += (size_t)snprintf(text + used, len - used, ";open:path=/nonexistent:do=errno(EIO)");
  }
}

/* Where cgroup v2 is mounted, or "". */
static void cg2_mount(char *out, size_t len) {
  char line[512], dev[128], mnt[256], type[64];
  FILE *f = fopen("/proc/self/mounts", "re");

  out[0] = '\0';
  while (f != NULL && fgets(line, sizeof line, f) != NULL)
    if (sscanf(line, "%127s %255s %63s", dev, mnt, type) == 3 && strcmp(type, "cgroup2") == 0) {
      snprintf(out, len, "%s", mnt);
      break;
    }
  if (f != NULL)
    fclose(f);
}

/* In the child (moved into cg first): every call's errno (0: connected)
 * written to fd, one int each. */
static void child_calls(const char *procs, int fd) {
  struct sockaddr_storage ss;
  char pid[32];
  int pf, i, r;

  snprintf(pid, sizeof pid, "%d", (int)getpid());
  if ((pf = open(procs, O_WRONLY | O_CLOEXEC)) < 0 || write(pf, pid, strlen(pid)) < 0)
    _exit(3);
  close(pf);
  for (i = 0; i < KCALLS; i++) {
    socklen_t sl = dest((unsigned)i, &ss);
    /* The mapped and ::1 calls on an IPv6 socket, as a program does. */
    int s = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    r = s < 0 ? -1 : connect(s, (struct sockaddr *)&ss, sl) == 0 ? 0 : errno;
    if (s >= 0)
      close(s);
    if (write(fd, &r, sizeof r) != sizeof r)
      _exit(4);
  }
  _exit(0);
}

static void one_spec(const char *text, const char *cg) {
  inj_spec_t *spec = calloc(1, sizeof *spec);
  inj_stats_page_t *kpg = NULL, *mpg = NULL;
  fsk__bpfconn_t *b = NULL;
  char err[256], why[200], kp[] = "/tmp/fsk-test-bpfk-XXXXXX", mp[] = "/tmp/fsk-test-bpfm-XXXXXX";
  char procs[600];
  int got[KCALLS], p[2], fd, i, st;
  pid_t pid;
  size_t off = 0;

  assert_non_null(spec);
  if (inj_spec_parse(text, spec, err, sizeof err) != 0)
    fail_msg("'%s': %s", text, err);
  assert_int_equal(fsk__bpfconn_expressible(spec, why, sizeof why), 1);
  assert_true((fd = mkstemp(kp)) >= 0);
  close(fd);
  assert_true((fd = mkstemp(mp)) >= 0);
  close(fd);
  assert_int_equal(inj_stats_create(kp, spec, &kpg), 0);
  assert_int_equal(inj_stats_create(mp, spec, &mpg), 0);
  /* No TCP here: the sinks are never used. */
  if (fsk__bpfconn_new(&b, spec, 9, 9, why, sizeof why) != 0)
    fail_msg("'%s': %s", text, why);
  if (fsk__bpfconn_attach(b, cg, why, sizeof why) != 0)
    fail_msg("attach: %s", why);
  assert_int_equal(fsk__bpfconn_start(b, kpg), 0);
  snprintf(procs, sizeof procs, "%s/cgroup.procs", cg);
  assert_int_equal(pipe(p), 0);
  assert_true((pid = fork()) >= 0);
  if (pid == 0) {
    close(p[0]);
    child_calls(procs, p[1]);
  }
  close(p[1]);
  while (off < sizeof got) {
    ssize_t n = read(p[0], (char *)got + off, sizeof got - off);
    if (n <= 0)
      break;
    off += (size_t)n;
  }
  close(p[0]);
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  assert_int_equal(off, sizeof got);
  fsk__bpfconn_sync(b);
  /* The model: what the notified path decides and answers for each call
   * (supervise.c: a datagram connect refused fails with ECONNREFUSED, a
   * hang goes on, errno(E) fails with E). */
  for (i = 0; i < KCALLS; i++) {
    struct sockaddr_storage ss;
    inj_call_t c = {0};
    int mr = -1, fire, want;
    uint64_t seq = 0;

    c.op = INJ_OP_CONNECT;
    c.salen = dest((unsigned)i, &ss);
    c.sa = &ss;
    fire = inj_decide(spec, mpg, &c, &mr, &seq);
    want = fire < 0                                  ? 0
           : spec->rules[fire].action == INJ_DO_HANG ? 0
           : spec->rules[fire].code > 0              ? spec->rules[fire].code
                                                     : EIO;
    if (got[i] != want)
      fail_msg("'%s': call %d: kernel %d, rules.c %d", text, i, got[i], want);
  }
  for (i = 0; i < (int)spec->nrules; i++)
    if (kpg->rules[i].calls_seen != mpg->rules[i].calls_seen ||
        kpg->rules[i].matched != mpg->rules[i].matched ||
        kpg->rules[i].injected != mpg->rules[i].injected)
      fail_msg(
        "'%s': rule %d: kernel %llu/%llu/%llu, rules.c %llu/%llu/%llu (seen/matched/injected)",
        text, i + 1, (unsigned long long)kpg->rules[i].calls_seen,
        (unsigned long long)kpg->rules[i].matched, (unsigned long long)kpg->rules[i].injected,
        (unsigned long long)mpg->rules[i].calls_seen, (unsigned long long)mpg->rules[i].matched,
        (unsigned long long)mpg->rules[i].injected);
  if (kpg->seq != mpg->seq || kpg->injected_total != mpg->injected_total)
    fail_msg("'%s': seq %llu/%llu, injected %llu/%llu (kernel/rules.c)", text,
             (unsigned long long)kpg->seq, (unsigned long long)mpg->seq,
             (unsigned long long)kpg->injected_total, (unsigned long long)mpg->injected_total);
  fsk__bpfconn_free(b);
  inj_stats_unmap(kpg);
  inj_stats_unmap(mpg);
  unlink(kp);
  unlink(mp);
  free(spec);
}

/* The test's cgroup, removed by the teardown even when a check fails. */
static char g_cg[400];

static int remove_cg(void **state) {
  (void)state;
  if (g_cg[0] != '\0')
    rmdir(g_cg);
  g_cg[0] = '\0';
  return 0;
}

static void kernel_as_rules_c(void **state) {
  char mnt[256], text[1024], why[200];
  inj_spec_t *probe = calloc(1, sizeof *probe);
  fsk__bpfconn_t *b = NULL;
  int k;

  (void)state;
  assert_non_null(probe);
  cg2_mount(mnt, sizeof mnt);
  assert_int_equal(inj_spec_parse("connect:do=refuse", probe, text, sizeof text), 0);
  if (geteuid() != 0 || mnt[0] == '\0' || fsk__bpfconn_new(&b, probe, 9, 9, why, sizeof why) != 0) {
    free(probe);
    skip(); /* not root, no cgroup v2, or a build without eBPF */
  }
  fsk__bpfconn_free(b);
  free(probe);
  snprintf(g_cg, sizeof g_cg, "%s/fsk-test-bpfconn-%d", mnt, (int)getpid());
  if (mkdir(g_cg, 0755) != 0) {
    g_cg[0] = '\0';
    skip(); /* cgroup v2 not writable here */
  }
  for (k = 0; k < 24; k++) {
    random_spec(text, sizeof text);
    one_spec(text, g_cg);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(expressible_sets), cmocka_unit_test(refused_action),
    cmocka_unit_test(refused_schedule), cmocka_unit_test(refused_path),
    cmocka_unit_test(refused_port53),   cmocka_unit_test(refused_no_connect_rule),
    cmocka_unit_test(refused_too_many), cmocka_unit_test_teardown(kernel_as_rules_c, remove_cg),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
