/* fsk_sup_probe - a static C program for the seccomp engine's tests
 * (test_supervise.c, go.sh): LD_PRELOAD cannot reach it, so whatever
 * happens to its calls under `fdsoak watch` is the supervisor's doing.
 * Each mode makes one call the real way (libc's wrapper, a raw system call
 * underneath) and exits with its errno (0: success), after printing what a
 * program would see:
 *
 *   socket                     socket(AF_INET, SOCK_STREAM)
 *   bind HOST PORT             bind a TCP socket to HOST:PORT
 *   open PATH                  open(PATH, O_RDONLY)
 *   openfd PATH                open(PATH, O_RDONLY), exits with the fd (255: failed)
 *   io_uring                   io_uring_setup(1, ...)
 *   fds                        exits with the number of fds open (no errno)
 *   nnp                        exits with NoNewPrivs of /proc/self/status
 *                              (0 or 1; no errno)
 *   connect HOST PORT MS nb    a non-blocking connect, poll(POLLOUT) for at most
 *                              MS ms: the poll mask, SO_ERROR and the TCP
 *                              state after it (an unreachable's socket
 *                              stays in SYN-SENT on the real event)
 *   connect HOST PORT MS epoll as nb, the socket added to an epoll set before
 *                              the connect and epoll_wait for the mask (the
 *                              seccomp engine cannot replace such a socket)
 *   connect HOST PORT MS peek  as nb, SO_ERROR read once 500 ms after the
 *                              connect, before the poll (a soft error, such as
 *                              an ICMP answered inside connect, shows there
 *                              long before the socket wakes)
 *   connect HOST PORT MS block a blocking connect, with SO_SNDTIMEO = MS
 *                              (once connected, either way: a request sent,
 *                              and how the answer ends: data, EOF or an errno)
 *   alarm HOST PORT MS         a blocking connect interrupted by alarm after
 *                              MS ms (handler without SA_RESTART)
 *   udp HOST PORT              a datagram socket's connect, then getpeername:
 *                              the peer it names (exits with connect's errno)
 *   resolve NAME               getaddrinfo(NAME) with static glibc's own
 *                              resolver: the EAI code's name and message, or
 *                              "resolved" (exits with the EAI code's value)
 *   run CMD [ARG...]           fork, exec CMD (PATH searched) with this
 *                              environment, wait: exits as CMD did (a static
 *                              parent of a dynamic child)
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *en(int e) {
  const char *n = e ? strerrorname_np(e) : "0";
  return n != NULL ? n : "?";
}

static int addr_of(const char *host, const char *port, struct sockaddr_storage *ss,
                   socklen_t *len) {
  struct sockaddr_in *in = (void *)ss;
  struct sockaddr_in6 *in6 = (void *)ss;

  memset(ss, 0, sizeof *ss);
  if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
    in->sin_family = AF_INET;
    in->sin_port = htons((uint16_t)atoi(port));
    *len = sizeof *in;
    return AF_INET;
  }
  if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons((uint16_t)atoi(port));
    *len = sizeof *in6;
    return AF_INET6;
  }
  return -1;
}

static void on_alarm(int sig) { (void)sig; }

static int do_connect(int argc, char **argv, int alarm_mode) {
  struct sockaddr_storage ss;
  socklen_t len = 0, el = sizeof(int);
  int fam, fd, rc, e, err = 0, ms = argc > 4 ? atoi(argv[4]) : 1000;
  int ep = !alarm_mode && argc > 5 && strcmp(argv[5], "epoll") == 0;
  int peek = !alarm_mode && argc > 5 && strcmp(argv[5], "peek") == 0;
  int nb = ep || peek || (!alarm_mode && argc > 5 && strcmp(argv[5], "nb") == 0), epfd = -1;
  double t0 = now();

  if (argc < 4 || (fam = addr_of(argv[2], argv[3], &ss, &len)) < 0) {
    fprintf(stderr, "usage: fsk_sup_probe connect HOST PORT MS nb|epoll|peek|block\n");
    return 2;
  }
  fd = socket(fam, SOCK_STREAM | (nb ? SOCK_NONBLOCK : 0), 0);
  if (fd < 0) {
    printf("socket %s\n", en(errno));
    return errno;
  }
  if (alarm_mode) {
    struct sigaction sa;
    struct itimerval it = {{0, 0}, {ms / 1000, (ms % 1000) * 1000}};
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm; /* no SA_RESTART: the call fails with EINTR */
    sigaction(SIGALRM, &sa, NULL);
    setitimer(ITIMER_REAL, &it, NULL);
  } else if (!nb) {
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }
  if (ep) {
    struct epoll_event ev = {.events = EPOLLOUT, .data.fd = fd};

    if ((epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
      printf("epoll %s\n", en(errno));
      return errno;
    }
  }
  rc = connect(fd, (struct sockaddr *)&ss, len);
  e = rc == 0 ? 0 : errno;
  printf("connect %s\n", en(e));
  if (nb && e == EINPROGRESS) {
    struct pollfd p = {fd, POLLOUT, 0};
    int n;

    if (peek) {
      struct timespec half = {0, 500 * 1000 * 1000};

      nanosleep(&half, NULL);
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
      printf("SO_ERROR at 0.5 s %s\n", en(err));
      err = 0;
    }
    if (ep) {
      struct epoll_event ev = {0};

      /* The same line as poll's: EPOLLOUT, EPOLLERR, EPOLLHUP are
       * POLLOUT, POLLERR, POLLHUP. */
      n = epoll_wait(epfd, &ev, 1, ms);
      p.revents = n == 1 ? (short)ev.events : 0;
    } else {
      n = poll(&p, 1, ms);
    }
    printf("poll %d%s%s%s\n", n, p.revents & POLLOUT ? " POLLOUT" : "",
           p.revents & POLLERR ? " POLLERR" : "", p.revents & POLLHUP ? " POLLHUP" : "");
    if (n == 0)
      e = ETIMEDOUT;
    else {
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
      printf("SO_ERROR %s\n", en(err));
      e = err;
      {
        static const char *const st[] = {"?",          "ESTABLISHED", "SYN-SENT",  "SYN-RECV",
                                         "FIN-WAIT1",  "FIN-WAIT2",   "TIME-WAIT", "CLOSE",
                                         "CLOSE-WAIT", "LAST-ACK",    "LISTEN",    "CLOSING"};
        struct tcp_info ti;
        socklen_t tl = sizeof ti;

        if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tl) == 0)
          printf("state %s\n", ti.tcpi_state < sizeof st / sizeof *st ? st[ti.tcpi_state] : "?");
      }
    }
  }
  if (e == 0) {
    /* Connected: a request, and the answer (a reset after accept fails
     * here, as on the real network). */
    char buf[64];
    struct pollfd p = {fd, POLLIN, 0};
    ssize_t r = send(fd, "GET / HTTP/1.0\r\n\r\n", 18, MSG_NOSIGNAL);

    printf("send %s\n", r < 0 ? en(errno) : "0");
    if (r >= 0 && poll(&p, 1, ms > 0 ? ms : 1000) == 1) {
      r = recv(fd, buf, sizeof buf, 0);
      printf("recv %s\n", r < 0 ? en(errno) : r == 0 ? "EOF" : "data");
      e = r < 0 ? errno : 0;
    } else if (r >= 0) {
      printf("recv nothing\n");
    }
  }
  printf("elapsed %.2f\n", now() - t0);
  close(fd);
  return e;
}

