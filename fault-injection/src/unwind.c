/*
 * unwind.c — the calling thread's return addresses, exactly as glibc's
 * backtrace() gives them, at a fraction of its cost.
 *
 * backtrace() goes through libgcc's _Unwind_Backtrace, which for every
 * frame finds the FDE, parses its CIE, runs both call-frame programs into a
 * full register state of 17 registers and moves that state up: about 2,400
 * instructions a frame, 26k for the 11 frames an fd origin needs, four
 * times in a soak cycle of the api adapter (db, -wal, -shm, socket): 105k
 * instructions, more than the rest of the shim's work a cycle.
 *
 * What a frame needs on x86-64 is small: where its CFA is (rsp or rbp plus
 * an offset), where the return address is saved (at an offset from the
 * CFA) and how to get the caller's rbp back (kept, or saved at an offset).
 * That rule is a function of the return address alone, for as long as the
 * object mapped there stays mapped, so it is worked out once from the same
 * .eh_frame libgcc reads and kept in a small cache keyed by address.  A
 * frame costs a cache lookup and two loads after that.
 *
 * Exactness first: anything beyond that simple rule falls back to
 * backtrace() for the whole capture, so the result is glibc's either way:
 * a CFA given by an expression or by another register (stack realignment),
 * a return address or rbp not saved at an offset from the CFA, a signal
 * frame (augmentation "S"), an object without an .eh_frame_hdr table we
 * read, no FDE for the address, the end of the stack (backtrace() has its
 * own rules for the last frames), any encoding we do not read.  The cache
 * is emptied when an object is unloaded (dl_iterate_phdr's dlpi_subs), so
 * an address that another object has since taken is never read with the
 * old object's rule.  test_unwind.c compares the two on many stacks.
 *
 * Nothing new is loaded into the program: _dl_find_object and
 * dl_iterate_phdr are glibc's (2.35 and later; libgcc 12 itself uses the
 * first), and the cache is static.  On other architectures, or an older
 * glibc, this is backtrace().
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "shim.h"

#include <dlfcn.h>
#include <execinfo.h>
#include <link.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GLIBC__) &&                                                   \
  (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35))
#define INJ_FAST_UNWIND 1
#else
#define INJ_FAST_UNWIND 0
#endif

static uint64_t g_stat[INJ_UNWIND_STAT_COUNT];

static void stat_add(int which) { __atomic_fetch_add(&g_stat[which], 1, __ATOMIC_RELAXED); }

void inj__unwind_stats(uint64_t out[INJ_UNWIND_STAT_COUNT]) {
  for (int i = 0; i < INJ_UNWIND_STAT_COUNT; i++)
    out[i] = __atomic_load_n(&g_stat[i], __ATOMIC_RELAXED);
}

#if INJ_FAST_UNWIND

/* One frame's rule: CFA = (rbp if cfa_rbp else rsp) + cfa_off; the return
 * address at CFA + ra_off; the caller's rbp at CFA + rbp_off if rbp_saved,
 * else rbp itself. */
typedef struct {
  int32_t cfa_off;
  int16_t ra_off, rbp_off;
  uint8_t cfa_rbp, rbp_saved;
} rule_t;

/* ---- reading .eh_frame ---------------------------------------------------- */

enum {
  PE_OMIT = 0xff,
  PE_ABSPTR = 0x00,
  PE_ULEB = 0x01,
  PE_UDATA2 = 0x02,
  PE_UDATA4 = 0x03,
  PE_UDATA8 = 0x04,
  PE_SLEB = 0x09,
  PE_SDATA2 = 0x0a,
  PE_SDATA4 = 0x0b,
  PE_SDATA8 = 0x0c,
  PE_PCREL = 0x10,
  PE_DATAREL = 0x30,
  PE_INDIRECT = 0x80
};

