/* probe_api.c - what the tests read inside a running api adapter: the
 * requests its HTTP server handled and the client connections it holds.
 * The product has no use for either number, so they live in the test
 * library and read the adapter through its private header. */
#include "api_internal.h"
#include "gw_testing.h"

uint64_t gw_test_api_requests(gw_adapter_t *a) {
  return a != NULL && a->vt == &gw_api_adapter_vtable ? ((gw__api_adapter_t *)a)->http.requests : 0;
}

unsigned gw_test_api_connections(gw_adapter_t *a) {
  gw__api_adapter_t *api = (gw__api_adapter_t *)a;

  if (a == NULL || a->vt != &gw_api_adapter_vtable || !api->http_init)
    return 0;
  return gw__http_server_connections(&api->http);
}
