/*
 * bpfconn.h - connect decisions in the kernel (cgroup sock_addr eBPF) for
 * the seccomp engine: no round trip to fdsoak per connect.
 */
#ifndef FSK_BPFCONN_H
#define FSK_BPFCONN_H

#include <stddef.h>
#include <stdint.h>

#include "inj.h"

typedef struct fsk__bpfconn fsk__bpfconn_t;

/* 1 when every connect rule of spec can be decided in BPF (inet address
 * and port matches, when=always/first/after/every, do=refuse/hang/errno),
 * else 0 with the reason in why. */
int fsk__bpfconn_expressible(const inj_spec_t *spec, char *why, size_t len);

/* Load the programs for spec; sink4/sink6 are the full-backlog sinks
 * (host order, 0: none).  0, or -errno with the reason in why (not root,
 * no BPF in this build, verifier refusal...). */
int fsk__bpfconn_new(fsk__bpfconn_t **out, const inj_spec_t *spec, uint16_t sink4, uint16_t sink6,
                     char *why, size_t len);

/* As fsk__bpfconn_new; origins 1 also loads the stack-capture programs
 * (fsk__bpfconn_origins). */
int fsk__bpfconn_new_ex(fsk__bpfconn_t **out, const inj_spec_t *spec, uint16_t sink4,
                        uint16_t sink6, int origins, char *why, size_t len);

/* Origins by eBPF stack capture: the raw syscall tracepoints, filtered to
 * the cgroup v2 directory cg, send one struct fsk_bpf_origin
 * (bpf/bpfconn_abi.h) per open or socket call that returned an fd; a
 * thread drains them into cb.  0 or -errno with why. */
struct fsk_bpf_origin;
typedef void (*fsk__bpf_origin_cb)(void *arg, const struct fsk_bpf_origin *e);
int fsk__bpfconn_origins(fsk__bpfconn_t *b, const char *cg, fsk__bpf_origin_cb cb, void *arg,
                         char *why, size_t len);
/* Drain the records the kernel has written so far (before a report). */
void fsk__bpfconn_drain(fsk__bpfconn_t *b);
/* Records the kernel could not write (ring full). */
uint64_t fsk__bpfconn_origins_lost(fsk__bpfconn_t *b);
/* How the origin programs catch the calls: "fexit", "raw tracepoint", or
 * "none" when they did not load; and why fexit was not used ("" when it
 * was, or was not tried). */
const char *fsk__bpfconn_origins_hook(fsk__bpfconn_t *b);
const char *fsk__bpfconn_fexit_why(fsk__bpfconn_t *b);

/* Attach connect4/6 to the cgroup v2 directory cg.
 * 0 or -errno with why. */
int fsk__bpfconn_attach(fsk__bpfconn_t *b, const char *cg, char *why, size_t len);

/* Copy the kernel's counters onto the stats page (a thread does it every
 * 20 ms once started; call once more before the page is read last). */
void fsk__bpfconn_sync(fsk__bpfconn_t *b);
int fsk__bpfconn_start(fsk__bpfconn_t *b, inj_stats_page_t *pg);

/* Connects decided in the kernel, faults among them. */
void fsk__bpfconn_counts(fsk__bpfconn_t *b, uint64_t *decided, uint64_t *faults);

void fsk__bpfconn_free(fsk__bpfconn_t *b);

#endif
