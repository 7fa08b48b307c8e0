/* origin.c - where a leaked fd was opened, from the shim's fd records.
 *
 * With FDSOAK_INJECT_TRACK=1 the shim records, for every fd it sees created,
 * the operation and a short backtrace in its counter page (no fd, no
 * allocation).  The frames are return addresses in the target: in our own
 * process dladdr names them; in another one /proc/PID/maps turns them into
 * "object+0xoffset", which addr2line resolves.
 */
#include "driver.h"

#include <dlfcn.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "inj.h"

/* A frame of this process: "function", else "object+0xoffset". */
static int name_own_frame(uint64_t addr, char *buf, size_t len) {
  Dl_info info;
  const char *base;

  if (dladdr((void *)(uintptr_t)addr, &info) == 0 || info.dli_fname == NULL) {
    snprintf(buf, len, "0x%llx", (unsigned long long)addr);
    return 0;
  }
  if (strstr(info.dli_fname, "libfdsoak-inject") != NULL)
    return -1; /* the shim's own frames say nothing about the target */
  if (info.dli_sname != NULL) {
    snprintf(buf, len, "%s", info.dli_sname);
    return 0;
  }
  base = strrchr(info.dli_fname, '/');
  snprintf(buf, len, "%s+0x%lx", base != NULL ? base + 1 : info.dli_fname,
           (unsigned long)(addr - (uintptr_t)info.dli_fbase));
  return 0;
}

/* A frame of another process: "object+0xoffset" from its maps. */
static int name_other_frame(pid_t pid, uint64_t addr, char *buf, size_t len) {
  char maps[64], line[PATH_MAX + 128];
  int rc = 0;
  FILE *f;

  snprintf(buf, len, "0x%llx", (unsigned long long)addr);
  snprintf(maps, sizeof(maps), "/proc/%d/maps", (int)pid);
  if ((f = fopen(maps, "r")) == NULL)
    return 0;
  while (fgets(line, sizeof(line), f) != NULL) {
    unsigned long long lo, hi, off;
    char perms[8], path[PATH_MAX];
    path[0] = '\0';
    if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %4095s", &lo, &hi, perms, &off, path) < 4)
      continue;
    if (addr >= lo && addr < hi && path[0] == '/') {
      if (strstr(path, "libfdsoak-inject") != NULL)
        rc = -1;
      else
        snprintf(buf, len, "%s+0x%llx", basename(path), (unsigned long long)(addr - lo + off));
      break;
    }
  }
  fclose(f);
  return rc;
}

void fsk__origin_from_shim(const char *stats_path, pid_t pid, int fd, char *buf, size_t len) {
  inj_stats_view_t v;
  inj_fd_record_t rec;
  size_t used = strlen(buf);
  unsigned i, named = 0;

  if (stats_path == NULL || used >= len || inj_stats_open(stats_path, &v) != 0)
    return;
  if (inj_stats_fd_record(&v, pid == 0 ? (int)getpid() : (int)pid, fd, &rec) == 0 && rec.nframes > 0) {
    used += (size_t)snprintf(buf + used, len - used, "; opened by %s() at", inj_op_name(rec.op));
    for (i = 0; i < rec.nframes && i < INJ_BT_FRAMES && used < len; i++) {
      char fr[PATH_MAX];
      int rc = pid == 0 || pid == getpid() ? name_own_frame(rec.frames[i], fr, sizeof(fr))
                                           : name_other_frame(pid, rec.frames[i], fr, sizeof(fr));
      if (rc != 0)
        continue;
      used += (size_t)snprintf(buf + used, len - used, "%s %s", named++ ? " <-" : "", fr);
    }
  }
  inj_stats_close(&v);
}
