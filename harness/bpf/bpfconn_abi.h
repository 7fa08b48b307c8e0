/*
 * bpfconn_abi.h - the maps shared by harness/bpf/connect.bpf.c and
 * harness/src/bpfconn.c.  Fixed-size types only: both sides compile it.
 */
#ifndef FSK_BPFCONN_ABI_H
#define FSK_BPFCONN_ABI_H

#include <linux/types.h>

#define FSK_BPF_RULES 32 /* INJ_MAX_RULES; a power of two (index masks) */

enum { FSK_BPF_ALWAYS = 1, FSK_BPF_FIRST, FSK_BPF_AFTER, FSK_BPF_EVERY };
enum { FSK_BPF_REFUSE = 1, FSK_BPF_HANG, FSK_BPF_ERRNO };

struct fsk_bpf_rule {
  __u8 connect; /* 0: a rule of another op (skipped, as rules.c does) */
  __u8 when;
  __u8 action;
  __u8 has_addr;
  __u8 prefix;
  __u8 has_port;
  __u16 family;
  __u16 port_lo, port_hi;
  __u32 addr[4]; /* network order, masked */
  __u32 mask[4];
  __s32 code; /* FSK_BPF_ERRNO: the errno connect returns (positive) */
  __u64 k;
};

struct fsk_bpf_conf {
  __u32 nrules;
  __u16 closed4, closed6, sink4, sink6; /* host order */
  __u16 pad;
  struct fsk_bpf_rule rules[FSK_BPF_RULES];
};

/* Per rule; the entry at FSK_BPF_RULES holds the page-wide seq (in
   calls_seen) and injected_total (in injected). */
struct fsk_bpf_count {
  __u64 calls_seen, matched, injected;
};

/* Origins by stack capture (origins in connect.bpf.c): one record per
   open/openat/openat2/creat or socket of the tree that returned an fd. */
#define FSK_BPF_STACK 48 /* user frames kept */
#define FSK_BPF_PATH 240
enum { FSK_BPF_OP_OPEN = 1, FSK_BPF_OP_SOCKET };

/* The syscall numbers of this architecture, filled in by bpfconn.c (the
   BPF program is built once for any host): -1 for none. */
struct fsk_bpf_nrs {
  __s32 open_path0[2]; /* open, creat: the path is the first argument */
  __s32 open_path1[2]; /* openat, openat2: after a dirfd */
  __s32 socket;
  __u32 nr_off;     /* the call's number in struct pt_regs (orig_ax, syscallno): low 32 bits */
  __u32 arg_off[2]; /* where struct pt_regs keeps the first two arguments at the call's exit */
  __u32 pc_off;     /* the user pc */
  __u32 fp_off;     /* the user frame pointer (rbp, x29) */
  __u32 kstack;     /* 1: bpf_get_stack walks (FSK_BPF_STACK_WALK=kernel) */
  __u32 pad;
};

struct fsk_bpf_origin {
  __u32 tgid, tid;
  __s32 fd;       /* what the call returned */
  __u32 op;       /* FSK_BPF_OP_* */
  __s32 dirfd;    /* openat's first argument (AT_FDCWD: -100) */
  __s32 nstack;   /* bytes of stack[] written (or bpf_get_stack's -errno) */
  __u64 injected; /* the page-wide injected count when the call returned */
  __u64 mono_ns;  /* bpf_ktime_get_ns: CLOCK_MONOTONIC */
  __u64 execs;    /* execs in the tree so far: the same tgid and count, the same program */
  __u64 stack[FSK_BPF_STACK];
  char path[FSK_BPF_PATH];
};

#endif
