//! [`CallResponse`]: what a JavaScript handler writes back besides its reply, the response
//! headers and trailers (gRPC initial and trailing metadata).

use hms_ffi_core as core;
use napi::bindgen_prelude::{Buffer, Either};
use napi_derive::napi;

use crate::error::js;

/// The response side of one call, handed to the handler with its request: headers and
/// trailers set here go back with the reply (or the error). Keys are checked by the core:
/// protocol keys (`grpc-*`, `content-type`, …) and non-printable text are `INVALID_ARGUMENT`,
/// a `Buffer` value needs a `-bin` key.
#[napi]
#[derive(Debug)]
pub struct CallResponse {
    ctx: core::Context,
}

impl CallResponse {
    pub(crate) fn new(ctx: core::Context) -> CallResponse {
        CallResponse { ctx }
    }
}

#[napi]
impl CallResponse {
    /// Adds a response header: a string, or a `Buffer` for a `-bin` key.
    #[napi]
    pub fn set_header(&self, key: String, value: Either<String, Buffer>) -> napi::Result<()> {
        js(match value {
            Either::A(text) => self.ctx.set_header(&key, text),
            Either::B(bytes) => self.ctx.set_header_bin(&key, &bytes),
        })
    }

    /// Adds a response trailer: a string, or a `Buffer` for a `-bin` key.
    #[napi]
    pub fn set_trailer(&self, key: String, value: Either<String, Buffer>) -> napi::Result<()> {
        js(match value {
            Either::A(text) => self.ctx.set_trailer(&key, text),
            Either::B(bytes) => self.ctx.set_trailer_bin(&key, &bytes),
        })
    }
}
