//! PHP extension `hms_ffi` (ext-php-rs): the `HmsFfi` namespace over `hms-ffi-core`.
//!
//! It only converts values, maps errors and runs handlers on the PHP thread; every rule lives in
//! `hms-ffi-core` (DESIGN.md §2). PHP values may only be touched by the thread that runs the
//! request, so `Server::serve()` takes the calls the core queued ([`ocore::CallQueue`]) and runs
//! their handlers right there, and a client call blocks that thread.
//!
//! ```php
//! $server = new HmsFfi\Server(HmsFfi\Schema::load('greeter.proto'));
//! $server->method('demo.v1.Greeter/SayHello',
//!     fn(array $req, HmsFfi\Context $ctx): array => ['message' => "Hello {$req['name']}"]);
//! $server->listen('unix:///tmp/greeter.sock');
//! $server->serve();   // until $server->shutdown() in a handler, SIGINT or SIGTERM
//!
//! $client = HmsFfi\Client::connect('unix:///tmp/greeter.sock');
//! $client->call('demo.v1.Greeter/SayHello', ['name' => 'Ada']);  // ['message' => 'Hello Ada']
//! ```
//!
//! The error classes (`HmsFfi\Exception` and one subclass per gRPC code), `HmsFfi\Timestamp`
//! and the converters (`HmsFfi\Converter`, `php/converters.php`) are written in PHP, compiled
//! into the extension and declared when a request starts.

pub use ::hms_ffi_core as ocore;

mod batch;
mod bus;
mod bus_durable;
mod client;
mod context;
mod convert;
mod converters;
mod errors;
mod feed;
mod options;
mod pending;
mod pump;
mod schema;
mod serve_stream;
mod server;
mod stream;
mod walk;

use ext_php_rs::prelude::*;

/// The PHP half of the extension: error classes and `HmsFfi\Timestamp`, then the converters
/// (`HmsFfi\Converter`, its built-ins and `HmsFfi\Money`).
const BOOTSTRAP: [&str; 2] = [
    include_str!("../php/hms_ffi.php"),
    include_str!("../php/converters.php"),
];

extern "C" fn request_startup(_type: i32, _module_number: i32) -> i32 {
    for source in BOOTSTRAP {
        if let Err(e) = ext_php_rs::php_eval::execute(source) {
            eprintln!("hms_ffi: declaring the PHP classes failed: {e}");
            return -1;
        }
    }
    0
}

/// The module entry point (the macro also adds undocumented `extern "C"` functions here).
#[allow(missing_docs)]
mod entry {
    use super::*;

    /// The module: its classes and the request-startup hook declaring the PHP half.
    #[php_module]
    pub fn get_module(module: ModuleBuilder) -> ModuleBuilder {
        module
            .name("hms_ffi")
            .class::<schema::Schema>()
            .class::<context::Context>()
            .class::<server::Server>()
            .class::<client::Client>()
            .class::<pending::PendingCall>()
            .class::<stream::Stream>()
            .class::<stream::Requests>()
            .class::<bus::Bus>()
            .class::<bus::Subscription>()
            .class::<bus_durable::DurableSubscription>()
            .class::<bus_durable::Delivery>()
            .request_startup_function(request_startup)
    }
}
