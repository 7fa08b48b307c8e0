/* fdcount.c - the process's open-fd count, cheap enough to take every
 * cycle, and its fd limits. */
#include "internal.h"

#include <dirent.h>
#include <sys/resource.h>
#include <sys/stat.h>

void gw__fd_limits(long *soft, long *hard) {
  struct rlimit rl;

  *soft = *hard = -1;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    *soft = rl.rlim_cur == RLIM_INFINITY ? -1 : (long)rl.rlim_cur;
    *hard = rl.rlim_max == RLIM_INFINITY ? -1 : (long)rl.rlim_max;
  }
}

int gw_fd_count(void) {
  struct stat st;
  DIR *d;
  struct dirent *de;
  int n = 0;

  /* Linux >= 6.2 reports the number of open fds as the directory's size:
   * about 2 us whatever the count, where reading the directory is O(fds). */
  if (stat("/proc/self/fd", &st) == 0 && st.st_size > 0)
    return (int)st.st_size;

  d = opendir("/proc/self/fd");
  if (d == NULL)
    return UV_ENOENT;
  while ((de = readdir(d)) != NULL) {
    if (de->d_name[0] != '.')
      n++;
  }
  closedir(d);
  return n - 1; /* the directory stream's own fd */
}
