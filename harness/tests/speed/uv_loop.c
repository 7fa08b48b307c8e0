/* uv_loop.c - a libuv reconnect loop: uv_tcp_connect, and a uv_timer for
 * the backoff.  Every failed attempt opens a store file, --leak never
 * closes it.  Retries every 300 s: 12 attempts an hour. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

static int leak, port = 27314;
static char path[64];
static uv_loop_t *loop;
static uv_timer_t timer;
static uv_tcp_t tcp;
static uv_connect_t req;
static int store = -1;

static void attempt(uv_timer_t *t);

static void closed_cb(uv_handle_t *h) {
  (void)h;
  uv_timer_start(&timer, attempt, 300 * 1000, 0);
}

static void connect_cb(uv_connect_t *r, int status) {
  (void)r;
  if (status == 0) {
    uv_stop(loop);
    return;
  }
  if (!leak)
    close(store);
  uv_close((uv_handle_t *)&tcp, closed_cb);
}

static void attempt(uv_timer_t *t) {
  struct sockaddr_in a;
  int rc;

  (void)t;
  store = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  uv_ip4_addr("127.0.0.1", port, &a);
  uv_tcp_init(loop, &tcp);
  if ((rc = uv_tcp_connect(&req, &tcp, (struct sockaddr *)&a, connect_cb)) != 0)
    connect_cb(&req, rc);
}

int main(int argc, char **argv) {
  int i;

  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--leak") == 0)
      leak = 1;
    else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
      port = atoi(argv[++i]);
  }
  strcpy(path, "/tmp/fdsoak-uv-XXXXXX");
  if (mkdtemp(path) == NULL)
    return 1;
  strcat(path, "/store");
  loop = uv_default_loop();
  uv_timer_init(loop, &timer);
  attempt(NULL);
  return uv_run(loop, UV_RUN_DEFAULT);
}
