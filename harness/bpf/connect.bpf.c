/*
 * connect.bpf.c - connect decisions in the kernel for fdsoak's seccomp
 * engine (harness/src/bpfconn.c loads it).
 *
 * cgroup/connect4 and connect6 run on every inet connect of the supervised
 * tree.  They apply the connect rules as fault-injection/src/rules.c does
 * (the first rule that fires decides; calls_seen and matched move for every
 * rule of the op), but only the part BPF can say: address/port matches,
 * when=always/first/after/every, do=refuse, do=hang and do=errno(E).  A
 * refused or hung stream connect is pointed at the supervisor's closed port
 * or full-backlog sink on loopback, so the kernel makes the real event.
 * Such a socket never gets connected (refused: closed at the RST; hung:
 * SYN-SENT until the caller gives up), so getpeername says ENOTCONN as on
 * the real event and needs no program, as on the notified path, which
 * answers getpeername only for reset.  Datagram connects are decided and
 * counted too, and carried out as supervise.c's fault_connect does: they
 * have no handshake, so a refusal fails at once and a hang goes on as it
 * was.  An errno(E) fails any connect at once.  Failing at once is bpf_set_retval(-E) and a 0
 * return: the kernel then returns E from connect(), not its default EPERM.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
/* The kernel's values (no libc headers in a BPF program). */
#define AF_INET 2
#define AF_INET6 10
#define SOCK_STREAM 1

#include "bpfconn_abi.h"

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct fsk_bpf_conf);
} conf SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, FSK_BPF_RULES + 1);
  __type(key, __u32);
  __type(value, struct fsk_bpf_count);
} counts SEC(".maps");

/* The rule's address and mask come masked, four words in network order
   (bpfconn.c): no loop on the prefix for the verifier to walk. */
static __always_inline int prefix_match(const __u32 *a, const struct fsk_bpf_rule *r) {
  return (a[0] & r->mask[0]) == r->addr[0] && (a[1] & r->mask[1]) == r->addr[1] &&
         (a[2] & r->mask[2]) == r->addr[2] && (a[3] & r->mask[3]) == r->addr[3];
}

/* inj_when_fires (spec.c) for the when= kinds the kernel decides
   (fsk__bpfconn_expressible): a BPF program cannot call the shim's code, so
   a change to those kinds there must be made here too; fsk_go_bpf checks
   the counts against the program's own log. */
static __always_inline int fires(const struct fsk_bpf_rule *r, __u64 n) {
  switch (r->when) {
  case FSK_BPF_ALWAYS:
    return 1;
  case FSK_BPF_FIRST:
    return n < r->k;
  case FSK_BPF_AFTER:
    return n >= r->k;
  case FSK_BPF_EVERY:
    return r->k != 0 && (n + 1) % r->k == 0;
  }
  return 0;
}

/* One connect's walk over the rules, as bpf_loop's context: the address
   copied in (no pointers to spill), the outcome out. */
struct walk {
  __u32 addr[4];
  __u32 v4[4];
  int family, mapped;
  __u16 port;
  int first, fired;
};

/* One rule (bpf_loop's callback): 0 to go on, 1 to stop.  bpf_loop has the
   verifier check this body once, where an unrolled loop over 32 rules cost
   about a second of kernel time per program at every load. */
static long rule_step(__u32 i, void *arg) {
  struct walk *w = arg;
  struct fsk_bpf_conf *c;
  struct fsk_bpf_count *cnt;
  const struct fsk_bpf_rule *r;
  __u32 zero = 0, key = i;
  __u64 n;

  c = bpf_map_lookup_elem(&conf, &zero);
  if (c == NULL || i >= FSK_BPF_RULES || i >= c->nrules)
    return 1;
  r = &c->rules[i & (FSK_BPF_RULES - 1)];
  if (!r->connect)
    return 0;
  cnt = bpf_map_lookup_elem(&counts, &key);
  if (cnt == NULL)
    return 1;
  __sync_fetch_and_add(&cnt->calls_seen, 1);
  if (r->has_addr) {
    /* An IPv4 rule also covers IPv4-mapped IPv6, as in inj_match_sockaddr. */
    int v4 = w->mapped && r->family == AF_INET;

    if (r->family != (v4 ? AF_INET : w->family) || !prefix_match(v4 ? w->v4 : w->addr, r))
      return 0;
  }
  if (r->has_port && (w->port < r->port_lo || w->port > r->port_hi))
    return 0;
  if (w->first < 0)
    w->first = (int)i;
  n = __sync_fetch_and_add(&cnt->matched, 1);
  if (!fires(r, n))
    return 0;
  __sync_fetch_and_add(&cnt->injected, 1);
  w->fired = (int)i;
  return 1;
}

