//! `hms_ffi` for Ruby: the native extension (magnus) behind the `hms_ffi` gem.
//!
//! It only converts values, maps errors and manages the GVL; every rule lives in
//! `hms-ffi-core` (DESIGN.md §2). Ruby objects are touched only by Ruby threads: a server's
//! calls are queued by the core ([`ocore::CallQueue`]) and run on the Ruby thread that calls
//! `serve`, which waits for them with the GVL released; a client call releases the GVL while it
//! waits. The public API is the Ruby code under `lib/`, which adds keyword arguments and blocks:
//!
//! ```ruby
//! require "hms_ffi"
//! server = HmsFfi::Server.new(HmsFfi::Schema.load("greeter.proto"))
//! server.method("demo.v1.Greeter/SayHello") { |req, ctx| { message: "Hello #{req[:name]}" } }
//! server.listen("unix:///tmp/greeter.sock")
//! Thread.new { server.serve }
//! HmsFfi.connect("unix:///tmp/greeter.sock").call("demo.v1.Greeter/SayHello", { name: "Ada" })
//! # => {:message=>"Hello Ada"}
//! ```

pub use ::hms_ffi_core as ocore;

mod batch;
mod bus;
mod bus_durable;
mod client;
mod context;
mod convert;
mod errors;
mod gvl;
mod schema;
mod server;
mod stream;
mod walk;

/// The extension's entry point, `Init_hms_ffi` (the library is installed as `hms_ffi.so`).
mod entry {
    use magnus::{prelude::*, Error, Ruby};

    use crate::{bus, bus_durable, client, context, schema, server, stream};

    /// Defines `HmsFfi::Schema`, `Server`, `Client`, `CancelToken`, `Context`,
    /// `NativeStream`, `NativeServerStream`, `Bus`, `Subscription` and `HmsFfi._connect`.
    #[magnus::init(name = "hms_ffi")]
    fn init(ruby: &Ruby) -> Result<(), Error> {
        let module = ruby.define_module("HmsFfi")?;
        module.const_set("NATIVE_VERSION", env!("CARGO_PKG_VERSION"))?;
        schema::define(ruby, module)?;
        server::define(ruby, module)?;
        client::define(ruby, module)?;
        context::define(ruby, module)?;
        stream::define(ruby, module)?;
        bus::define(ruby, module)?;
        bus_durable::define(ruby, module)?;
        Ok(())
    }
}