static uint64_t uleb(const uint8_t **p, const uint8_t *end) {
  uint64_t v = 0;
  unsigned shift = 0;

  while (*p < end) {
    uint8_t b = *(*p)++;
    if (shift < 64)
      v |= (uint64_t)(b & 0x7f) << shift;
    shift += 7;
    if (!(b & 0x80))
      break;
  }
  return v;
}

static int64_t sleb(const uint8_t **p, const uint8_t *end) {
  int64_t v = 0;
  unsigned shift = 0;
  uint8_t b = 0;

  while (*p < end) {
    b = *(*p)++;
    if (shift < 64)
      v |= (int64_t)((uint64_t)(b & 0x7f) << shift);
    shift += 7;
    if (!(b & 0x80))
      break;
  }
  if (shift < 64 && (b & 0x40))
    v |= -((int64_t)1 << shift);
  return v;
}

/* An encoded pointer (pcrel from where it is read, or absolute); indirect
 * and datarel are read only where asked (ok = 0 otherwise). */
static uint64_t enc_ptr(const uint8_t **p, const uint8_t *end, uint8_t enc, int *ok) {
  const uint8_t *at = *p;
  uint64_t v = 0;
  int64_t s;

  switch (enc & 0x0f) {
  case PE_ABSPTR:
  case PE_UDATA8:
  case PE_SDATA8:
    if (end - at < 8)
      goto bad;
    memcpy(&v, at, 8);
    *p += 8;
    break;
  case PE_UDATA4: {
    uint32_t u;
    if (end - at < 4)
      goto bad;
    memcpy(&u, at, 4);
    v = u;
    *p += 4;
    break;
  }
  case PE_SDATA4: {
    int32_t i;
    if (end - at < 4)
      goto bad;
    memcpy(&i, at, 4);
    v = (uint64_t)(int64_t)i;
    *p += 4;
    break;
  }
  case PE_UDATA2: {
    uint16_t u;
    if (end - at < 2)
      goto bad;
    memcpy(&u, at, 2);
    v = u;
    *p += 2;
    break;
  }
  case PE_SDATA2: {
    int16_t i;
    if (end - at < 2)
      goto bad;
    memcpy(&i, at, 2);
    v = (uint64_t)(int64_t)i;
    *p += 2;
    break;
  }
  case PE_ULEB:
    v = uleb(p, end);
    break;
  case PE_SLEB:
    s = sleb(p, end);
    v = (uint64_t)s;
    break;
  default:
    goto bad;
  }
  switch (enc & 0x70) {
  case 0:
    break;
  case PE_PCREL:
    v += (uint64_t)(uintptr_t)at;
    break;
  default:
    goto bad;
  }
  if (enc & PE_INDIRECT)
    goto bad;
  return v;
bad:
  *ok = 0;
  return 0;
}

/* The FDE for pc from the object's .eh_frame_hdr search table, or NULL. */
static const uint8_t *find_fde(uintptr_t pc) {
  struct dl_find_object dlfo;
  const uint8_t *hdr, *p, *table;
  int32_t lo, hi, count;
  int ok = 1;

  if (_dl_find_object((void *)pc, &dlfo) != 0 || dlfo.dlfo_eh_frame == NULL)
    return NULL;
  hdr = dlfo.dlfo_eh_frame;
  /* version 1; the count udata4; the table datarel sdata4 pairs, the
   * layout every GNU linker writes. */
  if (hdr[0] != 1 || hdr[2] != PE_UDATA4 || hdr[3] != (PE_DATAREL | PE_SDATA4))
    return NULL;
  p = hdr + 4;
  (void)enc_ptr(&p, p + 8, hdr[1], &ok); /* eh_frame_ptr: not needed */
  if (!ok)
    return NULL;
  memcpy(&count, p, 4);
  table = p + 4;
  lo = 0;
  hi = count - 1;
  if (count <= 0)
    return NULL;
  /* The last entry whose start is <= pc. */
  while (lo < hi) {
    int32_t mid = lo + (hi - lo + 1) / 2, start;
    memcpy(&start, table + (size_t)mid * 8, 4);
    if ((uintptr_t)(hdr + start) <= pc)
      lo = mid;
    else
      hi = mid - 1;
  }
  {
    int32_t start, fde;
    memcpy(&start, table + (size_t)lo * 8, 4);
    memcpy(&fde, table + (size_t)lo * 8 + 4, 4);
    if ((uintptr_t)(hdr + start) > pc)
      return NULL;
    return hdr + fde;
  }
}

