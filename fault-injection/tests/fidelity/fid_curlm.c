/*
 * fid_curlm.c — a libcurl multi-interface client for the fidelity suite.
 *   fid_curlm URL TIMEOUT_S
 * CURLOPT_CONNECTTIMEOUT is the caller's own timeout.  Prints "ok" or
 * "error <CURLcode> <curl_easy_strerror> | <error buffer>"; exit 0 / 1.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t sink(char *p, size_t s, size_t n, void *u) {
  (void)p;
  (void)u;
  return s * n;
}

int main(int argc, char **argv) {
  CURLM *m;
  CURL *e;
  CURLMsg *msg;
  char errbuf[CURL_ERROR_SIZE] = "";
  int running = 1, left, code = -1;
  double t0 = now();

  if (argc < 3)
    return 2;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  m = curl_multi_init();
  e = curl_easy_init();
  curl_easy_setopt(e, CURLOPT_URL, argv[1]);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(atof(argv[2]) * 1000));
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 20000L);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
  curl_multi_add_handle(m, e);
  while (running) {
    curl_multi_perform(m, &running);
    if (running)
      curl_multi_poll(m, NULL, 0, 1000, NULL);
  }
  while ((msg = curl_multi_info_read(m, &left)))
    if (msg->msg == CURLMSG_DONE)
      code = msg->data.result;
  if (code == 0)
    printf("ok\n");
  else
    printf("error %d %s | %s\n", code, curl_easy_strerror((CURLcode)code), errbuf);
  curl_multi_remove_handle(m, e);
  curl_easy_cleanup(e);
  curl_multi_cleanup(m);
  curl_global_cleanup();
  fprintf(stderr, "elapsed %.3f\n", now() - t0); /* the client's own clock */
  return code == 0 ? 0 : 1;
}
