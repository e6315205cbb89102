package hmsffi

/*
#include <stdlib.h>
#include "hms_ffi.h"
*/
import "C"

import (
	"encoding/json"
)

// The core's client resilience (docs/resilience.md) and the admin listener, from Go: the
// options travel as the core's own JSON, so reconnects, retries, hedging, keepalive and load
// balancing are the core's, the same in every language.

// WithResilience sets the client's resilience options: reconnect backoff, a gRPC service
// config (retryPolicy, hedgingPolicy, waitForReady, timeout per method; retryThrottling),
// keepalive, loadBalancing, ejection and health checks, as docs/resilience.md describes.
// options is their JSON text (a string or []byte) or any value encoding/json marshals (a map,
// a struct). Bad options make Connect fail with InvalidArgument. `"waitForReady": true` makes
// every call wait for a connection up to its deadline instead of failing with Unavailable.
func WithResilience(options any) ConnectOption {
	return func(o *connectOptions) {
		text, err := jsonText(options, "resilience options")
		if err != nil {
			o.err = err
			return
		}
		o.resilience = &text
	}
}

// jsonText is v as JSON text for the core: a string or []byte as it is, anything else
// marshalled (InvalidArgument when it cannot be).
func jsonText(v any, what string) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case []byte:
		return string(v), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", NewError(InvalidArgument, what+" are not JSON: "+err.Error())
	}
	return string(b), nil
}

// State is the connection's state: "idle" (lost; the next call reconnects), "connecting",
// "ready", "transient_failure" (waiting to retry) or "shutdown" (closed). With several
// endpoints, the best of theirs.
func (c *Client) State() string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.ptr == nil {
		return "shutdown"
	}
	return C.GoString(C.hms_client_state(c.ptr))
}

// EndpointStatus is one endpoint of a client.
type EndpointStatus struct {
	URI   string `json:"uri"`
	State string `json:"state"`
	// Ejected: taken out of the rotation after failing (readmitted after a while).
	Ejected bool `json:"ejected"`
	// Connected: where its connection goes while it is up (for auto://NAME the transport it
	// picked), "" while it is down.
	Connected string `json:"connected"`
}

// Transport says where calls go now, while the client is connected: for "auto://NAME" the
// transport it picked ("inproc://NAME", "shm://NAME", a "unix://" socket or a network URI),
// else the endpoint itself; "" while no connection is up (the next call reconnects, and
// auto:// resolves the name again).
func (c *Client) Transport() string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.ptr == nil {
		return ""
	}
	t := C.hms_client_transport(c.ptr)
	if t == nil {
		return ""
	}
	defer C.hms_string_free(t)
	return C.GoString(t)
}

// Endpoints lists each endpoint given to Connect or ConnectAll, in order.
func (c *Client) Endpoints() ([]EndpointStatus, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.ptr == nil {
		return nil, NewError(FailedPrecondition, "client is closed")
	}
	var list []EndpointStatus
	err := jsonOf("the endpoints", func(out *C.HmsBytes) C.int32_t { return C.hms_client_endpoints(c.ptr, out) }, &list)
	return list, err
}

// Admin starts the admin listener on uri ("http://127.0.0.1:9464"; port 0 picks a free one)
// and returns the URI bound: /metrics (Prometheus text), /healthz, and the live monitoring
// page at / (docs/observability.md). It stops with the server.
func (s *Server) Admin(uri string) (string, error) {
	return s.bind(uri, func(srv *C.HmsServer, cu *C.char, bound **C.char, e **C.HmsError) C.int32_t {
		return C.hms_server_admin(srv, cu, bound, e)
	})
}
