/*
 * grow.h - the harness's one way to grow an array (ci/checksrc allows
 * realloc nowhere else in the files it has been brought to): make room for
 * `need` elements of `size` bytes in the array whose address is arrp (a
 * T **), of capacity *cap elements, doubling from `first`.  Returns 0, or
 * -ENOMEM / -EOVERFLOW with the array and *cap unchanged.  (The gateway's
 * twin is gw__grow in gateway/core/util.c: libfsk.a links no gateway code.)
 */
#ifndef FSK_GROW_H
#define FSK_GROW_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline int fsk__grow(void *arrp, size_t *cap, size_t need, size_t size, size_t first) {
  void *arr, *p;
  size_t c;

  if (need <= *cap)
    return 0;
  c = *cap != 0 ? *cap : (first != 0 ? first : 1);
  while (c < need) {
    if (c > SIZE_MAX / 2)
      return -EOVERFLOW;
    c *= 2;
  }
  if (size != 0 && c > SIZE_MAX / size)
    return -EOVERFLOW;
  /* Read and written as bytes: arrp is a T ** for any T, which a void **
   * may not alias. */
  memcpy(&arr, arrp, sizeof(arr));
  p = realloc(arr, c * size);
  if (p == NULL)
    return -ENOMEM;
  memcpy(arrp, &p, sizeof(p));
  *cap = c;
  return 0;
}

#endif /* FSK_GROW_H */
