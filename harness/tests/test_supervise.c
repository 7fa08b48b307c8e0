/* test_supervise.c - the seccomp engine (supervise.c) on a static C program
 * the shim cannot reach (fsk_sup_probe): each rule's effect as the program
 * sees it, the counters on the stats page, and what the engine leaves in the
 * target (nothing).  FSK_SUP_PROBE names the probe. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "inj_sec.h"
#include "supervise.h"

static const char *probe(void) {
  const char *p = getenv("FSK_SUP_PROBE");
  return p != NULL ? p : "fsk_sup_probe";
}

/* Run the probe with args under spec; its exit code, and the page's
 * injected and observed totals. */
static int run(const char *spec_text, char *const args[], uint64_t *injected, uint64_t *observed) {
  inj_spec_t *spec = calloc(1, sizeof *spec);
  fsk__sup_t *s = NULL;
  fsk__target_t t;
  inj_stats_view_t v;
  char err[256], stats[] = "/tmp/fsk-test-sup-XXXXXX";
  char *argv[8];
  int fd, i, code;
  double t0;

  assert_non_null(spec);
  assert_int_equal(inj_spec_parse(spec_text, spec, err, sizeof err), 0);
  assert_true((fd = mkstemp(stats)) >= 0);
  close(fd);
  assert_int_equal(fsk__sup_new(&s, spec, stats), 0);
  argv[0] = (char *)probe();
  for (i = 0; args[i] != NULL && i < 6; i++)
    argv[i + 1] = args[i];
  argv[i + 1] = NULL;
  assert_int_equal(fsk__target_init(&t), 0);
  assert_int_equal(fsk__sup_spawn(s, &t, argv, err, sizeof err), 0);
  /* Bounded: every mode ends within a few seconds. */
  for (t0 = fsk__now(); fsk__target_poll(&t) && fsk__now() - t0 < 20;)
    usleep(1000);
  if (!t.exited)
    fsk__target_stop(&t, 0.5);
  assert_true(t.exited && WIFEXITED(t.status));
  code = WEXITSTATUS(t.status);
  /* Connects decided in the kernel reach the page through a copy: a reader
   * syncs first, as fdsoak watch does. */
  fsk__sup_sync(s);
  assert_int_equal(inj_stats_open(stats, &v), 0);
  *injected = inj_stats_load(&v.page->injected_total);
  *observed = inj_stats_load(&v.page->observed_total);
  inj_stats_close(&v);
  fsk__target_release(&t);
  fsk__sup_free(s);
  unlink(stats);
  free(spec);
  return code;
}

/* Origins: the probe (static, -O2, no frame pointers) opens a file under
 * the supervisor with origins on; the supervisor names the fd it got with
 * the attempt in progress and the probe's C frames from its DWARF CFI. */
static void test_origin_of_open(void **state) {
  inj_spec_t *spec = calloc(1, sizeof *spec);
  fsk__sup_t *s = NULL;
  fsk__target_t t;
  fsk__sup_origin_t o;
  char err[256], stats[] = "/tmp/fsk-test-sup-XXXXXX";
  char *argv[] = {(char *)probe(), "openfd", "/etc/hostname", NULL};
  int fd, got;
  double t0;

  (void)state;
  assert_non_null(spec);
  /* A rule on another op: the open is notified for its origin alone. */
  assert_int_equal(inj_spec_parse("connect:port=1:do=refuse", spec, err, sizeof err), 0);
  assert_true((fd = mkstemp(stats)) >= 0);
  close(fd);
  assert_int_equal(fsk__sup_new(&s, spec, stats), 0);
  fsk__sup_track(s);
  assert_int_equal(fsk__target_init(&t), 0);
  assert_int_equal(fsk__sup_spawn(s, &t, argv, err, sizeof err), 0);
  for (t0 = fsk__now(); fsk__target_poll(&t) && fsk__now() - t0 < 20;)
    usleep(1000);
  if (!t.exited)
    fsk__target_stop(&t, 0.5);
  assert_true(t.exited && WIFEXITED(t.status));
  fd = WEXITSTATUS(t.status);
  assert_true(fd > 2 && fd < 255);
  got = fsk__sup_origin(s, t.pid, fd, "/etc/hostname", &o);
  assert_int_equal(got, FSK_SUP_ORIGIN_FRAMES | FSK_SUP_ORIGIN_WHEN);
  assert_int_equal(o.attempt, 1); /* no attempt counted before it */
  assert_true(o.mono_ns > 0);
  print_message("origin: %s\n", o.frames);
  assert_non_null(strstr(o.frames, "opened by open() at "));
  assert_non_null(strstr(o.frames, "main (/"));
  assert_non_null(strstr(o.frames, "fsk_sup_probe.c:"));
  /* Another fd number: not this call's (no attempt), though the last
   * call that opened the path still gives the place. */
  assert_int_equal(fsk__sup_origin(s, t.pid, fd + 1, "/etc/hostname", &o), FSK_SUP_ORIGIN_FRAMES);
  assert_int_equal(fsk__sup_origin(s, t.pid, fd, "/etc/other", &o), 0);
  fsk__target_release(&t);
  fsk__sup_free(s);
  unlink(stats);
  free(spec);
}

