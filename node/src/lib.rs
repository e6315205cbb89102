//! # hms-ffi-node
//!
//! The native addon behind the `hms-ffi` npm package (napi-rs 3). It only converts and
//! schedules, as every binding does (`docs/types.md`, DESIGN §2 and §4):
//!
//! - **Values** cross the boundary as CBOR bytes in the core's own CBOR form (`Codec::Cbor`):
//!   the JavaScript layer (`lib/cbor.js`) turns objects, `bigint`, `Buffer`/`Uint8Array` and
//!   `Date` into CBOR, and the core maps that tree onto the method's schema with its usual
//!   checks and error paths. One `Buffer` per call instead of one N-API call per field.
//! - **64-bit integers** are presented as `bigint`: servers and clients made here set
//!   `DecodeOptions::int64_as_bigint`, so 64-bit fields arrive as CBOR bignums.
//! - **Client calls** run on the core's runtime and settle a Promise through a thread-safe
//!   function, so the event loop is never blocked.
//! - **Handlers** run on the event loop: the core's worker calls a weak thread-safe function,
//!   and awaits the Promise the JavaScript handler returns. With the request it gets a
//!   [`CallResponse`] for response headers and trailers.
//! - **Errors** keep their code: call failures settle with a `NativeError` (code, message,
//!   details), and synchronous ones throw a JavaScript error whose message starts with the
//!   code (`NOT_FOUND: …`), which `lib/errors.js` turns into the matching `HmsError` subclass.

mod bus;
mod bus_durable;
mod cancel;
mod client;
mod converters;
mod error;
mod response;
mod schema;
mod server;
mod stream;
mod values;

pub use bus::{connect_bus, Bus, BusEvent, BusSubscription};
pub use cancel::CancelToken;
pub use client::{connect, Client};
pub use converters::{converter_failed_at, ConverterTarget, CONVERTED_TAG};
pub use error::{CallOutcome, ErrorDetails, ErrorOrigin, FieldViolation, NativeError, OtherDetail};
pub use response::CallResponse;
pub use schema::{MethodDescription, Schema};
pub use server::{CallInfo, Server};
pub use stream::{ClientStream, ServerStream, StreamBatch};
pub use values::{nesting_too_deep, PathSegment, NATIVE_MAX_DEPTH};
