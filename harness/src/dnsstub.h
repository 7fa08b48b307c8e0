/* dnsstub.h - the seccomp engine's DNS stub: a resolver of fdsoak's own on
 * loopback that the supervisor points a program's port-53 sockets at, so a
 * getaddrinfo rule fails the lookups of a program that makes its own
 * queries (pure Go, static glibc).  See dnsstub.c. */
#ifndef FSK_DNSSTUB_H
#define FSK_DNSSTUB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* The DNS header's response codes the stub answers with. */
#define FSK_DNS_NOERROR 0 /* with no answer: the name has no such record */
#define FSK_DNS_FORMERR 1
#define FSK_DNS_SERVFAIL 2
#define FSK_DNS_NXDOMAIN 3
#define FSK_DNS_REFUSED 5
/* Decisions that are not an answer. */
#define FSK_DNS_FORWARD (-1) /* relay to the real nameserver, and its answer back */
#define FSK_DNS_DROP (-2)    /* never answer: the resolver's own timeout runs */

/* The one question of a query. */
typedef struct {
  uint16_t id;
  uint16_t qtype, qclass;
  int rd;         /* recursion desired, echoed */
  size_t qend;    /* offset just past the question */
  char name[256]; /* lower case, dotted, no trailing dot ("." for the root) */
} fsk__dns_question_t;

/* Parse a query (the UDP payload, or a TCP message without its length).
 * 0, or -EINVAL (malformed: short, a response, not one question, a bad or
 * compressed name) or -EOPNOTSUPP (an opcode other than QUERY).  q->id is
 * set whenever the header was there, so a FORMERR can still be answered. */
int fsk__dns_parse_query(const void *buf, size_t len, fsk__dns_question_t *q);

/* Build the answer to query (parsed into q) with rcode and no records: the
 * header (QR, RA, RD echoed) and the question copied.  A q from a query
 * that did not parse (qend 0) gets the header only.  The length, or
 * -EMSGSIZE when cap is too small. */
int fsk__dns_answer(const void *query, const fsk__dns_question_t *q, int rcode, void *out,
                    size_t cap);

/* The decision for one question: an FSK_DNS_* rcode, FSK_DNS_FORWARD or
 * FSK_DNS_DROP.  Called from the stub's threads. */
typedef int (*fsk__dns_decide_cb)(void *ctx, const char *name, int qtype);

typedef struct fsk__dnsstub fsk__dnsstub_t;

/* Start the stub: UDP sockets and TCP listeners on 127.0.0.1 and ::1 (where
 * there is IPv6) on ephemeral ports, served by a thread.  0 or -errno. */
int fsk__dnsstub_start(fsk__dnsstub_t **out, fsk__dns_decide_cb fn, void *ctx);
/* The stub's port for family index fi (0 IPv4, 1 IPv6) and type
 * (SOCK_DGRAM, SOCK_STREAM): 0 and *port, or -EAFNOSUPPORT. */
int fsk__dnsstub_port(const fsk__dnsstub_t *s, int fi, int type, uint16_t *port);
/* The nameserver a client socket was bound for, by the local port it
 * reaches the stub from: forwarded queries go there (else to the first
 * nameserver of /etc/resolv.conf). */
void fsk__dnsstub_route(fsk__dnsstub_t *s, int fi, int type, uint16_t client_port,
                        const struct sockaddr *ns, socklen_t len);
/* Counters for the report. */
void fsk__dnsstub_counts(const fsk__dnsstub_t *s, uint64_t *answered, uint64_t *dropped,
                         uint64_t *forwarded);
/* Stop the thread, close everything.  NULL is harmless. */
void fsk__dnsstub_stop(fsk__dnsstub_t *s);

#endif
