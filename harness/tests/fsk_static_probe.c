/* A statically linked program: LD_PRELOAD cannot reach it, so fdsoak watch
 * must refuse it with a clear message instead of watching nothing. */
#include <unistd.h>

int main(void) {
  sleep(2);
  return 0;
}
