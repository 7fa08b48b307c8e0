/* inj_fdcount — exercise every hooked call, then print the number of open
 * fds, so a test can compare a run with the shim against one without: a leak
 * detector's own tool must not move the count.  Connects go to 127.0.0.1:0
 * (always refused), opens to a scratch file given as argv[1]. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int count_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  struct dirent *e;
  int n = 0;
  if (!d)
    return -1;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.')
      n++;
  closedir(d);
  return n - 1; /* the DIR's own fd */
}

int main(int argc, char **argv) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < 50; i++) {
    struct addrinfo *res = NULL, hints = {.ai_family = AF_INET, .ai_flags = AI_NUMERICHOST};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd >= 0) {
      connect(fd, (struct sockaddr *)&a, sizeof a);
      bind(fd, (struct sockaddr *)&a, sizeof a);
      close(fd);
    }
    if (getaddrinfo("127.0.0.1", "80", &hints, &res) == 0)
      freeaddrinfo(res);
    if (argc > 1) {
      fd = open(argv[1], O_RDWR | O_CREAT, 0600);
      if (fd >= 0)
        close(fd);
      fd = openat(AT_FDCWD, argv[1], O_RDONLY);
      if (fd >= 0)
        close(fd);
    }
    usleep(2000); /* let the control-file poll interval pass a few times */
  }
  printf("%d\n", count_fds());
  return 0;
}
