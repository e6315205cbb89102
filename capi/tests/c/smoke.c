/* Exercises the C ABI from C: schema, server with a C handler (value and proto formats),
 * blocking and asynchronous calls, typed errors, cancellation. Prints "N passed, M failed". */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hms_ffi.h"

static int passed = 0, failed = 0;
#define CHECK(cond, what)                                                   \
  do {                                                                      \
    if (cond) {                                                             \
      passed++;                                                             \
    } else {                                                                \
      failed++;                                                             \
      fprintf(stderr, "FAIL %s (%s:%d)\n", what, __FILE__, __LINE__);       \
    }                                                                       \
  } while (0)

static const char *PROTO =
    "syntax = \"proto3\"; package demo.v1;"
    "message Ping { string text = 1; int64 n = 2; }"
    "service Echo { rpc Echo(Ping) returns (Ping); rpc Fail(Ping) returns (Ping);"
    "  rpc Slow(Ping) returns (Ping); }";

/* Proto format echo: replies with the request bytes as they are. */
static void echo(void *user, HmsCall *call, const uint8_t *req, size_t len) {
  (void)user;
  hms_call_reply(call, req, len);
}

static void fail(void *user, HmsCall *call, const uint8_t *req, size_t len) {
  (void)user, (void)req, (void)len;
  hms_call_fail(call, 5 /* NOT_FOUND */, "no such ping", NULL, 0);
}

/* Never answers until cancelled, from another thread. */
static void *slow_thread(void *arg) {
  HmsCall *call = arg;
  while (!hms_call_is_cancelled(call)) usleep(1000);
  hms_call_fail(call, 1, "cancelled", NULL, 0);
  return NULL;
}
static void slow(void *user, HmsCall *call, const uint8_t *req, size_t len) {
  (void)user, (void)req, (void)len;
  pthread_t t;
  pthread_create(&t, NULL, slow_thread, call);
  pthread_detach(t);
}

struct waiter {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int done, code;
};
struct late {
  HmsServer *server;
  const char *uri;
};

/* Listens after 300 ms: the server a call that waits for ready finds. */
static void *listen_late(void *arg) {
  struct late *l = arg;
  usleep(300 * 1000);
  HmsError *err = NULL;
  if (hms_server_listen(l->server, l->uri, NULL, &err) != 0) {
    fprintf(stderr, "late listen: %s\n", err->message);
    hms_error_free(err);
  }
  return NULL;
}

static void on_done(void *user, int32_t code, const uint8_t *reply, size_t len, const HmsError *err) {
  (void)reply, (void)len, (void)err;
  struct waiter *w = user;
  pthread_mutex_lock(&w->mu);
  w->done = 1;
  w->code = code;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
}

/* Whether the bytes hold the text. */
static int contains(HmsBytes b, const char *text) {
  size_t n = strlen(text);
  for (size_t i = 0; i + n <= b.len; i++)
    if (memcmp(b.data + i, text, n) == 0) return 1;
  return 0;
}

/* Closes a subscription from another thread after 100 ms. */
static void *close_later(void *arg) {
  usleep(100 * 1000);
  hms_subscription_close(arg);
  return NULL;
}

/* Publish/subscribe on the in-process bus: typed errors, both formats, drops, timeout, close,
 * and a durable subscription refused without JetStream. */