static void test_engine_parse(void **state) {
  (void)state;
  assert_int_equal(fsk__engine_parse("auto"), FSK_ENGINE_AUTO);
  assert_int_equal(fsk__engine_parse("preload"), FSK_ENGINE_PRELOAD);
  assert_int_equal(fsk__engine_parse("seccomp"), FSK_ENGINE_SECCOMP);
  assert_int_equal(fsk__engine_parse("ptrace"), -1);
  assert_int_equal(fsk__engine_parse(NULL), -1);
}

static void test_elf_kind(void **state) {
  char path[4096], script[] = "/tmp/fsk-test-script-XXXXXX";
  int fd, k;

  (void)state;
  k = fsk__elf_kind("sh", path, sizeof path); /* PATH search, dynamic */
  assert_true(k > 0);
  assert_true(k & FSK_ELF_IS);
  assert_false(k & (FSK_ELF_STATIC | FSK_ELF_GO));
  k = fsk__elf_kind(probe(), path, sizeof path);
  assert_true(k > 0 && (k & FSK_ELF_STATIC) && !(k & FSK_ELF_GO));
  assert_int_equal(fsk__elf_kind("/nonexistent/prog", path, sizeof path), -ENOENT);
  assert_true((fd = mkstemp(script)) >= 0);
  assert_int_equal(write(fd, "#!/bin/sh\n", 10), 10);
  close(fd);
  chmod(script, 0700);
  assert_int_equal(fsk__elf_kind(script, path, sizeof path), 0); /* not ELF */
  unlink(script);
}

static void test_unsupported_rules_named(void **state) {
  inj_spec_t spec;
  char err[256], why[256];

  (void)state;
  assert_int_equal(
    inj_spec_parse("connect:do=refuse;getaddrinfo:do=eai(EAI_AGAIN)", &spec, err, sizeof err), 0);
  /* getaddrinfo rules are answered by the DNS stub, where an answer makes
   * them; errno(E) has none. */
  assert_int_equal(fsk__sup_unsupported(&spec, why, sizeof why), 0);
  assert_int_equal(inj_spec_parse("getaddrinfo:do=eai(EAI_NONAME);getaddrinfo:do=errno(EIO)", &spec,
                                  err, sizeof err),
                   0);
  assert_int_equal(fsk__sup_unsupported(&spec, why, sizeof why), 2);
  assert_non_null(strstr(why, "eai(EAI_NONAME) (NXDOMAIN)"));
  assert_int_equal(inj_spec_parse("connect:do=unreachable(host)", &spec, err, sizeof err), 0);
  assert_int_equal(fsk__sup_unsupported(&spec, why, sizeof why), 0);
  assert_int_equal(inj_spec_parse("connect:do=reset(10)", &spec, err, sizeof err), 0);
  assert_int_equal(fsk__sup_unsupported(&spec, why, sizeof why), 0);
  assert_int_equal(inj_spec_parse("connect:do=hang;open:do=errno(EACCES)", &spec, err, sizeof err),
                   0);
  assert_int_equal(fsk__sup_unsupported(&spec, why, sizeof why), 0);
}

