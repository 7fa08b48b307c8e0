/*
 * sec.c - the pure part of the seccomp engine that the shim shares with
 * fdsoak's supervisor (inj_sec.h): the ELF test that decides who serves a
 * program, the system call numbers of each op, and the filter.
 *
 * The shim runs this in a process that is about to exec, possibly a vfork
 * child sharing its parent's memory: so no allocation, no stdio, and file
 * reads through raw system calls (the shim's own open hooks must not see
 * them).
 */
#include "inj.h"
#include "inj_sec.h"

#include <elf.h>
#include <errno.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static int rd(int fd, void *buf, size_t len, uint64_t off) {
  return syscall(SYS_pread64, fd, buf, len, (off_t)off) == (long)len ? 0 : -1;
}

/* The program headers (PT_INTERP) and section names (.go.buildinfo), for
 * 64-bit and 32-bit files of this machine's byte order. */
int inj_sec_elf_kind(int fd) {
  unsigned char id[EI_NIDENT];
  int kind, is64, i;
  uint64_t phoff, shoff, stroff = 0, strsz = 0;
  unsigned phnum, phentsize, shnum, shentsize, shstrndx;
  static const char go[] = ".go.buildinfo";

  if (rd(fd, id, sizeof id, 0) != 0 || memcmp(id, ELFMAG, SELFMAG) != 0)
    return 0;
  is64 = id[EI_CLASS] == ELFCLASS64;
  if (is64) {
    Elf64_Ehdr h;
    if (rd(fd, &h, sizeof h, 0) != 0)
      return INJ_ELF_IS;
    phoff = h.e_phoff, phnum = h.e_phnum, phentsize = h.e_phentsize;
    shoff = h.e_shoff, shnum = h.e_shnum, shentsize = h.e_shentsize, shstrndx = h.e_shstrndx;
  } else {
    Elf32_Ehdr h;
    if (rd(fd, &h, sizeof h, 0) != 0)
      return INJ_ELF_IS;
    phoff = h.e_phoff, phnum = h.e_phnum, phentsize = h.e_phentsize;
    shoff = h.e_shoff, shnum = h.e_shnum, shentsize = h.e_shentsize, shstrndx = h.e_shstrndx;
  }
  kind = INJ_ELF_IS | INJ_ELF_STATIC;
  for (i = 0; i < (int)phnum && i < 4096; i++) {
    uint32_t type = 0;
    if (rd(fd, &type, sizeof type, phoff + (uint64_t)i * phentsize) != 0)
      break;
    if (type == PT_INTERP)
      kind &= ~INJ_ELF_STATIC;
  }
  if (shnum == 0 || shnum >= 65536 || shstrndx >= shnum)
    return kind;
  if (is64) {
    Elf64_Shdr sh;
    if (rd(fd, &sh, sizeof sh, shoff + (uint64_t)shstrndx * shentsize) == 0)
      stroff = sh.sh_offset, strsz = sh.sh_size;
  } else {
    Elf32_Shdr sh;
    if (rd(fd, &sh, sizeof sh, shoff + (uint64_t)shstrndx * shentsize) == 0)
      stroff = sh.sh_offset, strsz = sh.sh_size;
  }
  /* Each section's name, read where it is (no copy of the whole table:
   * nothing is allocated here). */
  for (i = 0; i < (int)shnum; i++) {
    uint32_t nm = 0;
    char name[sizeof go];

    if (rd(fd, &nm, sizeof nm, shoff + (uint64_t)i * shentsize) != 0)
      break;
    if ((uint64_t)nm + sizeof go <= strsz && rd(fd, name, sizeof name, stroff + nm) == 0 &&
        memcmp(name, go, sizeof go) == 0) {
      kind |= INJ_ELF_GO;
      break;
    }
  }
  return kind;
}

/* The system calls of each op, per architecture.  arm64 has no open or
 * creat: its libc and Go use openat. */
typedef struct {
  uint32_t audit_arch;
  int x32_bit; /* numbers at or above 0x40000000 are another ABI */
  int nr_connect, nr_bind, nr_socket;
  int nr_open[4]; /* path in the argument after it: see inj_sec_op_of */
  int nr_io_uring_setup;
  int nr_getpeername;
  int nr_getsockopt;
} arch_table_t;

static const arch_table_t g_arches[] = {
  {AUDIT_ARCH_X86_64, 1, 42, 49, 41, {2, 85, 257, 437}, 425, 52, 55},
  {AUDIT_ARCH_AARCH64, 0, 203, 200, 198, {56, 437, -1, -1}, 425, 205, 209},
};
#define NARCH (sizeof g_arches / sizeof *g_arches)