/* family: AF_INET (addr holds 4 bytes) or AF_INET6; port in host order.
   The rule that fires, or -1. */
static __always_inline int decide(int family, const __u32 *addr, const __u32 *v4, __u16 port) {
  struct fsk_bpf_count *cnt;
  struct walk w = {0};
  __u32 key = FSK_BPF_RULES;

  w.family = family;
  w.port = port;
  w.first = -1;
  w.fired = -1;
  w.addr[0] = addr[0];
  w.addr[1] = addr[1];
  w.addr[2] = addr[2];
  w.addr[3] = addr[3];
  if (v4 != 0) {
    w.mapped = 1;
    w.v4[0] = v4[0];
  }
  bpf_loop(FSK_BPF_RULES, rule_step, &w, 0);
  if (w.first < 0)
    return -1;
  /* seq moves once per matched call; injected_total once per fault. */
  if ((cnt = bpf_map_lookup_elem(&counts, &key)) != NULL) {
    __sync_fetch_and_add(&cnt->calls_seen, 1);
    if (w.fired >= 0)
      __sync_fetch_and_add(&cnt->injected, 1);
  }
  return w.fired;
}

/* The rule that fired (rule >= 0), or NULL. */
static __always_inline const struct fsk_bpf_rule *rule_at(int rule, struct fsk_bpf_conf **cp) {
  __u32 zero = 0;

  *cp = bpf_map_lookup_elem(&conf, &zero);
  if (*cp == NULL || rule < 0 || rule >= FSK_BPF_RULES)
    return 0;
  return &(*cp)->rules[rule & (FSK_BPF_RULES - 1)];
}

/* Fail the connect at once with errno e (positive), as the notified path
   answers it. */
static __always_inline int fail_now(int e) {
  bpf_set_retval(-e);
  return 0;
}

/* A rule fired on a datagram connect (or errno(E) on any): 1 to let it go
   on untouched, or fail_now's 0.  Otherwise -1: the stream connect is to be
   pointed at *to. */
static __always_inline int act(const struct fsk_bpf_rule *r, const struct fsk_bpf_conf *c,
                               int stream, int six, __u16 *to) {
  if (r->action == FSK_BPF_ERRNO)
    return fail_now(r->code);
  if (!stream)
    /* No handshake: lost SYNs cannot happen to it, and a refusal fails the
       connect itself (fault_connect in supervise.c). */
    return r->action == FSK_BPF_REFUSE ? fail_now(r->code) : 1;
  if (r->action == FSK_BPF_HANG)
    *to = six ? c->sink6 : c->sink4;
  else
    *to = six ? c->closed6 : c->closed4;
  return *to != 0 ? -1 : 1;
}

SEC("cgroup/connect4")
int fsk_connect4(struct bpf_sock_addr *ctx) {
  __u32 ip = ctx->user_ip4;
  __u32 a[4] = {0}; /* prefix_match reads four words */
  __u16 port = bpf_ntohs((__u16)ctx->user_port);
  const struct fsk_bpf_rule *r;
  struct fsk_bpf_conf *c;
  __u16 to = 0;
  int rc;

  a[0] = ip;
  if ((r = rule_at(decide(AF_INET, a, 0, port), &c)) == 0)
    return 1;
  if ((rc = act(r, c, ctx->type == SOCK_STREAM, 0, &to)) >= 0)
    return rc;
  ctx->user_ip4 = bpf_htonl(0x7f000001);
  ctx->user_port = bpf_htons(to);
  return 1;
}

