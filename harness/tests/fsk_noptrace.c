/* fsk_noptrace - run a command as in a container without CAP_SYS_PTRACE
 * (sup_limits.sh): Docker's default seccomp profile fails ptrace,
 * process_vm_readv/writev, pidfd_getfd and kcmp with EPERM unless the
 * container has CAP_SYS_PTRACE, and bpf unless it has CAP_SYS_ADMIN or
 * CAP_BPF (so fdsoak's connect programs do not load there either).  This installs the same denial (with
 * no_new_privs, as an unprivileged container's runtime does) and execs the
 * command, which inherits it with all its children.
 *
 *   fsk_noptrace CMD [ARG...]
 *
 * Exit: the command's (exec), 2 when the filter cannot be installed.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define ARCH AUDIT_ARCH_AARCH64
#else
#error "x86-64 and arm64 only"
#endif

#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

#define DENY(nr)                                                                                   \
  BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1),                                                 \
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM)

int main(int argc, char **argv) {
  struct sock_filter f[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    DENY(SYS_ptrace),
    DENY(SYS_process_vm_readv),
    DENY(SYS_process_vm_writev),
    DENY(SYS_pidfd_getfd),
    DENY(SYS_kcmp),
    DENY(SYS_bpf),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {(unsigned short)(sizeof f / sizeof *f), f};

  if (argc < 2) {
    fprintf(stderr, "usage: fsk_noptrace CMD [ARG...]\n");
    return 2;
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
      syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
    fprintf(stderr, "fsk_noptrace: cannot install the filter: %s\n", strerror(errno));
    return 2;
  }
  execvp(argv[1], argv + 1);
  fprintf(stderr, "fsk_noptrace: %s: %s\n", argv[1], strerror(errno));
  return 2;
}