static void bus_checks(const HmsSchema *schema) {
  HmsBus *bus = NULL;
  HmsSubscription *sub = NULL;
  HmsError *err = NULL;
  static const uint8_t hi[] = {0xa1, 0x64, 't', 'e', 'x', 't', 0x62, 'h', 'i'}; /* {"text": "hi"} */
  static const uint8_t nope[] = {0xa1, 0x64, 'n', 'o', 'p', 'e', 0x01};          /* {"nope": 1} */
  static const uint8_t proto[] = {0x0a, 0x02, 'h', 'o'};                          /* Ping{text: "ho"} */
  CHECK(hms_bus_new(schema, NULL, &bus, &err) == 0, "bus");
  CHECK(hms_bus_declare(bus, "pings.>", "demo.v1.Ping", &err) == 0, "declare");
  CHECK(hms_bus_declare(bus, "a.>.b", "demo.v1.Ping", &err) == 3, "bad pattern is INVALID_ARGUMENT");
  hms_error_free(err), err = NULL;
  CHECK(hms_bus_subscribe(bus, "pings.*", NULL, 2, &sub, &err) == 0, "subscribe");
  CHECK(hms_bus_publish(bus, "pings.eu", HMS_FORMAT_VALUE, NULL, hi, sizeof hi, &err) == 0, "publish CBOR");
  CHECK(hms_bus_publish(bus, "pings.eu", HMS_FORMAT_PROTO, "demo.v1.Ping", proto, sizeof proto, &err) == 0, "publish proto");
  CHECK(hms_bus_publish(bus, "pings.us", HMS_FORMAT_VALUE, NULL, hi, sizeof hi, &err) == 0, "publish to a full queue");
  CHECK(hms_subscription_dropped(sub) == 1, "a full queue drops and counts");
  CHECK(hms_bus_publish(bus, "pings.*", HMS_FORMAT_VALUE, NULL, hi, sizeof hi, &err) == 3, "wildcard topic is INVALID_ARGUMENT");
  hms_error_free(err), err = NULL;
  CHECK(hms_bus_publish(bus, "other.eu", HMS_FORMAT_VALUE, NULL, hi, sizeof hi, &err) == 5, "undeclared topic is NOT_FOUND");
  hms_error_free(err), err = NULL;
  CHECK(hms_bus_publish(bus, "pings.eu", HMS_FORMAT_VALUE, NULL, nope, sizeof nope, &err) == 3, "wrong field is INVALID_ARGUMENT");
  CHECK(err && strstr(err->message, "nope") != NULL, "the error names the field");
  hms_error_free(err), err = NULL;
  CHECK(hms_bus_publish(bus, "pings.eu", HMS_FORMAT_PROTO, "demo.v1.Other", proto, sizeof proto, &err) == 3, "proto of another type is INVALID_ARGUMENT");
  hms_error_free(err), err = NULL;
  HmsBytes topic = {0}, message = {0};
  bool end = false;
  CHECK(hms_subscription_next(sub, 5000, &topic, &message, &end, &err) == 0 && !end, "next");
  CHECK(topic.len == 8 && memcmp(topic.data, "pings.eu", 8) == 0, "the event's topic");
  CHECK(contains(message, "hi"), "the event's message");
  hms_bytes_free(&topic), hms_bytes_free(&message);
  CHECK(hms_subscription_next(sub, 5000, &topic, &message, &end, &err) == 0 && contains(message, "ho"), "the proto event");
  hms_bytes_free(&topic), hms_bytes_free(&message);
  CHECK(hms_subscription_next(sub, 20, &topic, &message, &end, &err) == 0 && topic.len == 0 && !end, "a timeout is an empty topic");
  pthread_t t;
  pthread_create(&t, NULL, close_later, sub);
  CHECK(hms_subscription_next(sub, -1, &topic, &message, &end, &err) == 0 && end, "close ends a waiting next");
  pthread_join(t, NULL);
  hms_subscription_free(sub);
  /* Durable subscriptions need JetStream: bad options first, then FAILED_PRECONDITION. */
  HmsDurableSubscription *durable = NULL;
  HmsDurableOptions odd = {0};
  odd.deliver = 99;
  CHECK(hms_bus_subscribe_durable(bus, "pings.>", "x", &odd, &durable, &err) == 3, "an unknown deliver is INVALID_ARGUMENT");
  hms_error_free(err), err = NULL;
  CHECK(hms_bus_subscribe_durable(bus, "pings.>", NULL, NULL, &durable, &err) == 9 && durable == NULL, "no JetStream is FAILED_PRECONDITION");
  CHECK(err && strstr(err->message, "jetstream") != NULL, "the error says why");
  hms_error_free(err), err = NULL;
  hms_bus_free(bus);
}