/* The register rules we follow: the CFA's, rbp's and the return
 * address's.  Any other rule for rsp, or a CFA not on rsp or rbp, is
 * "unsupported". */
enum { R_SAME = 0, R_UNDEF, R_OFFSET, R_OTHER };
typedef struct {
  int cfa_reg; /* 7 rsp, 6 rbp, -1 anything else */
  int64_t cfa_off;
  int rbp_how, ra_how, rsp_ruled;
  int64_t rbp_off, ra_off;
} row_t;

enum { REG_RBP = 6, REG_RSP = 7, REG_RA = 16, STATE_DEPTH = 8 };

static void set_rule(row_t *r, uint64_t reg, int how, int64_t off) {
  if (reg == REG_RBP) {
    r->rbp_how = how;
    r->rbp_off = off;
  } else if (reg == REG_RA) {
    r->ra_how = how;
    r->ra_off = off;
  } else if (reg == REG_RSP) {
    r->rsp_ruled = 1;
  }
}

/* Run a call-frame program into r while its location stays below `until`
 * (the row in force there).  init: the CIE's initial row, for
 * DW_CFA_restore.  0, or -1 for what we do not follow. */
static int run_cfa(const uint8_t *p, const uint8_t *end, uint64_t loc, uint64_t until, int64_t caf,
                   int64_t daf, const row_t *init, row_t *r) {
  row_t stack[STATE_DEPTH];
  int depth = 0;

  while (p < end) {
    uint8_t op = *p++, low = op & 0x3f;
    uint64_t reg, delta = 0, skip;
    int64_t off;

    switch (op >> 6) {
    case 1: /* DW_CFA_advance_loc */
      delta = low;
      goto advance;
    case 2: /* DW_CFA_offset */
      off = (int64_t)uleb(&p, end) * daf;
      set_rule(r, low, R_OFFSET, off);
      continue;
    case 3: /* DW_CFA_restore */
      if (low == REG_RBP)
        set_rule(r, low, init->rbp_how, init->rbp_off);
      else if (low == REG_RA)
        set_rule(r, low, init->ra_how, init->ra_off);
      else if (low == REG_RSP)
        return -1;
      continue;
    default:
      break;
    }
    switch (op) {
    case 0x00: /* nop */
      continue;
    case 0x01: /* set_loc */
      return -1;
    case 0x02: /* advance_loc1 */
      if (p + 1 > end)
        return -1;
      delta = p[0];
      p += 1;
      goto advance;
    case 0x03: { /* advance_loc2 */
      uint16_t d;
      if (p + 2 > end)
        return -1;
      memcpy(&d, p, 2);
      delta = d;
      p += 2;
      goto advance;
    }
    case 0x04: { /* advance_loc4 */
      uint32_t d;
      if (p + 4 > end)
        return -1;
      memcpy(&d, p, 4);
      delta = d;
      p += 4;
      goto advance;
    }
    case 0x05: /* offset_extended */
      reg = uleb(&p, end);
      off = (int64_t)uleb(&p, end) * daf;
      set_rule(r, reg, R_OFFSET, off);
      continue;
    case 0x06: /* restore_extended */
      reg = uleb(&p, end);
      if (reg == REG_RBP)
        set_rule(r, reg, init->rbp_how, init->rbp_off);
      else if (reg == REG_RA)
        set_rule(r, reg, init->ra_how, init->ra_off);
      else if (reg == REG_RSP)
        return -1;
      continue;
    case 0x07: /* undefined */
      set_rule(r, uleb(&p, end), R_UNDEF, 0);
      continue;
    case 0x08: /* same_value */
      set_rule(r, uleb(&p, end), R_SAME, 0);
      continue;
    case 0x09: /* register */
      reg = uleb(&p, end);
      (void)uleb(&p, end);
      set_rule(r, reg, R_OTHER, 0);
      continue;
    case 0x0a: /* remember_state */
      if (depth == STATE_DEPTH)
        return -1;
      stack[depth++] = *r;
      continue;
    case 0x0b: /* restore_state */
      if (depth == 0)
        return -1;
      /* The CFA rule comes back with the registers' rules: GCC's
       * unwinder keeps it in the remembered state too. */
      *r = stack[--depth];
      continue;
    case 0x0c: /* def_cfa */
      reg = uleb(&p, end);
      r->cfa_reg = reg == REG_RSP || reg == REG_RBP ? (int)reg : -1;
      r->cfa_off = (int64_t)uleb(&p, end);
      continue;
    case 0x0d: /* def_cfa_register */
      reg = uleb(&p, end);
      r->cfa_reg = reg == REG_RSP || reg == REG_RBP ? (int)reg : -1;
      continue;
    case 0x0e: /* def_cfa_offset */
      r->cfa_off = (int64_t)uleb(&p, end);
      continue;
    case 0x0f: /* def_cfa_expression */
      r->cfa_reg = -1;
      skip = uleb(&p, end);
      p += skip;
      continue;
    case 0x10: /* expression */
      reg = uleb(&p, end);
      set_rule(r, reg, R_OTHER, 0);
      skip = uleb(&p, end);
      p += skip;
      continue;
    case 0x11: /* offset_extended_sf */
      reg = uleb(&p, end);
      off = sleb(&p, end) * daf;
      set_rule(r, reg, R_OFFSET, off);
      continue;
    case 0x12: /* def_cfa_sf */
      reg = uleb(&p, end);
      r->cfa_reg = reg == REG_RSP || reg == REG_RBP ? (int)reg : -1;
      r->cfa_off = sleb(&p, end) * daf;
      continue;
    case 0x13: /* def_cfa_offset_sf */
      r->cfa_off = sleb(&p, end) * daf;
      continue;
    case 0x14: /* val_offset */
    case 0x15: /* val_offset_sf */
      reg = uleb(&p, end);
      (void)uleb(&p, end);
      set_rule(r, reg, R_OTHER, 0);
      continue;
    case 0x16: /* val_expression */
      reg = uleb(&p, end);
      set_rule(r, reg, R_OTHER, 0);
      skip = uleb(&p, end);
      p += skip;
      continue;
    case 0x2e: /* GNU_args_size: matters to landing pads only */
      (void)uleb(&p, end);
      continue;
    case 0x2f: /* GNU_negative_offset_extended */
      reg = uleb(&p, end);
      off = -(int64_t)uleb(&p, end) * daf;
      set_rule(r, reg, R_OFFSET, off);
      continue;
    default:
      return -1;
    }
  advance:
    loc += delta * (uint64_t)caf;
    if (loc >= until)
      break;
  }
  return p <= end ? 0 : -1;
}

