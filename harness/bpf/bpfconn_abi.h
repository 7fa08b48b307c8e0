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

#endif