int main(void) {
  HmsSchema *schema = NULL;
  HmsError *err = NULL;
  CHECK(hms_schema_from_source("echo.proto", PROTO, &schema, &err) == 0, "schema compiles");

  CHECK(hms_schema_from_source("bad.proto", "syntax = \"proto3\";\nmessage {", &schema, &err) == 3, "bad schema is INVALID_ARGUMENT");
  CHECK(err && strstr(err->message, "bad.proto:2:") != NULL, "schema error names line");
  hms_error_free(err), err = NULL;
  hms_schema_from_source("echo.proto", PROTO, &schema, &err);

  /* A security file with an unknown key is INVALID_ARGUMENT naming the key; NULL is none. */
  char security[64];
  snprintf(security, sizeof security, "/tmp/hms-capi-%d.toml", (int)getpid());
  FILE *file = fopen(security, "w");
  CHECK(file != NULL, "write security file");
  if (file) fputs("[limits]\nmax_mesage_bytes = 1\n", file), fclose(file);
  HmsServer *server = NULL;
  CHECK(hms_server_new_with_security(schema, "c", security, &server, &err) == 3, "bad security file is INVALID_ARGUMENT");
  CHECK(err && strstr(err->message, "max_mesage_bytes") != NULL, "security error names the key");
  CHECK(server == NULL, "no server from a bad security file");
  hms_error_free(err), err = NULL;
  unlink(security);
  CHECK(hms_server_new_with_security(schema, "c", NULL, &server, &err) == 0, "server without security");
  CHECK(hms_server_set_service_config(server, "{\"methodConfig\": [{\"name\": [{}], \"timeout\": \"1s\"}]}", &err) == 0,
        "service config");
  CHECK(hms_server_set_service_config(server, "{\"methodConfg\": []}", &err) == 3, "bad service config is INVALID_ARGUMENT");
  CHECK(err && strstr(err->message, "invalid service config") != NULL, "service config error says so");
  hms_error_free(err), err = NULL;
  hms_server_free(server), server = NULL;

  CHECK(hms_server_new(schema, "c", &server, &err) == 0, "server");
  CHECK(hms_server_handle(server, "demo.v1.Echo/Echo", HMS_FORMAT_PROTO, echo, NULL, &err) == 0, "register echo");
  CHECK(hms_server_handle(server, "demo.v1.Echo/Fail", HMS_FORMAT_PROTO, fail, NULL, &err) == 0, "register fail");
  CHECK(hms_server_handle(server, "demo.v1.Echo/Slow", HMS_FORMAT_PROTO, slow, NULL, &err) == 0, "register slow");
  CHECK(hms_server_handle(server, "demo.v1.Echo/Nope", HMS_FORMAT_PROTO, echo, NULL, &err) == 5, "unknown method is NOT_FOUND");
  hms_error_free(err), err = NULL;

  char path[64];
  snprintf(path, sizeof path, "unix:///tmp/hms-capi-%d.sock", (int)getpid());
  CHECK(hms_server_listen(server, path, NULL, &err) == 0, "listen unix");

  HmsClient *client = NULL;
  CHECK(hms_connect(path, &client, &err) == 0, "connect");

  /* Ping{text: "hi", n: 7} */
  const uint8_t ping[] = {0x0a, 0x02, 'h', 'i', 0x10, 0x07};
  HmsBytes reply = {0};
  CHECK(hms_client_call(client, "demo.v1.Echo/Echo", HMS_FORMAT_PROTO, ping, sizeof ping, 1000, NULL, 0, 0, &reply, &err) == 0, "proto call");
  CHECK(reply.len == sizeof ping && memcmp(reply.data, ping, sizeof ping) == 0, "proto echo bytes");
  hms_bytes_free(&reply);

  /* Value format: CBOR {"text": "yo", "n": 42} (the server maps it onto Ping). */
  const uint8_t value[] = {0xa2, 0x64, 't', 'e', 'x', 't', 0x62, 'y', 'o', 0x61, 'n', 0x18, 42};
  CHECK(hms_client_call(client, "demo.v1.Echo/Echo", HMS_FORMAT_VALUE, value, sizeof value, 1000, NULL, 0, 0, &reply, &err) == 0, "value call");
  CHECK(reply.len == sizeof value && memcmp(reply.data, value, sizeof value) == 0, "value echo");
  hms_bytes_free(&reply);

  /* A wrong type is INVALID_ARGUMENT with the field path in the message. */
  const uint8_t bad[] = {0xa1, 0x61, 'n', 0x62, 'n', 'o'};
  CHECK(hms_client_call(client, "demo.v1.Echo/Echo", HMS_FORMAT_VALUE, bad, sizeof bad, 1000, NULL, 0, 0, &reply, &err) == 3, "bad value");
  CHECK(err && strstr(err->message, "n: expected int64, got str") != NULL, "violation path");
  CHECK(err && err->status.len > 0, "status details present");
  hms_error_free(err), err = NULL;

  CHECK(hms_client_call(client, "demo.v1.Echo/Fail", HMS_FORMAT_PROTO, ping, sizeof ping, 1000, NULL, 0, 0, &reply, &err) == 5, "handler error code");
  CHECK(err && strcmp(err->message, "no such ping") == 0, "handler error message");
  hms_error_free(err), err = NULL;

  CHECK(hms_client_call(client, "demo.v1.Echo/Slow", HMS_FORMAT_PROTO, ping, sizeof ping, 100, NULL, 0, 0, &reply, &err) == 4, "deadline exceeded");
  hms_error_free(err), err = NULL;

  struct waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, -1};
  uint64_t id = hms_client_call_async(client, "demo.v1.Echo/Slow", HMS_FORMAT_PROTO, ping, sizeof ping, 0, NULL, 0, on_done, &w);
  CHECK(id != 0, "async call starts");
  usleep(50 * 1000);
  hms_call_cancel(id);
  pthread_mutex_lock(&w.mu);
  while (!w.done) pthread_cond_wait(&w.cv, &w.mu);
  pthread_mutex_unlock(&w.mu);
  CHECK(w.code == 1, "cancelled async call reports CANCELLED");

  for (int i = 0; i < 100 && hms_server_inflight(server) > 0; i++) usleep(10 * 1000);
  CHECK(hms_server_inflight(server) == 0, "server dropped the cancelled call");

  /* Wait for ready, per call: with no server a call fails UNAVAILABLE at once, unless its
     options ask it to wait for one (up to its deadline). */
  hms_server_shutdown(server, 1000);
  HmsCallOptions opts = {0};
  opts.timeout_ms = 10000;
  CHECK(hms_client_call_with_options(client, "demo.v1.Echo/Echo", HMS_FORMAT_PROTO, ping, sizeof ping, &opts, 0, &reply, NULL, &err) == 14, "no server: UNAVAILABLE");
  hms_error_free(err), err = NULL;
  opts.wait_for_ready = 7;
  CHECK(hms_client_call_with_options(client, "demo.v1.Echo/Echo", HMS_FORMAT_PROTO, ping, sizeof ping, &opts, 0, &reply, NULL, &err) == 3, "bad wait_for_ready: INVALID_ARGUMENT");
  hms_error_free(err), err = NULL;
  HmsServer *later = NULL;
  CHECK(hms_server_new(schema, "c", &later, &err) == 0, "second server");
  CHECK(hms_server_handle(later, "demo.v1.Echo/Echo", HMS_FORMAT_PROTO, echo, NULL, &err) == 0, "second echo");
  struct late l = {later, path};
  pthread_t t;
  pthread_create(&t, NULL, listen_late, &l);
  opts.wait_for_ready = HMS_WAIT_FOR_READY_YES;
  int32_t late_code = hms_client_call_with_options(client, "demo.v1.Echo/Echo", HMS_FORMAT_PROTO, ping, sizeof ping, &opts, 0, &reply, NULL, &err);
  if (late_code != 0) fprintf(stderr, "late call: code %d: %s\n", late_code, err ? err->message : "");
  CHECK(late_code == 0, "waits for the server that comes later");
  hms_bytes_free(&reply);
  hms_error_free(err), err = NULL;
  pthread_join(t, NULL);
  hms_server_shutdown(later, 1000);
  hms_server_free(later);
  /* Once the client saw its connection go (a call written to it just before could not know). */
  for (int i = 0; i < 500 && strcmp(hms_client_state(client), "ready") == 0; i++) usleep(10 * 1000);
  opts.timeout_ms = 300;
  CHECK(hms_client_call_with_options(client, "demo.v1.Echo/Echo", HMS_FORMAT_PROTO, ping, sizeof ping, &opts, 0, &reply, NULL, &err) == 4, "no server until the deadline: DEADLINE_EXCEEDED");
  hms_error_free(err), err = NULL;

  bus_checks(schema);
  hms_client_free(client);
  hms_server_free(server);
  hms_schema_free(schema);
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