/* The rule in force at pc, from its FDE: pc is a return address (the row
 * before it: libgcc looks the FDE up at pc - 1 and runs the program while
 * the location is below pc) unless exact (our own first frame, at pc). */
static int rule_for(uintptr_t pc, int exact, rule_t *out) {
  const uint8_t *fde, *cie, *p, *end, *cend, *aug;
  uint32_t len, cie_off;
  uint64_t pc_begin, pc_range, until = exact ? (uint64_t)pc + 1 : (uint64_t)pc;
  int64_t caf, daf;
  uint8_t fde_enc = PE_ABSPTR, version;
  int ok = 1, zaug = 0;
  row_t init, row;

  fde = find_fde(exact ? pc : pc - 1);
  if (fde == NULL)
    return -1;
  memcpy(&len, fde, 4);
  if (len == 0 || len == 0xffffffffu)
    return -1;
  end = fde + 4 + len;
  memcpy(&cie_off, fde + 4, 4);
  if (cie_off == 0)
    return -1; /* a CIE, not an FDE */
  cie = fde + 4 - cie_off;
  /* The CIE. */
  memcpy(&len, cie, 4);
  if (len == 0 || len == 0xffffffffu)
    return -1;
  cend = cie + 4 + len;
  p = cie + 8;
  version = *p++;
  if (version != 1 && version != 3)
    return -1;
  aug = p;
  while (p < cend && *p != '\0')
    p++;
  p++;
  if (aug[0] == 'z')
    zaug = 1;
  else if (aug[0] != '\0')
    return -1;
  caf = (int64_t)uleb(&p, cend);
  daf = sleb(&p, cend);
  if ((version == 1 ? (uint64_t)*p++ : uleb(&p, cend)) != REG_RA)
    return -1;
  if (zaug) {
    uint64_t alen = uleb(&p, cend);
    const uint8_t *adata = p;

    for (const uint8_t *a = aug + 1; *a != '\0'; a++) {
      if (*a == 'R')
        fde_enc = *p++;
      else if (*a == 'L')
        p++;
      else if (*a == 'P') {
        uint8_t penc = *p++;
        int pok = 1;
        /* Only skipped: indirect is fine here, the value is not read. */
        (void)enc_ptr(&p, cend, (uint8_t)(penc & 0x7f), &pok);
        if (!pok)
          return -1;
      } else {
        return -1; /* 'S' (a signal frame), 'B', anything unknown */
      }
    }
    p = adata + alen;
  }
  memset(&init, 0, sizeof init);
  init.cfa_reg = -1;
  if (run_cfa(p, cend, 0, 0, caf, daf, &init, &init) != 0)
    return -1;
  /* The FDE. */
  p = fde + 8;
  pc_begin = enc_ptr(&p, end, fde_enc, &ok);
  pc_range = enc_ptr(&p, end, (uint8_t)(fde_enc & 0x0f), &ok);
  if (!ok || pc < pc_begin || (exact ? pc : pc - 1) >= pc_begin + pc_range)
    return -1;
  if (zaug) {
    uint64_t alen = uleb(&p, end);
    p += alen;
  }
  row = init;
  if (run_cfa(p, end, pc_begin, until, caf, daf, &init, &row) != 0)
    return -1;
  if (row.cfa_reg < 0 || row.rsp_ruled || row.ra_how != R_OFFSET ||
      (row.rbp_how != R_SAME && row.rbp_how != R_OFFSET) || row.cfa_off < INT32_MIN ||
      row.cfa_off > INT32_MAX || row.ra_off < INT8_MIN || row.ra_off > INT8_MAX ||
      row.rbp_off < INT16_MIN || row.rbp_off > INT16_MAX)
    return -1;
  out->cfa_rbp = row.cfa_reg == REG_RBP;
  out->cfa_off = (int32_t)row.cfa_off;
  out->ra_off = (int16_t)row.ra_off;
  out->rbp_saved = row.rbp_how == R_OFFSET;
  out->rbp_off = (int16_t)row.rbp_off;
  return 0;
}