static void test_errno_on_socket_bind_and_open(void **state) {
  uint64_t inj, obs;
  char *sock[] = {"socket", NULL}, *open_x[] = {"open", "/etc/fsk-x-nope-hostname", NULL};
  char *open_ok[] = {"open", "/etc/hostname", NULL};
  /* Port 0: any free port, never the rule's. */
  char *bind_x[] = {"bind", "127.0.0.1", "27391", NULL},
       *bind_ok[] = {"bind", "127.0.0.1", "0", NULL};

  (void)state;
  assert_int_equal(run("socket:do=errno(EMFILE)", sock, &inj, &obs), EMFILE);
  assert_int_equal(inj, 1);
  /* Matched by path: the other file opens. */
  assert_int_equal(run("open:path=*-nope-*:do=errno(EACCES)", open_x, &inj, &obs), EACCES);
  assert_int_equal(inj, 1);
  assert_int_equal(run("open:path=*-nope-*:do=errno(EACCES)", open_ok, &inj, &obs), 0);
  assert_int_equal(inj, 0);
  /* bind by address and port: the other port binds. */
  assert_int_equal(run("bind:addr=127.0.0.1,port=27391:do=errno(EADDRINUSE)", bind_x, &inj, &obs),
                   EADDRINUSE);
  assert_int_equal(inj, 1);
  assert_int_equal(run("bind:addr=127.0.0.1,port=27391:do=errno(EADDRINUSE)", bind_ok, &inj, &obs),
                   0);
  assert_int_equal(inj, 0);
}

static void test_pass_is_observed(void **state) {
  uint64_t inj, obs;
  char *sock[] = {"socket", NULL};

  (void)state;
  assert_int_equal(run("socket:do=pass", sock, &inj, &obs), 0);
  assert_int_equal(inj, 0);
  assert_int_equal(obs, 1);
}

static void test_no_fd_left_in_target(void **state) {
  uint64_t inj, obs;
  char *fds[] = {"fds", NULL};
  pid_t pid;
  int st = 0;

  (void)state;
  /* The probe started plainly, with what this test inherited, against the
   * probe under the supervisor: no listener, no socketpair end more. */
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    execl(probe(), probe(), "fds", (char *)NULL);
    _exit(127);
  }
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st) && WEXITSTATUS(st) < 127);
  assert_int_equal(run("socket:do=errno(EMFILE)", fds, &inj, &obs), WEXITSTATUS(st));
}

static void test_io_uring_refused(void **state) {
  uint64_t inj, obs;
  char *u[] = {"io_uring", NULL};

  (void)state;
  assert_int_equal(run("connect:do=refuse", u, &inj, &obs), ENOSYS);
}

/* The number of system call name in a kernel header ("#define __NR_name N"),
 * or -1. */
static int nr_in(const char *header, const char *name) {
  FILE *f = fopen(header, "r");
  char line[256], want[64];
  int nr = -1, v;

  if (f == NULL)
    return -1;
  snprintf(want, sizeof want, "#define __NR_%s %%d", name);
  while (nr < 0 && fgets(line, sizeof line, f) != NULL)
    if (sscanf(line, want, &v) == 1) {
      /* "__NR_open" must not take "__NR_openat"'s line: the name ends
       * where the number starts. */
      char exact[64];
      snprintf(exact, sizeof exact, "#define __NR_%s ", name);
      if (strncmp(line, exact, strlen(exact)) == 0)
        nr = v;
    }
  fclose(f);
  return nr;
}

/* Run a classic BPF seccomp filter on one call, as the kernel would: the
 * instructions supervise.c emits (loads of seccomp_data words, jumps on
 * constants, returns). */
