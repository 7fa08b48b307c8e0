/* fdtable.c - counting and classifying a process's open fds via /proc.
 *
 * Counting is the hot path (every cycle): stat("/proc/PID/fd").st_size is
 * the open-fd count on Linux >= 6.2 at ~2 us whatever the count.  The full
 * snapshot (readdir + readlink + stat per fd) costs ~4x a directory read and
 * is taken only when the count moved.
 */
#include "fsk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *fsk_fdclass_name(fsk_fdclass_t c) {
  static const char *const names[FSK_FD_CLASS_COUNT] = {
    "file",    "socket",  "pipe",       "eventpoll", "eventfd", "signalfd",
    "timerfd", "inotify", "anon_inode", "device",    "other"};
  return (unsigned)c < FSK_FD_CLASS_COUNT ? names[c] : "other";
}

fsk_fdclass_t fsk_fdclass_of(const char *t) {
  if (strncmp(t, "socket:", 7) == 0)
    return FSK_FD_SOCKET;
  if (strncmp(t, "pipe:", 5) == 0)
    return FSK_FD_PIPE;
  if (strncmp(t, "anon_inode:", 11) == 0) {
    const char *k = t + 11;
    if (strcmp(k, "[eventpoll]") == 0)
      return FSK_FD_EVENTPOLL;
    if (strcmp(k, "[eventfd]") == 0)
      return FSK_FD_EVENTFD;
    if (strcmp(k, "[signalfd]") == 0)
      return FSK_FD_SIGNALFD;
    if (strcmp(k, "[timerfd]") == 0)
      return FSK_FD_TIMERFD;
    if (strcmp(k, "inotify") == 0 || strcmp(k, "[inotify]") == 0)
      return FSK_FD_INOTIFY;
    return FSK_FD_ANON;
  }
  if (strncmp(t, "/dev/", 5) == 0)
    return FSK_FD_DEVICE;
  if (t[0] == '/')
    return FSK_FD_FILE;
  return FSK_FD_OTHER;
}

static void fd_dir(pid_t pid, char *buf, size_t len) {
  if (pid == 0)
    snprintf(buf, len, "/proc/self/fd");
  else
    snprintf(buf, len, "/proc/%d/fd", (int)pid);
}

int fsk_fd_count(pid_t pid) {
  char dir[64];
  struct stat st;
  struct dirent *de;
  DIR *d;
  int n = 0;

  fd_dir(pid, dir, sizeof(dir));
  if (stat(dir, &st) != 0)
    return -errno;
  if (st.st_size > 0)
    return (int)st.st_size;
  d = opendir(dir);
  if (d == NULL)
    return -errno;
  while ((de = readdir(d)) != NULL) {
    if (de->d_name[0] != '.')
      n++;
  }
  closedir(d);
  /* Reading our own table counts the directory stream's fd too. */
  return pid == 0 || pid == getpid() ? n - 1 : n;
}

static int cmp_fd(const void *a, const void *b) {
  const fsk_fd_t *x = a, *y = b;
  return (x->fd > y->fd) - (x->fd < y->fd);
}

int fsk_fd_snapshot(pid_t pid, fsk_fd_t *out, size_t max, size_t *n) {
  char dir[64], path[96];
  struct dirent *de;
  struct stat st;
  size_t count = 0;
  int self_fd = -1;
  int rc = 0;
  DIR *d;

  fd_dir(pid, dir, sizeof(dir));
  d = opendir(dir);
  if (d == NULL)
    return -errno;
  if (pid == 0 || pid == getpid())
    self_fd = dirfd(d); /* not part of the table we are describing */
  while ((de = readdir(d)) != NULL) {
    char *end;
    long fd;
    ssize_t len;
    fsk_fd_t *f;

    if (de->d_name[0] == '.')
      continue;
    fd = strtol(de->d_name, &end, 10);
    if (*end != '\0' || fd == self_fd)
      continue;
    if (count >= max) {
      count++;
      rc = -ENOBUFS;
      continue;
    }
    f = &out[count];
    memset(f, 0, sizeof(*f));
    f->fd = (int)fd;
    f->pid = pid == 0 ? getpid() : pid;
    snprintf(path, sizeof(path), "%s/%ld", dir, fd);
    len = readlink(path, f->target, sizeof(f->target) - 1);
    if (len < 0)
      continue; /* closed between readdir and readlink: not open now */
    f->target[len] = '\0';
    f->cls = fsk_fdclass_of(f->target);
    /* stat through the magic link gives the open file's inode, even for a
     * deleted file or a socket; it tells a reused fd number apart. */
    if (stat(path, &st) == 0)
      f->ino = (uint64_t)st.st_ino;
    count++;
  }
  closedir(d);
  if (rc == 0)
    qsort(out, count, sizeof(*out), cmp_fd);
  *n = count;
  return rc;
}
