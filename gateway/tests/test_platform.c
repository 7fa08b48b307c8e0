/* test_platform.c - the platform adapter against a real fdsoak-platformd.
 *
 * Each test spawns the peer on an ephemeral loopback port in the mode the
 * test needs, drives one adapter through create/open/connect/disconnect (or
 * a platform through the runner), and checks the outcome and that the fd
 * count after the attempt and its disconnect equals the count before.  The
 * peer is a separate process, so every fd counted here is the adapter's.
 */
#include "fixture.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <time.h>

#include "platform.h"

#ifndef FDSOAK_PLATFORMD
#error "FDSOAK_PLATFORMD must name the fdsoak-platformd binary"
#endif

extern char **environ;

typedef struct {
  pid_t pid;
  int port;
  char port_file[256];
  char log[256]; /* the peer's stderr: what it received, line by line */
} peer_t;

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Start the peer with extra flags (NULL-terminated); wait for its port. */
static void peer_start(peer_t *peer, const char *dir, const char *const *flags) {
  char *argv[32];
  int argc = 0;
  int i;
  FILE *f;

  memset(peer, 0, sizeof(*peer));
  snprintf(peer->port_file, sizeof(peer->port_file), "%s/peer.port", dir);
  snprintf(peer->log, sizeof(peer->log), "%s/peer.log", dir);
  unlink(peer->port_file);
  argv[argc++] = (char *)FDSOAK_PLATFORMD;
  argv[argc++] = (char *)"--port-file";
  argv[argc++] = peer->port_file;
  for (i = 0; flags != NULL && flags[i] != NULL && argc < 30; i++)
    argv[argc++] = (char *)flags[i];
  argv[argc] = NULL;
  {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    /* The port goes to the port file; stdout would only clutter the log. */
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    /* Its log is how a test sees what reached the peer (GW_TEST_VERBOSE:
     * on the test's own stderr instead). */
    if (getenv("GW_TEST_VERBOSE") == NULL)
      posix_spawn_file_actions_addopen(&fa, 2, peer->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_int_equal(posix_spawn(&peer->pid, argv[0], &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
  }
  /* Bounded: 10 s for a process that binds a socket at once. */
  for (i = 0; i < 1000; i++) {
    f = fopen(peer->port_file, "r");
    if (f != NULL) {
      int ok = fscanf(f, "%d", &peer->port) == 1;
      fclose(f);
      if (ok && peer->port > 0)
        return;
    }
    sleep_ms(10);
  }
  kill(peer->pid, SIGKILL);
  waitpid(peer->pid, NULL, 0);
  fail_msg("fdsoak-platformd did not write its port");
}

/* Lines of the peer's log that contain `what`. */
static int peer_log_count(const peer_t *peer, const char *what) {
  char line[1024];
  int n = 0;
  FILE *f = fopen(peer->log, "r");

  if (f == NULL)
    return 0;
  while (fgets(line, sizeof(line), f) != NULL)
    n += strstr(line, what) != NULL;
  fclose(f);
  return n;
}

static void peer_stop(peer_t *peer) {
  int status = 0;
  int i;

  if (peer->pid <= 0)
    return;
  kill(peer->pid, SIGTERM);
  for (i = 0; i < 500; i++) {
    if (waitpid(peer->pid, &status, WNOHANG) == peer->pid)
      break;
    sleep_ms(10);
  }
  if (i == 500) {
    kill(peer->pid, SIGKILL);
    waitpid(peer->pid, &status, 0);
    fail_msg("fdsoak-platformd ignored SIGTERM");
  }
  peer->pid = 0;
  /* The peer's own clean shutdown is part of its contract. */
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
}

/* A loopback port nobody listens on: bind, read it back, close. */
static int closed_port(void) {
  struct sockaddr_in sin;
  socklen_t len = sizeof(sin);
  int fd, port;

  fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
  port = ntohs(sin.sin_port);
  close(fd);
  return port;
}

/* ------------------------------------------------------------------ */

typedef struct {
  fx_t fx;
  peer_t peer;
  gw_adapter_t *a;
  int connect_calls;
  gw_connect_result_t result;
  int err;
  int disconnected;
  int disconnect_status;
} pt_t;

static void pt_connect_cb(gw_adapter_t *a, gw_connect_result_t result, int err) {
  pt_t *t = a->data;

  t->connect_calls++;
  t->result = result;
  t->err = err;
}

static void pt_disconnect_cb(gw_adapter_t *a, int status) {
  pt_t *t = a->data;

  t->disconnected = 1;
  t->disconnect_status = status;
}

static void pt_config(pt_t *t, gw_platform_config_t *cfg, const char *host, int port) {
  memset(cfg, 0, sizeof(*cfg));
  gw_platform_config_defaults(cfg);
  snprintf(cfg->name, sizeof(cfg->name), "chat");
  snprintf(cfg->kind, sizeof(cfg->kind), "platform");
  snprintf(cfg->host, sizeof(cfg->host), "%s", host);
  cfg->port = port;
  snprintf(cfg->token, sizeof(cfg->token), "good-token");
  snprintf(cfg->store_path, sizeof(cfg->store_path), "%s/ledger.db", t->fx.dir);
}

/* Run the loop until *flag is set or ms of real time passed. */
static void pt_run_until(pt_t *t, const int *flag, long ms) {
  uint64_t end = uv_hrtime() + (uint64_t)ms * 1000000u;

  while (!*flag && uv_hrtime() < end) {
    uv_run(&t->fx.loop, UV_RUN_NOWAIT);
    if (!*flag)
      sleep_ms(1);
  }
}

static void pt_disconnect(pt_t *t) {
  assert_int_equal(gw_adapter_disconnect(t->a, pt_disconnect_cb), 0);
  /* A second disconnect is harmless. */
  assert_int_equal(gw_adapter_disconnect(t->a, pt_disconnect_cb), UV_EALREADY);
  pt_run_until(t, &t->disconnected, 5000);
  assert_true(t->disconnected);
  gw_adapter_destroy(t->a);
  t->a = NULL;
}

/* One attempt against a peer in the given mode; returns with the adapter
 * disconnected and destroyed, and asserts the fd balance around it. */
static void pt_attempt(pt_t *t, const char *host, int port, int expect_done) {
  gw_platform_config_t cfg;
  int fd_before;
  int rc;

  pt_config(t, &cfg, host, port);
  fd_before = gw_fd_count();
  assert_int_equal(gw_platform_adapter_vtable.create(t->fx.r, &cfg, &t->a), 0);
  t->a->data = t;
  assert_int_equal(gw_adapter_open(t->a), 0);
  /* The ledger: db, -wal and -shm. */
  assert_int_equal(gw_fd_count(), fd_before + 3);
  rc = gw_adapter_connect(t->a, pt_connect_cb);
  assert_int_equal(rc, 0);
  if (expect_done)
    pt_run_until(t, &t->connect_calls, 5000);
  else
    pt_run_until(t, &t->connect_calls, 300);
}

static void pt_dump_fds(void) {
  if (getenv("GW_TEST_VERBOSE") != NULL) {
    int rc = system("ls -l /proc/$PPID/fd >&2");
    (void)rc;
  }
}

static void pt_finish(pt_t *t, int fd_before) {
  pt_disconnect(t);
  if (gw_fd_count() != fd_before)
    pt_dump_fds();
  assert_int_equal(t->connect_calls <= 1, 1); /* never twice */
  assert_int_equal(gw_fd_count(), fd_before);
}

static int pt_setup(void **state) {
  pt_t *t = calloc(1, sizeof(*t));

  assert_non_null(t);
  fx_setup(&t->fx);
  {
    /* libuv opens one reserve fd per loop (its EMFILE trick) at the first
     * stream it initialises: open it now, so attempts are measured against
     * a loop in its steady state. */
    uv_tcp_t warm;
    assert_int_equal(uv_tcp_init(&t->fx.loop, &warm), 0);
    uv_close((uv_handle_t *)&warm, NULL);
    uv_run(&t->fx.loop, UV_RUN_NOWAIT);
  }
  assert_int_equal(gw_runner_register_kind(t->fx.r, &gw_platform_adapter_vtable), 0);
  *state = t;
  return 0;
}

static int pt_teardown(void **state) {
  pt_t *t = *state;

  peer_stop(&t->peer);
  fx_teardown(&t->fx);
  free(t);
  return 0;
}

static void start_peer(pt_t *t, const char *mode, const char *extra1, const char *extra2) {
  const char *flags[8] = {"--mode", mode, extra1, extra2, NULL};
  peer_start(&t->peer, t->fx.dir, flags);
}

/* ------------------------------------------------------------------ */

static void test_ready(void **state) {
  pt_t *t = *state;
  int fd0, replies = 0;

  start_peer(t, "accept", "--message-every-ms", "10");
  fd0 = gw_fd_count();
  pt_attempt(t, "127.0.0.1", t->peer.port, 1);
  assert_int_equal(t->connect_calls, 1);
  assert_int_equal(t->result, GW_CONNECT_OK);
  assert_int_equal(gw_adapter_state(t->a), GW_ADAPTER_CONNECTED);
  assert_false(gw_adapter_failure(t->a)->has_error);
  /* Connected: the peer's messages are echoed back, and the peer logs each
   * reply it receives ("send chat=c text=echo: ping N"). */
  for (int i = 0; i < 500 && replies < 3; i++) {
    uv_run(&t->fx.loop, UV_RUN_NOWAIT);
    sleep_ms(2);
    if (getenv("GW_TEST_VERBOSE") != NULL)
      replies = 3; /* the log is on the terminal: nothing to count */
    else if (i % 10 == 9)
      replies = peer_log_count(&t->peer, "text=echo: ping ");
  }
  assert_true(replies >= 3);
  pt_finish(t, fd0);
}

static void test_ready_hostname(void **state) {
  pt_t *t = *state;
  int fd0;

  /* A name goes through the resolver on the threadpool. */
  start_peer(t, "accept", NULL, NULL);
  fd0 = gw_fd_count();
  pt_attempt(t, "localhost", t->peer.port, 1);
  assert_int_equal(t->connect_calls, 1);
  assert_int_equal(t->result, GW_CONNECT_OK);
  pt_finish(t, fd0);
}

static void test_reject(void **state) {
  pt_t *t = *state;
  const gw_failure_t *f;
  int fd0;

  start_peer(t, "reject", NULL, NULL);
  fd0 = gw_fd_count();
  pt_attempt(t, "127.0.0.1", t->peer.port, 1);
  assert_int_equal(t->result, GW_CONNECT_FAILED);
  f = gw_adapter_failure(t->a);
  assert_true(f->has_error);
  assert_false(f->retryable);
  assert_string_equal(f->code, "invalid_token");
  pt_finish(t, fd0);
}

static void test_wrong_token(void **state) {
  pt_t *t = *state;
  int fd0;

  start_peer(t, "accept", "--token", "another-token");
  fd0 = gw_fd_count();
  pt_attempt(t, "127.0.0.1", t->peer.port, 1);
  assert_int_equal(t->result, GW_CONNECT_FAILED);
  assert_false(gw_adapter_failure(t->a)->retryable);
  assert_string_equal(gw_adapter_failure(t->a)->code, "invalid_token");
  pt_finish(t, fd0);
}

static void expect_retryable(pt_t *t, const char *mode) {
  int fd0;

  start_peer(t, mode, NULL, NULL);
  fd0 = gw_fd_count();
  pt_attempt(t, "127.0.0.1", t->peer.port, 1);
  assert_int_equal(t->connect_calls, 1);
  if (t->result != GW_CONNECT_FAILED)
    fail_msg("mode %s: result %d err %s", mode, t->result, uv_err_name(t->err));
  assert_true(gw_adapter_failure(t->a)->has_error);
  assert_true(gw_adapter_failure(t->a)->retryable);
  pt_finish(t, fd0);
}

static void test_close_at_accept(void **state) { expect_retryable(*state, "close"); }
static void test_close_after_bytes(void **state) { expect_retryable(*state, "close-after=5"); }
static void test_reset(void **state) { expect_retryable(*state, "reset"); }

static void test_refused(void **state) {
  pt_t *t = *state;
  int fd0 = gw_fd_count();

  pt_attempt(t, "127.0.0.1", closed_port(), 1);
  assert_int_equal(t->result, GW_CONNECT_FAILED);
  assert_true(gw_adapter_failure(t->a)->retryable);
  assert_string_equal(gw_adapter_failure(t->a)->code, "connect_failed");
  pt_finish(t, fd0);
}

static void test_garbage(void **state) {
  pt_t *t = *state;
  int fd0;

  start_peer(t, "garbage", NULL, NULL);
  fd0 = gw_fd_count();
  pt_attempt(t, "127.0.0.1", t->peer.port, 1);
  assert_int_equal(t->result, GW_CONNECT_ERROR);
  assert_int_equal(t->err, UV_EPROTO);
  pt_finish(t, fd0);
}

static void test_silent_then_disconnect(void **state) {
  pt_t *t = *state;
  int fd0;

  /* The runner's timeout would disconnect here; after that, no callback. */
  start_peer(t, "silent", NULL, NULL);
  fd0 = gw_fd_count();
  pt_attempt(t, "127.0.0.1", t->peer.port, 0);
  assert_int_equal(t->connect_calls, 0);
  pt_disconnect(t);
  pt_run_until(t, &t->connect_calls, 50);
  assert_int_equal(t->connect_calls, 0);
  assert_int_equal(gw_fd_count(), fd0);
}

static void test_disconnect_while_resolving(void **state) {
  pt_t *t = *state;
  gw_platform_config_t cfg;
  int fd0 = gw_fd_count();

  pt_config(t, &cfg, "localhost", closed_port());
  assert_int_equal(gw_platform_adapter_vtable.create(t->fx.r, &cfg, &t->a), 0);
  t->a->data = t;
  assert_int_equal(gw_adapter_open(t->a), 0);
  assert_int_equal(gw_adapter_connect(t->a, pt_connect_cb), 0);
  /* Disconnect at once: the lookup is queued or running on a worker. */
  pt_disconnect(t);
  assert_int_equal(t->connect_calls, 0);
  assert_int_equal(gw_fd_count(), fd0);
}

static void test_drop_after_ready(void **state) {
  pt_t *t = *state;
  int fd0;
  int lost = 0;

  start_peer(t, "accept", "--drop-after-ms", "30");
  fd0 = gw_fd_count();
  pt_attempt(t, "127.0.0.1", t->peer.port, 1);
  assert_int_equal(t->result, GW_CONNECT_OK);
  /* Not installed in a runner, so report_fatal is only recorded. */
  for (int i = 0; i < 1000 && !lost; i++) {
    uv_run(&t->fx.loop, UV_RUN_NOWAIT);
    lost = gw_adapter_failure(t->a)->has_error;
    if (!lost)
      sleep_ms(2);
  }
  assert_true(lost);
  assert_true(gw_adapter_failure(t->a)->retryable);
  assert_string_equal(gw_adapter_failure(t->a)->code, "connection_lost");
  pt_finish(t, fd0);
}

static void test_open_fails(void **state) {
  pt_t *t = *state;
  gw_platform_config_t cfg;
  int fd0 = gw_fd_count();

  pt_config(t, &cfg, "127.0.0.1", 1);
  snprintf(cfg.store_path, sizeof(cfg.store_path), "%s/no/such/dir/ledger.db", t->fx.dir);
  assert_int_equal(gw_platform_adapter_vtable.create(t->fx.r, &cfg, &t->a), 0);
  t->a->data = t;
  assert_true(gw_adapter_open(t->a) < 0);
  assert_int_equal(gw_fd_count(), fd0);
  pt_disconnect(t);
  assert_int_equal(gw_fd_count(), fd0);
}

static void test_validate(void **state) {
  pt_t *t = *state;
  gw_platform_config_t cfg;
  char err[256];

  pt_config(t, &cfg, "127.0.0.1", 9);
  assert_int_equal(gw_platform_adapter_vtable.validate(&cfg, err, sizeof(err)), 0);
  cfg.token[0] = '\0';
  assert_int_equal(gw_platform_adapter_vtable.validate(&cfg, err, sizeof(err)), GW_ECONFIG);
  assert_non_null(strstr(err, "'token'"));
  pt_config(t, &cfg, "", 9);
  assert_int_equal(gw_platform_adapter_vtable.validate(&cfg, err, sizeof(err)), GW_ECONFIG);
  assert_non_null(strstr(err, "'host'"));
  pt_config(t, &cfg, "127.0.0.1", 0);
  assert_int_equal(gw_platform_adapter_vtable.validate(&cfg, err, sizeof(err)), GW_ECONFIG);
  assert_non_null(strstr(err, "'port'"));
  pt_config(t, &cfg, "127.0.0.1", 9);
  snprintf(cfg.token, sizeof(cfg.token), "a\nb");
  assert_int_equal(gw_platform_adapter_vtable.validate(&cfg, err, sizeof(err)), GW_ECONFIG);
  cfg.store_path[0] = '\0';
  snprintf(cfg.token, sizeof(cfg.token), "ok");
  assert_int_equal(gw_platform_adapter_vtable.validate(&cfg, err, sizeof(err)), GW_ECONFIG);
  assert_non_null(strstr(err, "'store_path'"));
}

/* Through the runner: the watcher's view of each peer mode. */
static void runner_case(pt_t *t, const char *mode, gw_platform_state_t want) {
  gw_platform_config_t cfg;
  gw_platform_status_t st;
  char err[256];
  int fd0;

  start_peer(t, mode, NULL, NULL);
  pt_config(t, &cfg, "127.0.0.1", t->peer.port);
  assert_int_equal(gw_runner_add_platform(t->fx.r, &cfg, err, sizeof(err)), 0);
  fd0 = gw_fd_count();
  assert_int_equal(gw_runner_start(t->fx.r), 0);
  for (int i = 0; i < 2000; i++) {
    fx_settle(&t->fx);
    st = fx_status(&t->fx, "chat");
    if (!st.in_flight && st.state != GW_PLATFORM_CONNECTING && st.state != GW_PLATFORM_PENDING &&
        gw_runner_disposing(t->fx.r) == 0)
      break;
    sleep_ms(1);
  }
  st = fx_status(&t->fx, "chat");
  if (st.state != want)
    fail_msg("mode %s: state %s, want %s (%s)", mode, gw_platform_state_name(st.state),
             gw_platform_state_name(want), st.last_error_code);
  if (want != GW_PLATFORM_CONNECTED) {
    /* The failed attempt was disposed of: every fd it opened is closed. */
    assert_int_equal(gw_fd_count(), fd0);
  }
}

static void test_runner_reject_is_fatal(void **state) {
  runner_case(*state, "reject", GW_PLATFORM_FATAL);
}
static void test_runner_close_is_retrying(void **state) {
  runner_case(*state, "close", GW_PLATFORM_RETRYING);
}
static void test_runner_accept_connects(void **state) {
  runner_case(*state, "accept", GW_PLATFORM_CONNECTED);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_validate, pt_setup, pt_teardown),
    cmocka_unit_test_setup_teardown(test_ready, pt_setup, pt_teardown),
    cmocka_unit_test_setup_teardown(test_ready_hostname, pt_setup, pt_teardown),
    cmocka_unit_test_setup_teardown(test_reject, pt_setup, pt_teardown),
    cmocka_unit_test_setup_teardown(test_wrong_token, pt_setup, pt_teardown),
    cmocka_unit_test_setup_teardown(test_close_at_accept, pt_setup, pt_teardown),
    cmocka_unit_test_setup_teardown(test_close_after_bytes, pt_setup, pt_teardown),
    cmocka_unit_test_setup_teardown(test_reset, pt_setup, pt_teardown),
    cmocka_unit_test_setup_teardown(test_refused, pt_setup, pt_teardown),
    cmocka_unit_test_setup_teardown(test_garbage, pt_setup, pt_teardown),
    cmocka_unit_test_setup_teardown(test_silent_then_disconnect, pt_setup, pt_teardown),
    cmocka_unit_test_setup_teardown(test_disconnect_while_resolving, pt_setup, pt_teardown),
    cmocka_unit_test_setup_teardown(test_drop_after_ready, pt_setup, pt_teardown),
    cmocka_unit_test_setup_teardown(test_open_fails, pt_setup, pt_teardown),
    cmocka_unit_test_setup_teardown(test_runner_reject_is_fatal, pt_setup, pt_teardown),
    cmocka_unit_test_setup_teardown(test_runner_close_is_retrying, pt_setup, pt_teardown),
    cmocka_unit_test_setup_teardown(test_runner_accept_connects, pt_setup, pt_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
