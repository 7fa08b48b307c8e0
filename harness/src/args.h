/* args.h - one way to declare a verb's flags.
 *
 * Each verb of fdsoak describes its flags in one table of fsk__flag_t; the
 * parser reads the table, and `fdsoak VERB --help` and the synopsis of
 * `fdsoak --help` are printed from the same table, so what the parser
 * accepts and what the help says cannot drift apart.  The parser is the
 * project's own rather than getopt_long: getopt_long accepts any unique
 * abbreviation (`--cyc`), so it would accept flags no one documented, and
 * it cannot say which range a number missed.
 *
 * Syntax: `--flag VALUE` and `--flag=VALUE`; a flag may have one short
 * alias (`-q`) that takes no value; a later flag overrides an earlier one;
 * `--` ends the flags (what follows is the verb's command, or operands);
 * `-h`/`--help` anywhere before `--` prints the help.
 */
#ifndef FSK_ARGS_H
#define FSK_ARGS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum {
  FSK_ARG_BOOL,      /* no value: int set to 1 */
  FSK_ARG_STR,       /* a non-empty string: const char * into argv */
  FSK_ARG_PATH,      /* a non-empty path copied into char[PATH_MAX], 64 bytes spare */
  FSK_ARG_LONG,      /* a whole number in lo..hi: long */
  FSK_ARG_REAL,      /* a number in lo..hi: double */
  FSK_ARG_REAL_LONG, /* a number in lo..hi, stored truncated: long */
  FSK_ARG_CALL,      /* call(opts, value, why, len): 0, or -1 with why set */
} fsk__arg_kind_t;

typedef int (*fsk__arg_cb)(void *opts, const char *value, char *why, size_t len);

typedef struct {
  const char *name;  /* "--cycles" */
  const char *alias; /* "-q", or NULL */
  fsk__arg_kind_t kind;
  const char *meta; /* the value's name in the help ("N"); NULL for BOOL */
  size_t off;       /* where in the verb's options (offsetof) */
  double lo, hi;    /* range of the numeric kinds */
  fsk__arg_cb call; /* FSK_ARG_CALL */
  const char *help; /* its lines in --help, '\n' between them */
  int hidden;       /* not in the synopsis's brackets (it is in its tail) */
} fsk__flag_t;

/* A verb: its table (ended by a NULL name) and what surrounds it. */
typedef struct {
  const char *verb; /* "run" */
  const fsk__flag_t *flags;
  const char *operands; /* after the flags in the synopsis ("RESULT_DIR..."); NULL: none taken */
  int command;          /* 1: `-- CMD ARGS...` is the verb's command */
  const char *about;    /* lines after the synopsis in --help, or NULL */
  const char *trailer;  /* lines after the flags (the exit codes), or NULL */
} fsk__verb_t;

/* What the parser leaves besides the options. */
typedef struct {
  char **pos; /* the operands, in order (moved to the front of argv) */
  int npos;
  char **cmd; /* after `--` when the verb takes a command; NULL when absent */
  int ncmd;
  uint64_t seen; /* bit i: flags[i] was given */
} fsk__args_t;

/* Parse argv (the arguments after VERB) into opts by the table; argv is
 * reordered (operands first).  0: parsed; 1: --help was asked for and is
 * printed on stdout; FSK_EXIT_USAGE: a message naming the flag is on
 * stderr. */
int fsk__args_parse(const fsk__verb_t *v, int argc, char **argv, void *opts, fsk__args_t *out);
/* Whether the flag called name was given. */
int fsk__args_seen(const fsk__verb_t *v, const fsk__args_t *a, const char *name);
/* The synopsis ("usage: fdsoak VERB [--flag V]... OPERANDS", wrapped) and
 * the whole help. */
void fsk__args_synopsis(FILE *f, const fsk__verb_t *v, const char *lead);
void fsk__args_help(FILE *f, const fsk__verb_t *v);

/* The one error printer of every verb: "fdsoak VERB: MESSAGE" on stderr
 * ("fdsoak: MESSAGE" when verb is NULL).  Returns FSK_EXIT_USAGE. */
int fsk__error(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
