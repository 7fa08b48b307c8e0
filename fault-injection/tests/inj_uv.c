/* inj_uv — libuv client for the shim's integration tests.
 *
 *   inj_uv PORT [TIMEOUT_MS]
 *
 * Connects a uv_tcp_t to 127.0.0.1:PORT and prints one line telling which of
 * libuv's two error paths the failure took:
 *   "sync <ERR>"   uv_tcp_connect() returned the error, no callback ran;
 *   "cb <ERR>"     the error arrived through the connect callback;
 *   "cb OK"        connected;
 *   "timeout"      nothing happened before TIMEOUT_MS (a hang).
 * Exits 0 only if every handle closed and uv_loop_close() succeeded. */
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

static uv_tcp_t tcp;
static uv_timer_t timer;
static uv_connect_t req;

static void close_all(void) {
  if (!uv_is_closing((uv_handle_t *)&tcp))
    uv_close((uv_handle_t *)&tcp, NULL);
  if (!uv_is_closing((uv_handle_t *)&timer))
    uv_close((uv_handle_t *)&timer, NULL);
}

static void connect_cb(uv_connect_t *r, int status) {
  (void)r;
  if (status == UV_ECANCELED)
    return; /* our own close after a timeout */
  printf("cb %s\n", status ? uv_err_name(status) : "OK");
  close_all();
}

static void timer_cb(uv_timer_t *t) {
  (void)t;
  printf("timeout\n");
  close_all();
}

int main(int argc, char **argv) {
  struct sockaddr_in addr;
  uv_loop_t loop;
  int rc;

  if (argc < 2) {
    fprintf(stderr, "usage: inj_uv PORT [TIMEOUT_MS]\n");
    return 2;
  }
  uv_loop_init(&loop);
  uv_tcp_init(&loop, &tcp);
  uv_timer_init(&loop, &timer);
  uv_timer_start(&timer, timer_cb, argc > 2 ? strtoul(argv[2], NULL, 10) : 2000, 0);
  uv_ip4_addr("127.0.0.1", atoi(argv[1]), &addr);
  rc = uv_tcp_connect(&req, &tcp, (const struct sockaddr *)&addr, connect_cb);
  if (rc) {
    printf("sync %s\n", uv_err_name(rc));
    close_all();
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  fflush(stdout);
  return uv_loop_close(&loop) == 0 ? 0 : 1;
}