static uint32_t run_filter(const struct sock_filter *f, int n, const struct seccomp_data *d) {
  uint32_t a = 0;
  int pc = 0, steps = 0;

  while (pc >= 0 && pc < n && steps++ < 4096) {
    const struct sock_filter *i = &f[pc];

    switch (i->code) {
    case BPF_LD | BPF_W | BPF_ABS:
      assert_true(i->k + 4 <= sizeof *d && i->k % 4 == 0);
      memcpy(&a, (const char *)d + i->k, 4);
      pc++;
      break;
    case BPF_ALU | BPF_AND | BPF_K:
      a &= i->k;
      pc++;
      break;
    case BPF_JMP | BPF_JEQ | BPF_K:
      pc += 1 + (a == i->k ? i->jt : i->jf);
      break;
    case BPF_JMP | BPF_JGE | BPF_K:
      pc += 1 + (a >= i->k ? i->jt : i->jf);
      break;
    case BPF_JMP | BPF_JGT | BPF_K:
      pc += 1 + (a > i->k ? i->jt : i->jf);
      break;
    case BPF_JMP | BPF_JA:
      pc += 1 + (int)i->k;
      break;
    case BPF_RET | BPF_K:
      return i->k;
    default:
      fail_msg("instruction %d: code 0x%x the test does not know", pc, i->code);
    }
  }
  fail_msg("the filter ran off its end");
  return 0;
}

static uint32_t verdict(const struct sock_filter *f, int n, uint32_t arch, int nr) {
  struct seccomp_data d;

  memset(&d, 0, sizeof d);
  d.arch = arch;
  d.nr = nr;
  d.args[2] = 16; /* a connect's addrlen: sizeof(struct sockaddr_in) */
  return run_filter(f, n, &d);
}

/* The filter's numbers are the kernel's: x86-64's from its unistd_64.h,
 * arm64's from asm-generic/unistd.h, which arm64's asm/unistd.h includes
 * (both in linux-libc-dev).  Each op's calls are notified on its own
 * architecture and not on the other. */
static void test_syscall_tables(void **state) {
  static const struct {
    uint32_t arch;
    const char *header;
    const char *notified[6];
  } t[] = {
    {AUDIT_ARCH_X86_64,
     "/usr/include/x86_64-linux-gnu/asm/unistd_64.h",
     {"connect", "bind", "socket", "open", "openat", "openat2"}},
    {AUDIT_ARCH_AARCH64,
     "/usr/include/asm-generic/unistd.h",
     {"connect", "bind", "socket", "openat", "openat2", NULL}},
  };
  struct sock_filter f[128];
  uint32_t all =
    (1u << INJ_OP_CONNECT) | (1u << INJ_OP_BIND) | (1u << INJ_OP_SOCKET) | (1u << INJ_OP_OPEN);
  int n, k, i, nr;

  (void)state;
  n = inj_sec_build(all, f, (int)(sizeof f / sizeof *f));
  assert_true(n > 0);
  for (k = 0; k < 2; k++) {
    if (access(t[k].header, R_OK) != 0) {
      fail_msg("%s is missing (linux-libc-dev)", t[k].header);
    }
    for (i = 0; i < 6 && t[k].notified[i] != NULL; i++) {
      nr = nr_in(t[k].header, t[k].notified[i]);
      assert_true(nr >= 0);
      if (verdict(f, n, t[k].arch, nr) != SECCOMP_RET_USER_NOTIF)
        fail_msg("%s (%d) is not notified for arch 0x%x", t[k].notified[i], nr, t[k].arch);
    }
    nr = nr_in(t[k].header, "io_uring_setup");
    assert_true(nr >= 0);
    assert_int_equal(verdict(f, n, t[k].arch, nr), SECCOMP_RET_ERRNO | ENOSYS);
    /* Calls of no op pass: read, close, getpeername without a reset rule. */
    assert_int_equal(verdict(f, n, t[k].arch, nr_in(t[k].header, "read")), SECCOMP_RET_ALLOW);
    assert_int_equal(verdict(f, n, t[k].arch, nr_in(t[k].header, "close")), SECCOMP_RET_ALLOW);
    assert_int_equal(verdict(f, n, t[k].arch, nr_in(t[k].header, "getpeername")),
                     SECCOMP_RET_ALLOW);
  }
  /* Each table on its own architecture: x86-64's connect (42) is not a
   * network call on arm64, nor arm64's (203) on x86-64. */
  assert_int_equal(verdict(f, n, AUDIT_ARCH_AARCH64, 42), SECCOMP_RET_ALLOW);
  assert_int_equal(verdict(f, n, AUDIT_ARCH_X86_64, 203), SECCOMP_RET_ALLOW);
  /* x32 calls (bit 30) and other ABIs (i386) pass unseen: documented. */
  assert_int_equal(verdict(f, n, AUDIT_ARCH_X86_64, 0x40000000 | 42), SECCOMP_RET_ALLOW);
  assert_int_equal(verdict(f, n, AUDIT_ARCH_I386, 362), SECCOMP_RET_ALLOW);
  /* Only the ops asked for: connect alone leaves open and socket. */
  n = inj_sec_build(1u << INJ_OP_CONNECT, f, (int)(sizeof f / sizeof *f));
  assert_true(n > 0);
  assert_int_equal(verdict(f, n, AUDIT_ARCH_AARCH64, 56), SECCOMP_RET_ALLOW);
  assert_int_equal(verdict(f, n, AUDIT_ARCH_AARCH64, 203), SECCOMP_RET_USER_NOTIF);
  assert_int_equal(verdict(f, n, AUDIT_ARCH_X86_64, 41), SECCOMP_RET_ALLOW);
}

