/*
 * rules.c - the decision for one call, pure: which rule fires, and the
 * counters it moves on a stats page.
 *
 * The shim (decide.c) and fdsoak's seccomp supervisor (harness/src/
 * supervise.c) both decide through inj_decide, so a rule means the same
 * thing, and counts the same way on the stats page, whichever engine saw
 * the call.  Nothing here allocates, locks or keeps state: counters are
 * relaxed atomic adds on the page given.
 */
#include "internal.h"

#include <time.h>

static uint64_t add64(uint64_t *p, uint64_t v) {
  return __atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}

static int rule_matches(const inj_rule_t *r, const inj_call_t *c) {
  switch (c->op) {
  case INJ_OP_CONNECT:
  case INJ_OP_BIND:
    return inj_match_sockaddr(r, c->sa, c->salen);
  case INJ_OP_SOCKET:
    return (!r->sock_family || r->sock_family == c->family) &&
           (!r->sock_type || r->sock_type == (c->type & 0xf));
  default:
    return !r->glob[0] || inj_glob_match(r->glob, c->str ? c->str : "");
  }
}

int inj_decide(const inj_spec_t *t, inj_stats_page_t *pg, const inj_call_t *c, int *matched_rule,
               uint64_t *seq) {
  int first = -1;

  for (unsigned i = 0; i < t->nrules; i++) {
    const inj_rule_t *r = &t->rules[i];
    uint64_t n, elapsed = 0;
    if (r->op != c->op)
      continue;
    add64(&pg->rules[i].calls_seen, 1);
    if (!rule_matches(r, c))
      continue;
    if (first < 0)
      first = (int)i;
    n = add64(&pg->rules[i].matched, 1);
    if (r->when == INJ_WHEN_WINDOW) {
      struct timespec ts;

      clock_gettime(CLOCK_MONOTONIC, &ts);
      elapsed = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec -
                __atomic_load_n(&pg->applied_mono_ns, __ATOMIC_RELAXED);
    }
    if (inj_when_fires(r, n, elapsed)) {
      *matched_rule = (int)i;
      *seq = add64(&pg->seq, 1) + 1;
      if (r->action == INJ_DO_PASS) {
        /* Observed, not failed: the call goes through for real, and the
           harness counts it as an attempt.  The first rule that fires
           decides, so a pass rule shadows the rules after it. */
        add64(&pg->rules[i].observed, 1);
        add64(&pg->observed_total, 1);
        return -1;
      }
      add64(&pg->rules[i].injected, 1);
      add64(&pg->injected_total, 1);
      return (int)i;
    }
  }
  *matched_rule = first;
  if (first >= 0)
    *seq = add64(&pg->seq, 1) + 1;
  return -1;
}
