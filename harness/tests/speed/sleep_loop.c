/* sleep_loop.c - a plain C reconnect loop that waits with sleep(3):
 * every failed attempt opens a store file, --leak never closes it.
 * Retries every 300 s: 12 attempts an hour. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
  int leak = 0, port = 27313, i;
  char path[] = "/tmp/fdsoak-sleep-XXXXXX";

  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--leak") == 0)
      leak = 1;
    else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
      port = atoi(argv[++i]);
  }
  if (mkdtemp(path) == NULL)
    return 1;
  strcat(path, "/store");
  for (;;) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int f = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(s, (struct sockaddr *)&a, sizeof a) == 0) {
      close(s);
      close(f);
      return 0;
    }
    close(s);
    if (!leak)
      close(f);
    sleep(300);
  }
}