/* ---- the cache -------------------------------------------------------------

   Direct-mapped, keyed by address.
   Each slot has a sequence number, odd while it is written: a reader that
   sees it change, or odd, takes the slow way; a writer that finds it odd
   does not wait (it just does not cache).  The epoch is the number of
   objects unloaded when the slot was filled. */

enum { SLOTS = 1024 };
typedef struct {
  uint64_t seq, key, epoch, rule; /* rule: pack() */
} slot_t;
static slot_t g_slots[SLOTS];

/* A rule in one word, so that a slot is read with plain atomic loads:
 * cfa_off in bits 0-31, rbp_off 32-47, ra_off 48-55 (it is -8 in every
 * x86-64 frame; rule_for refuses what does not fit), the flags above. */
static uint64_t pack(const rule_t *r) {
  return (uint64_t)(uint32_t)r->cfa_off | (uint64_t)(uint16_t)r->rbp_off << 32 |
         (uint64_t)(uint8_t)(int8_t)r->ra_off << 48 | (uint64_t)r->cfa_rbp << 56 |
         (uint64_t)r->rbp_saved << 57;
}

static void unpack(uint64_t w, rule_t *r) {
  r->cfa_off = (int32_t)(uint32_t)w;
  r->rbp_off = (int16_t)(uint16_t)(w >> 32);
  r->ra_off = (int8_t)(uint8_t)(w >> 48);
  r->cfa_rbp = (uint8_t)(w >> 56 & 1);
  r->rbp_saved = (uint8_t)(w >> 57 & 1);
}

