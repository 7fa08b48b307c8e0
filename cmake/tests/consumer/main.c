/* Parses a rule with the installed inj_spec, classifies a target with fsk,
 * and prints both with the shim's path: "rules=1 class=file shim=...". */
#include <fsk.h>
#include <inj.h>
#include <stdio.h>

int main(void) {
  inj_spec_t spec;
  char err[256];

  if (inj_spec_parse("connect:addr=127.0.0.1,port=9:do=refuse", &spec, err, sizeof err) != 0) {
    fprintf(stderr, "consumer: %s\n", err);
    return 1;
  }
  printf("rules=%d class=%s shim=%s\n", (int)spec.nrules,
         fsk_fdclass_name(fsk_fdclass_of("/tmp/x.db-wal")), FDSOAK_SHIM);
  return 0;
}