int main(int argc, char **argv) {
  const char *m = argc > 1 ? argv[1] : "";

  setvbuf(stdout, NULL, _IOLBF, 0);
  if (strcmp(m, "bind") == 0 && argc > 3) {
    struct sockaddr_storage ss;
    socklen_t len = 0;
    int fam = addr_of(argv[2], argv[3], &ss, &len), fd, rc;

    if (fam < 0 || (fd = socket(fam, SOCK_STREAM, 0)) < 0) {
      printf("bind: no socket for %s\n", argv[2]);
      return 2;
    }
    rc = bind(fd, (struct sockaddr *)&ss, len);
    printf("bind %s\n", rc < 0 ? en(errno) : "0");
    return rc < 0 ? errno : 0;
  }
  if (strcmp(m, "socket") == 0) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    printf("socket %s\n", fd < 0 ? en(errno) : "0");
    return fd < 0 ? errno : 0;
  }
  if (strcmp(m, "open") == 0 && argc > 2) {
    int fd = open(argv[2], O_RDONLY);
    printf("open %s\n", fd < 0 ? en(errno) : "0");
    return fd < 0 ? errno : 0;
  }
  if (strcmp(m, "openfd") == 0 && argc > 2) {
    int fd = open(argv[2], O_RDONLY);
    printf("openfd %d\n", fd);
    return fd < 0 ? 255 : fd;
  }
  if (strcmp(m, "io_uring") == 0) {
    char params[120] = {0};
    long r = syscall(425, 1, params);
    printf("io_uring_setup %s\n", r < 0 ? en(errno) : "0");
    return r < 0 ? errno : 0;
  }
  if (strcmp(m, "fds") == 0) {
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    int n = 0;
    while (d != NULL && (de = readdir(d)) != NULL)
      n += de->d_name[0] != '.';
    if (d != NULL)
      closedir(d);
    printf("fds %d\n", n - 1); /* less the directory's own */
    return n - 1;
  }
  if (strcmp(m, "nnp") == 0) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[128];
    int v = -1;
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
      if (sscanf(line, "NoNewPrivs: %d", &v) == 1)
        break;
    if (f != NULL)
      fclose(f);
    printf("NoNewPrivs %d\n", v);
    return v < 0 ? 2 : v;
  }
  if (strcmp(m, "connect") == 0)
    return do_connect(argc, argv, 0);
  if (strcmp(m, "alarm") == 0)
    return do_connect(argc, argv, 1);
  if (strcmp(m, "udp") == 0 && argc > 3) {
    struct sockaddr_storage ss, peer;
    socklen_t len = 0, plen = sizeof peer;
    char host[64] = "?";
    int fam = addr_of(argv[2], argv[3], &ss, &len), fd, e;

    if (fam < 0 || (fd = socket(fam, SOCK_DGRAM, 0)) < 0)
      return 2;
    e = connect(fd, (struct sockaddr *)&ss, len) == 0 ? 0 : errno;
    printf("connect %s\n", en(e));
    if (getpeername(fd, (struct sockaddr *)&peer, &plen) != 0) {
      printf("getpeername %s\n", en(errno));
    } else {
      const void *a = peer.ss_family == AF_INET6
                        ? (const void *)&((struct sockaddr_in6 *)&peer)->sin6_addr
                        : (const void *)&((struct sockaddr_in *)&peer)->sin_addr;
      inet_ntop(peer.ss_family, a, host, sizeof host);
      printf("getpeername %s port %u\n", host,
             ntohs(peer.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&peer)->sin6_port
                                              : ((struct sockaddr_in *)&peer)->sin_port));
    }
    close(fd);
    return e;
  }
  if (strcmp(m, "resolve") == 0 && argc > 2) {
    struct addrinfo hints, *res = NULL;
    double t0 = now();
    int rc;
    static const struct {
      int code;
      const char *name;
    } eai[] = {{EAI_NONAME, "EAI_NONAME"},
               {EAI_AGAIN, "EAI_AGAIN"},
               {EAI_FAIL, "EAI_FAIL"},
               {EAI_NODATA, "EAI_NODATA"},
               {EAI_SYSTEM, "EAI_SYSTEM"}};
    const char *n = "?";

    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    rc = getaddrinfo(argv[2], "80", &hints, &res);
    for (size_t i = 0; i < sizeof eai / sizeof *eai; i++)
      if (eai[i].code == rc)
        n = eai[i].name;
    if (rc == 0)
      printf("resolved\n");
    else
      printf("getaddrinfo %s: %s\n", n, gai_strerror(rc));
    if (res != NULL)
      freeaddrinfo(res);
    printf("elapsed %.2f\n", now() - t0);
    return rc < 0 ? -rc : rc;
  }
  if (strcmp(m, "run") == 0 && argc > 2) {
    int st = 0;
    pid_t pid = fork();

    if (pid == 0) {
      execvp(argv[2], argv + 2);
      _exit(127);
    }
    if (pid < 0 || waitpid(pid, &st, 0) != pid)
      return 2;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
  fprintf(stderr, "usage: fsk_sup_probe socket|open PATH|io_uring|fds|nnp|connect ...|alarm "
                  "...|udp HOST PORT|resolve NAME|run CMD...\n");
  return 2;
}
