/*
 * decide.c — the active rule table and the decision for one call.
 *
 * Rules live in two static tables (a double buffer for the control file):
 * nothing here allocates or locks; counters are relaxed atomic adds on the
 * stats page (the private one, or the shared mmap'd one).
 */
#include "shim.h"

#include <string.h>
#include <time.h>

inj_spec_t inj__tables[2];
unsigned inj__active;
unsigned inj__readers[2];
uint64_t inj__my_generation; /* page generation this process applied */

/* Publish table idx as the active one; with reset, fresh rule counters. */
void inj__publish(unsigned idx, uint64_t now, int reset) {
  inj_stats_page_t *pg = inj__page;
  const inj_spec_t *s = &inj__tables[idx];

  if (reset) {
    for (unsigned i = 0; i < INJ_MAX_RULES; i++) {
      __atomic_store_n(&pg->rules[i].calls_seen, 0, __ATOMIC_RELAXED);
      __atomic_store_n(&pg->rules[i].matched, 0, __ATOMIC_RELAXED);
      __atomic_store_n(&pg->rules[i].injected, 0, __ATOMIC_RELAXED);
      __atomic_store_n(&pg->rules[i].observed, 0, __ATOMIC_RELAXED);
      memset(pg->rules[i].text, 0, sizeof pg->rules[i].text);
      if (i < s->nrules)
        inj__strlcpy(pg->rules[i].text, s->rules[i].text, sizeof pg->rules[i].text);
    }
    __atomic_store_n(&pg->nrules, s->nrules, __ATOMIC_RELAXED);
    __atomic_store_n(&pg->applied_mono_ns, now, __ATOMIC_RELAXED);
    inj__my_generation = __atomic_add_fetch(&pg->generation, 1, __ATOMIC_RELEASE);
  } else {
    inj__my_generation = __atomic_load_n(&pg->generation, __ATOMIC_ACQUIRE);
  }
  __atomic_store_n(&inj__active, idx, __ATOMIC_RELEASE);
  {
    uint32_t old = __atomic_load_n(&inj__hot, __ATOMIC_RELAXED), nw;
    do
      nw = (old & ~((1u << INJ_OP_COUNT) - 1)) | s->opmask;
    while (
      !__atomic_compare_exchange_n(&inj__hot, &old, nw, 1, __ATOMIC_RELEASE, __ATOMIC_RELAXED));
  }
}

int inj__decide(const inj_spec_t *t, const inj__call_t *c, int *matched_rule, uint64_t *seq) {
  inj_call_t ic = {c->op, c->sa, c->salen, c->family, c->type, c->str};

  return inj_decide(t, inj__page, &ic, matched_rule, seq);
}