int inj_sec_op_of(uint32_t audit_arch, int nr, int *path_arg) {
  const arch_table_t *a = NULL;
  size_t i;

  *path_arg = -1;
  for (i = 0; i < NARCH; i++)
    if (g_arches[i].audit_arch == audit_arch)
      a = &g_arches[i];
  if (a == NULL)
    return -1;
  if (nr == a->nr_getpeername)
    return INJ_SEC_GETPEERNAME;
  if (nr == a->nr_getsockopt)
    return INJ_SEC_GETSOCKOPT;
  if (nr == a->nr_connect)
    return INJ_OP_CONNECT;
  if (nr == a->nr_bind)
    return INJ_OP_BIND;
  if (nr == a->nr_socket)
    return INJ_OP_SOCKET;
  /* open and creat take the path first; openat and openat2 after a dirfd. */
  if (a->audit_arch == AUDIT_ARCH_X86_64 && (nr == 2 || nr == 85))
    *path_arg = 0;
  else if (nr == a->nr_open[0] || nr == a->nr_open[1] || nr == a->nr_open[2] || nr == a->nr_open[3])
    *path_arg = 1;
  return *path_arg >= 0 ? INJ_OP_OPEN : -1;
}

/* Per architecture, a jump over its block when the arch differs. */
int inj_sec_build(uint32_t opmask, struct sock_filter *f, int cap) {
  int n = 0;
  size_t ai;

#define PUT(x)                                                                                     \
  do {                                                                                             \
    if (n >= cap)                                                                                  \
      return -ENOSPC;                                                                              \
    f[n++] = (struct sock_filter)x;                                                                \
  } while (0)
  PUT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)));
  for (ai = 0; ai < NARCH; ai++) {
    const arch_table_t *a = &g_arches[ai];
    int nrs[12], nn = 0, k, jump_at, start;

    if (opmask & (1u << INJ_OP_CONNECT))
      nrs[nn++] = a->nr_connect;
    if (opmask & (1u << INJ_OP_BIND))
      nrs[nn++] = a->nr_bind;
    if (opmask & (1u << INJ_OP_SOCKET))
      nrs[nn++] = a->nr_socket;
    for (k = 0; (opmask & (1u << INJ_OP_OPEN)) && k < 4; k++)
      if (a->nr_open[k] >= 0)
        nrs[nn++] = a->nr_open[k];
    if (opmask & INJ_SEC_PEERNAME)
      nrs[nn++] = a->nr_getpeername;
    if (opmask & INJ_SEC_SOCKOPT)
      nrs[nn++] = a->nr_getsockopt;
    jump_at = n;
    PUT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, a->audit_arch, 0, 0)); /* jf set below */
    start = n;
    PUT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)));
    if (a->x32_bit) {
      PUT(BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1));
      PUT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
    }
    PUT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)a->nr_io_uring_setup, 0, 1));
    PUT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)));
    for (k = 0; k < nn; k++) {
      PUT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nrs[k], 0, 1));
      PUT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF));
    }
    PUT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
    f[jump_at].jf = (uint8_t)(n - start);
    /* The next block reloads the arch: the accumulator now holds nr. */
    if (ai + 1 < NARCH)
      PUT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)));
  }
  PUT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
#undef PUT
  return n;
}

long inj_sec_install(const struct sock_fprog *prog, int *killable, int *nnp) {
  unsigned long flags = SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
  long lfd;

  *killable = 1;
  *nnp = 0;
  lfd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, prog);
  if (lfd < 0 && errno == EINVAL) {
    /* Before Linux 5.19: no wait-killable; a signal restarts a waiting call. */
    flags &= ~SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
    *killable = 0;
    lfd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, prog);
  }
  if (lfd < 0 && errno == EACCES) {
    /* No CAP_SYS_ADMIN: a filter needs no_new_privs, which then holds for
     * the program and everything below it (a set-uid program gains
     * nothing). */
    syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    *nnp = 1;
    lfd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, prog);
  }
  return lfd < 0 ? -errno : lfd;
}

int inj_sec_send(int sock, const void *data, size_t len, int fd) {
  char cbuf[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {(void *)data, len};
  struct msghdr m;

  memset(&m, 0, sizeof m);
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  if (fd >= 0) {
    struct cmsghdr *cm;

    memset(cbuf, 0, sizeof cbuf);
    m.msg_control = cbuf;
    m.msg_controllen = sizeof cbuf;
    cm = CMSG_FIRSTHDR(&m);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &fd, sizeof(int));
  }
  return syscall(SYS_sendmsg, sock, &m, MSG_NOSIGNAL) < 0 ? -errno : 0;
}
