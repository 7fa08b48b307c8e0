/*
 * api.h - the api adapter (kind "api"): the gateway's HTTP API.
 *
 * open opens the response store (cfg.store_path, cfg.max_responses);
 * connect binds and listens on cfg.host:cfg.port (port 0: an ephemeral
 * port, see gw_api_adapter_port); disconnect closes the listener, every
 * client connection and the store.  Connect outcomes:
 *   port in use (EADDRINUSE, from bind or listen)  GW_CONNECT_FAILED, retryable
 *   non-loopback host and no key, key shorter than 8, host not an address
 *                                                 GW_CONNECT_FAILED, fatal
 *                                                 (failure code "config_error")
 *   any other bind/listen error                    returned by connect
 *                                                 (the exception path)
 */
#ifndef GW_API_H
#define GW_API_H

#include "gw.h"

#define GW_API_KEY_MIN 8

/* gw_api_adapter_vtable, gw_api_adapter_port and gw_api_adapter_preflight
 * are declared in gw.h. */

#endif /* GW_API_H */