SEC("cgroup/connect6")
int fsk_connect6(struct bpf_sock_addr *ctx) {
  __u32 ip6[4];
  __u32 v4[4] = {0};
  __u16 port = bpf_ntohs((__u16)ctx->user_port);
  const struct fsk_bpf_rule *r;
  struct fsk_bpf_conf *c;
  int mapped, rc;
  __u16 to = 0;

  ip6[0] = ctx->user_ip6[0];
  ip6[1] = ctx->user_ip6[1];
  ip6[2] = ctx->user_ip6[2];
  ip6[3] = ctx->user_ip6[3];
  mapped = ip6[0] == 0 && ip6[1] == 0 && ip6[2] == bpf_htonl(0xffff);
  if (mapped)
    v4[0] = ip6[3];
  if ((r = rule_at(decide(AF_INET6, ip6, mapped ? v4 : 0, port), &c)) == 0)
    return 1;
  if ((rc = act(r, c, ctx->type == SOCK_STREAM, !mapped, &to)) >= 0)
    return rc;
  if (mapped) {
    ctx->user_ip6[0] = 0;
    ctx->user_ip6[1] = 0;
    ctx->user_ip6[2] = bpf_htonl(0xffff);
    ctx->user_ip6[3] = bpf_htonl(0x7f000001);
  } else {
    ctx->user_ip6[0] = 0;
    ctx->user_ip6[1] = 0;
    ctx->user_ip6[2] = 0;
    ctx->user_ip6[3] = bpf_htonl(1);
  }
  ctx->user_port = bpf_htons(to);
  return 1;
}

/* Origins by stack capture.  With origins on, the supervisor used to be
   notified of every open and socket call only to walk the caller's stack
   while it waited.  Here a program at the call's exit does it in the
   kernel instead, for the tree's cgroup alone: for a call that returned an
   fd it sends the fd, the user stack (frame pointers: Go keeps them on
   amd64 and arm64) and the page-wide injected count at that moment (so the
   attempt is exact, as the notified path reads it while the caller is
   stopped) through a ring buffer bpfconn.c drains.

   At the exit only: the call's number and arguments are still in the
   user's struct pt_regs then (the return value goes to ax/x0 alone, and
   arm64 keeps x0 in orig_x0), so no sys_enter program and no per-thread
   map of pending calls are needed, which halved the programs' share of a
   call.  Two ways in: fexit programs on the five syscalls' wrappers
   (__x64_sys_openat...: run for those calls alone), or, where the kernel
   refuses tracing programs, the raw sys_exit tracepoint (run for every
   system call on the machine, up to the cgroup check).  Set by bpfconn.c
   before the programs are attached: the tree's cgroup id (0: off), this
   architecture's syscall numbers and pt_regs offsets. */
__u64 origin_cgid = 0;
struct fsk_bpf_nrs origin_nrs = {{-1, -1}, {-1, -1}, -1, 0, {0, 0}, 0, 0, 0, 0};
__u64 origin_lost = 0;
__u64 origin_execs = 0;

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4 << 20);
} origin_ring SEC(".maps");

static __always_inline __u64 reg_at(__u64 regs, __u32 off) {
  __u64 v = 0;

  bpf_probe_read_kernel(&v, sizeof v, (const void *)(regs + off));
  return v;
}

/* The user stack by its frame pointers, as the kernel's own walk
   (perf_callchain_user) does it: the pc, then each frame's return address
   at fp + 8 and the caller's fp at fp.  Cheaper than bpf_get_stack (no
   perf callchain buffer to take and copy), and a read past the outermost
   frame fails here instead of faulting.  Bounded by the record's slots;
   stops at a zero, misaligned or non-increasing fp (the stack grows down,
   so a caller's frame is above its callee's). */
static __always_inline __s32 walk_fp(__u64 regs, __u64 *out) {
  __u64 fp = reg_at(regs, origin_nrs.fp_off), f[2];
  __s32 n = 1;
  int i;

  out[0] = reg_at(regs, origin_nrs.pc_off);
  for (i = 1; i < FSK_BPF_STACK; i++) {
    if (fp == 0 || (fp & 7) != 0)
      break;
    if (bpf_probe_read_user(f, sizeof f, (const void *)fp) != 0 || f[1] == 0)
      break;
    out[i] = f[1];
    n = i + 1;
    if (f[0] <= fp)
      break;
    fp = f[0];
  }
  return n * 8;
}

/* One call of the tree that returned fd ret: its record.  path_arg: which
   argument holds the path (0 or 1), -1 for socket. */