static unsigned slot_of(uint64_t key) {
  return (unsigned)((key * 0x9e3779b97f4a7c15ull) >> 54) & (SLOTS - 1);
}

static int slot_get(slot_t *s, uint64_t key, uint64_t epoch, rule_t *out) {
  uint64_t q = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE), k, e, w;

  if (q & 1)
    return -1;
  k = __atomic_load_n(&s->key, __ATOMIC_RELAXED);
  e = __atomic_load_n(&s->epoch, __ATOMIC_RELAXED);
  w = __atomic_load_n(&s->rule, __ATOMIC_RELAXED);
  __atomic_thread_fence(__ATOMIC_ACQUIRE);
  if (__atomic_load_n(&s->seq, __ATOMIC_RELAXED) != q || k != key || e != epoch)
    return -1;
  unpack(w, out);
  return 0;
}

/* Two ways: the slot the hash names and its neighbour, so that two hot
 * addresses that hash alike do not evict each other on every capture (one
 * such pair in 1024 slots is likely among the ~30 addresses of a soak). */
static int cache_get(uint64_t key, uint64_t epoch, rule_t *out) {
  unsigned i = slot_of(key);

  return slot_get(&g_slots[i], key, epoch, out) == 0 ||
             slot_get(&g_slots[i ^ 1], key, epoch, out) == 0
           ? 0
           : -1;
}

/* Into a way that is empty or stale, else the one the key's low bits pick. */
static void cache_put(uint64_t key, uint64_t epoch, const rule_t *rule) {
  unsigned i = slot_of(key);
  slot_t *s = &g_slots[i];
  uint64_t q;

  if (__atomic_load_n(&s->seq, __ATOMIC_RELAXED) != 0 &&
      __atomic_load_n(&s->epoch, __ATOMIC_RELAXED) == epoch) {
    slot_t *t = &g_slots[i ^ 1];
    if (__atomic_load_n(&t->seq, __ATOMIC_RELAXED) == 0 ||
        __atomic_load_n(&t->epoch, __ATOMIC_RELAXED) != epoch || (key >> 4 & 1))
      s = t;
  }
  q = __atomic_load_n(&s->seq, __ATOMIC_RELAXED);
  if ((q & 1) ||
      !__atomic_compare_exchange_n(&s->seq, &q, q + 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
    return;
  __atomic_thread_fence(__ATOMIC_RELEASE);
  __atomic_store_n(&s->key, key, __ATOMIC_RELAXED);
  __atomic_store_n(&s->epoch, epoch, __ATOMIC_RELAXED);
  __atomic_store_n(&s->rule, pack(rule), __ATOMIC_RELAXED);
  __atomic_store_n(&s->seq, q + 2, __ATOMIC_RELEASE);
}

/* Objects unloaded so far: the first object's dlpi_subs. */
static int subs_cb(struct dl_phdr_info *info, size_t size, void *data) {
  if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs))
    *(uint64_t *)data = info->dlpi_subs;
  else
    *(uint64_t *)data = UINT64_MAX;
  return 1;
}

