/* origin.c - where a leaked fd was opened, from the shim's fd records.
 *
 * With FDSOAK_INJECT_TRACK=1 the shim records, for every fd it sees created,
 * the process, the operation and a short backtrace in its counter page (no
 * fd, no allocation).  The frames are return addresses in that process.
 * elfutils' libdwfl maps them to modules through /proc/PID/maps and names
 * them from .symtab/.dynsym, and from installed separate debug info
 * (/usr/lib/debug, build-id) with file and line where there is any.  A
 * frame no symbol covers is shown as "object+0xoffset", which addr2line
 * resolves later.
 */
#include "driver.h"

#include <dlfcn.h>
#include <elfutils/libdwfl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "inj.h"

/* One Dwfl per process described; reporting a process's modules reads its
 * maps and opens its ELF files, so it is done once per lookup batch. */
static Dwfl *dwfl_for(pid_t pid, const char *maps) {
  static char *debuginfo_path = NULL;
  static const Dwfl_Callbacks cb = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .debuginfo_path = &debuginfo_path,
  };
  Dwfl *d = dwfl_begin(&cb);

  if (d == NULL)
    return NULL;
  /* The live process, else the maps kept while it lived (it may have
   * died of the very leak being reported). */
  if (dwfl_linux_proc_report(d, pid) != 0) {
    FILE *f = maps != NULL ? fmemopen((void *)maps, strlen(maps), "r") : NULL;
    int rc = f != NULL ? dwfl_linux_proc_maps_report(d, f) : -1;

    if (f != NULL)
      fclose(f);
    if (rc != 0) {
      dwfl_end(d);
      return NULL;
    }
  }
  if (dwfl_report_end(d, NULL, NULL) != 0) {
    dwfl_end(d);
    return NULL;
  }
  return d;
}

/* "function (file.c:12)", "function", or "object+0xoffset"; -1 for the
 * shim's own frames, which say nothing about the target. */
static int name_frame(Dwfl *d, pid_t pid, uint64_t addr, char *buf, size_t len) {
  Dwfl_Module *m = d != NULL ? dwfl_addrmodule(d, (Dwarf_Addr)addr) : NULL;
  const char *mod = NULL, *sym = NULL, *file = NULL, *base;
  Dwarf_Addr lo = 0;
  int line = 0;

  (void)pid;
  if (m == NULL) {
    snprintf(buf, len, "0x%llx", (unsigned long long)addr);
    return 0;
  }
  mod = dwfl_module_info(m, NULL, &lo, NULL, NULL, NULL, NULL, NULL);
  if (mod != NULL && strstr(mod, "libfdsoak-inject") != NULL)
    return -1;
  sym = dwfl_module_addrname(m, (Dwarf_Addr)addr);
  /* A return address points after the call: the call's own line is at
   * addr - 1. */
  {
    Dwfl_Line *l = dwfl_module_getsrc(m, (Dwarf_Addr)addr - 1);

    if (l != NULL)
      file = dwfl_lineinfo(l, NULL, &line, NULL, NULL, NULL);
  }
  base = mod != NULL ? strrchr(mod, '/') : NULL;
  base = base != NULL ? base + 1 : mod != NULL ? mod : "?";
  if (sym != NULL && file != NULL) {
    /* The whole path: the report shortens it for reading, and SARIF
     * needs it to find the file in the repository. */
    snprintf(buf, len, "%s (%s:%d)", sym, file, line);
  } else if (sym != NULL) {
    snprintf(buf, len, "%s", sym);
  } else {
    snprintf(buf, len, "%s+0x%llx", base, (unsigned long long)(addr - lo));
  }
  return 0;
}

/* The modules of the last process described: a regress run names hundreds
 * of fds of one process, and reporting its modules costs milliseconds. */
static struct {
  pid_t pid;
  Dwfl *d;
} g_cache;

void fsk__origin_release(void) {
  /* Dwfl holds the ELF files it opened: release them before an fd report
   * (valgrind's at exit) would count them. */
  if (g_cache.d != NULL)
    dwfl_end(g_cache.d);
  g_cache.d = NULL;
  g_cache.pid = 0;
}

static Dwfl *dwfl_cached(pid_t pid, const char *maps) {
  if (g_cache.d != NULL && g_cache.pid == pid)
    return g_cache.d;
  fsk__origin_release();
  g_cache.d = dwfl_for(pid, maps);
  g_cache.pid = g_cache.d != NULL ? pid : 0;
  return g_cache.d;
}

int fsk__origin_when(const char *stats_path, pid_t pid, int fd, uint64_t *born_ns, long *attempt) {
  inj_stats_view_t v;
  inj_fd_record_t rec;
  int found = 0;

  *born_ns = 0;
  *attempt = 0;
  if (stats_path == NULL || inj_stats_open(stats_path, &v) != 0)
    return 0;
  if (inj_stats_fd_record(&v, pid == 0 ? (int)getpid() : (int)pid, fd, &rec) == 0) {
    *born_ns = rec.mono_ns;
    *attempt = (long)rec.attempt;
    found = 1;
  }
  inj_stats_close(&v);
  return found;
}

int fsk__origin_from_shim(const char *stats_path, pid_t pid, pid_t rec_pid, int fd,
                          const char *maps, char *buf, size_t len) {
  inj_stats_view_t v;
  inj_fd_record_t rec;
  size_t used = strlen(buf);
  unsigned i, named = 0;
  int found = 0;
  pid_t who = pid == 0 ? getpid() : pid;

  if (stats_path == NULL || used >= len || inj_stats_open(stats_path, &v) != 0)
    return 0;
  /* The shim wrote the pid it saw (its own PID namespace's); the frames
   * are named through ours. */
  if (inj_stats_fd_record(&v, rec_pid > 0 ? (int)rec_pid : (int)who, fd, &rec) == 0 &&
      rec.nframes > 0) {
    Dwfl *d = dwfl_cached(who, maps);

    found = 1;
    used += (size_t)snprintf(buf + used, len - used, "; opened by %s() at", inj_op_name(rec.op));
    for (i = 0; i < rec.nframes && i < INJ_BT_FRAMES && used < len; i++) {
      char fr[PATH_MAX];

      if (name_frame(d, who, rec.frames[i], fr, sizeof(fr)) != 0)
        continue;
      used += (size_t)snprintf(buf + used, len - used, "%s %s", named++ ? " <-" : "", fr);
    }
  }
  inj_stats_close(&v);
  return found;
}