static __always_inline void capture(void *ctx, __u64 regs, __s64 ret, int path_arg) {
  __u64 tid = bpf_get_current_pid_tgid(), path = 0;
  struct fsk_bpf_origin *e;
  struct fsk_bpf_count *cnt;
  __u32 key = FSK_BPF_RULES;

  if ((e = bpf_ringbuf_reserve(&origin_ring, sizeof *e, 0)) == 0) {
    __sync_fetch_and_add(&origin_lost, 1);
    return;
  }
  e->tgid = (__u32)(tid >> 32);
  e->tid = (__u32)tid;
  e->fd = (__s32)ret;
  e->op = path_arg < 0 ? FSK_BPF_OP_SOCKET : FSK_BPF_OP_OPEN;
  e->dirfd = path_arg == 1 ? (__s32)reg_at(regs, origin_nrs.arg_off[0]) : -100;
  e->injected = (cnt = bpf_map_lookup_elem(&counts, &key)) != 0 ? cnt->injected : 0;
  e->mono_ns = bpf_ktime_get_ns();
  e->execs = __sync_fetch_and_add(&origin_execs, 0);
  if (origin_nrs.kstack)
    e->nstack = bpf_get_stack(ctx, e->stack, sizeof e->stack, BPF_F_USER_STACK);
  else
    e->nstack = walk_fp(regs, e->stack);
  e->path[0] = '\0';
  if (path_arg >= 0)
    path = reg_at(regs, origin_nrs.arg_off[path_arg & 1]);
  if (path != 0 && bpf_probe_read_user_str(e->path, sizeof e->path, (const void *)path) < 0)
    e->path[0] = '\0';
  /* No wake-up: a wake-up per call would cost the drain thread a context
     switch per open or socket, the notification's cost again; it reads
     the ring every 10 ms, and a report drains it first. */
  bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

/* Every exec in the tree: fdsoak keeps a process's symbols while this
   count stays (a fork keeps the program, a reused pid of the tree has
   exec'd), without asking /proc for each record. */
SEC("raw_tracepoint/sched_process_exec")
int fsk_origin_exec(struct bpf_raw_tracepoint_args *ctx) {
  __u64 cg = origin_cgid;

  (void)ctx;
  if (cg != 0 && bpf_get_current_cgroup_id() == cg)
    __sync_fetch_and_add(&origin_execs, 1);
  return 0;
}

/* The raw tracepoint sys_exit (regs, ret), by name, so no tracefs is
   needed (it is often not mounted).  The number is checked against each
   call explicitly: a call skipped by seccomp or ptrace exits with nr -1,
   which is also what an architecture without open or creat has in those
   slots (arm64: such calls were recorded as opens). */
SEC("raw_tracepoint/sys_exit")
int fsk_origin_exit(struct bpf_raw_tracepoint_args *ctx) {
  __u64 cg = origin_cgid, regs;
  __s64 ret = (__s64)ctx->args[1];
  __s32 nr = 0;
  int path_arg;

  if (cg == 0 || ret < 0 || bpf_get_current_cgroup_id() != cg)
    return 0;
  regs = ctx->args[0];
  bpf_probe_read_kernel(&nr, sizeof nr, (const void *)(regs + origin_nrs.nr_off));
  if (nr < 0)
    return 0;
  if (nr == origin_nrs.open_path0[0] || nr == origin_nrs.open_path0[1])
    path_arg = 0;
  else if (nr == origin_nrs.open_path1[0] || nr == origin_nrs.open_path1[1])
    path_arg = 1;
  else if (nr == origin_nrs.socket)
    path_arg = -1;
  else
    return 0;
  capture(ctx, regs, ret, path_arg);
  return 0;
}

/* fexit on the syscalls' wrappers (int __x64_sys_openat(const struct
   pt_regs *regs)): ctx[0] is the user's regs, ctx[1] the return value.
   The target is set by bpfconn.c (bpf_program__set_attach_target) for this
   architecture's wrapper names. */
static __always_inline int on_fexit(__u64 *ctx, int path_arg) {
  __u64 cg = origin_cgid;
  __s64 ret = (__s64)ctx[1];

  if (cg == 0 || ret < 0 || bpf_get_current_cgroup_id() != cg)
    return 0;
  capture(ctx, ctx[0], ret, path_arg);
  return 0;
}

SEC("fexit")
int fsk_fexit_open(__u64 *ctx) { return on_fexit(ctx, 0); }

SEC("fexit")
int fsk_fexit_creat(__u64 *ctx) { return on_fexit(ctx, 0); }

SEC("fexit")
int fsk_fexit_openat(__u64 *ctx) { return on_fexit(ctx, 1); }

SEC("fexit")
int fsk_fexit_openat2(__u64 *ctx) { return on_fexit(ctx, 1); }

SEC("fexit")
int fsk_fexit_socket(__u64 *ctx) { return on_fexit(ctx, -1); }

char LICENSE[] SEC("license") = "GPL";