/* Keyed by address alone: the one exact address (the label in
 * inj__unwind) follows no call, so it is never a return address. */
static int rule_cached(uintptr_t pc, int exact, uint64_t epoch, rule_t *rule) {
  uint64_t key = (uint64_t)pc;

  if (cache_get(key, epoch, rule) == 0) {
    stat_add(INJ_UNWIND_HIT);
    return 0;
  }
  stat_add(INJ_UNWIND_MISS);
  if (rule_for(pc, exact, rule) != 0)
    return -1;
  cache_put(key, epoch, rule);
  return 0;
}

/* One frame up: from (pc, sp, bp) to the caller's. */
static int step(uintptr_t *pc, uintptr_t *sp, uintptr_t *bp, int exact, uint64_t epoch) {
  rule_t r;
  uintptr_t cfa;

  if (rule_cached(*pc, exact, epoch, &r) != 0)
    return -1;
  cfa = (r.cfa_rbp ? *bp : *sp) + (uintptr_t)(intptr_t)r.cfa_off;
  /* A frame that would leave the stack downwards, or a null return
   * address (the end of the stack), is backtrace()'s to judge. */
  if (cfa <= *sp)
    return -1;
  *pc = *(const uintptr_t *)(cfa + (uintptr_t)(intptr_t)r.ra_off);
  if (r.rbp_saved)
    *bp = *(const uintptr_t *)(cfa + (uintptr_t)(intptr_t)r.rbp_off);
  *sp = cfa;
  return *pc != 0 ? 0 : -1;
}

__attribute__((noinline)) int inj__unwind(void **frames, int max) {
  uintptr_t pc, sp, bp;
  uint64_t epoch = UINT64_MAX;
  int n = 0;

  if (max <= 0)
    return 0;
  /* Where we are, as one instruction boundary sees it: the address of
   * label 1, and rsp and rbp there. */
  __asm__ volatile("lea 1f(%%rip), %0\n\t"
                   "mov %%rsp, %1\n\t"
                   "mov %%rbp, %2\n"
                   "1:"
                   : "=&r"(pc), "=&r"(sp), "=&r"(bp));
  dl_iterate_phdr(subs_cb, &epoch);
  if (epoch == UINT64_MAX)
    goto slow;
  /* Our own frame first, exactly at the label; then each caller, by its
   * return address, which is what backtrace() lists. */
  if (step(&pc, &sp, &bp, 1, epoch) != 0)
    goto slow;
  for (;;) {
    frames[n++] = (void *)pc;
    if (n == max)
      break;
    if (step(&pc, &sp, &bp, 0, epoch) != 0)
      goto slow;
  }
  stat_add(INJ_UNWIND_FAST);
  return n;
slow:
  stat_add(INJ_UNWIND_SLOW);
  {
    /* backtrace() from here lists this frame first: one more, dropped. */
    void *tmp[INJ_UNWIND_MAX + 1];
    int m = max < INJ_UNWIND_MAX ? max : INJ_UNWIND_MAX;

    m = backtrace(tmp, m + 1);
    m = m > 1 ? m - 1 : 0;
    memcpy(frames, tmp + 1, (size_t)m * sizeof *frames);
    return m;
  }
}

#else

__attribute__((noinline)) int inj__unwind(void **frames, int max) {
  void *tmp[INJ_UNWIND_MAX + 1];
  int m = max < INJ_UNWIND_MAX ? max : INJ_UNWIND_MAX;

  if (max <= 0)
    return 0;
  stat_add(INJ_UNWIND_SLOW);
  m = backtrace(tmp, m + 1);
  m = m > 1 ? m - 1 : 0;
  memcpy(frames, tmp + 1, (size_t)m * sizeof *frames);
  return m;
}

#endif