/* A listener nobody else uses: the injected connects aim at it, and it must
 * never see a connection. */
static int listener(char *port, size_t len) {
  struct sockaddr_in a = {.sin_family = AF_INET};
  socklen_t al = sizeof a;
  int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_true(l >= 0);
  assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(l, 16), 0);
  assert_int_equal(getsockname(l, (struct sockaddr *)&a, &al), 0);
  snprintf(port, len, "%d", ntohs(a.sin_port));
  return l;
}

static void test_refuse_is_a_real_refusal(void **state) {
  uint64_t inj, obs;
  char port[16], spec[128];
  int l = listener(port, sizeof port);
  char *nb[] = {"connect", "127.0.0.1", port, "2000", "nb", NULL};
  char *bl[] = {"connect", "127.0.0.1", port, "2000", "block", NULL};

  (void)state;
  snprintf(spec, sizeof spec, "connect:addr=127.0.0.1,port=%s:do=refuse", port);
  /* EINPROGRESS, then POLLERR and SO_ERROR = ECONNREFUSED: the probe exits
   * with SO_ERROR. */
  assert_int_equal(run(spec, nb, &inj, &obs), ECONNREFUSED);
  assert_int_equal(inj, 1);
  assert_int_equal(run(spec, bl, &inj, &obs), ECONNREFUSED);
  assert_true(accept(l, NULL, NULL) < 0 && errno == EAGAIN);
  /* Without the rule the same program connects. */
  snprintf(spec, sizeof spec, "connect:addr=127.0.0.1,port=1:do=refuse");
  assert_int_equal(run(spec, nb, &inj, &obs), 0);
  assert_int_equal(inj, 0);
  close(l);
}

static void test_hang_stays_in_progress(void **state) {
  uint64_t inj, obs;
  char port[16], spec[128];
  int l = listener(port, sizeof port);
  char *nb[] = {"connect", "127.0.0.1", port, "300", "nb", NULL};
  char *bl[] = {"connect", "127.0.0.1", port, "300", "block", NULL};

  (void)state;
  snprintf(spec, sizeof spec, "connect:addr=127.0.0.1,port=%s:do=hang", port);
  /* poll times out: the probe exits ETIMEDOUT for "nothing happened". */
  assert_int_equal(run(spec, nb, &inj, &obs), ETIMEDOUT);
  assert_int_equal(inj, 1);
  /* A blocking connect with SO_SNDTIMEO gives up with EINPROGRESS, as the
   * kernel's own does. */
  assert_int_equal(run(spec, bl, &inj, &obs), EINPROGRESS);
  assert_true(accept(l, NULL, NULL) < 0 && errno == EAGAIN);
  close(l);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_engine_parse),
    cmocka_unit_test(test_elf_kind),
    cmocka_unit_test(test_unsupported_rules_named),
    cmocka_unit_test(test_errno_on_socket_bind_and_open),
    cmocka_unit_test(test_pass_is_observed),
    cmocka_unit_test(test_no_fd_left_in_target),
    cmocka_unit_test(test_io_uring_refused),
    cmocka_unit_test(test_syscall_tables),
    cmocka_unit_test(test_refuse_is_a_real_refusal),
    cmocka_unit_test(test_hang_stays_in_progress),
    cmocka_unit_test(test_origin_of_open),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
