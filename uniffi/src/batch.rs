//! Batched calls: [`Client::batch`] makes many unary calls as one request of the caller's and
//! returns one [`BatchResult`] per call, in order — the reply, or the call's [`HmsError`] as a
//! value (Kotlin's wrapper turns the list into `List<Result<…>>`). The rules (one deadline,
//! partial failure, cancellation by the options' token, the size limit) are the core's
//! `Client::batch_converted`.

use crate::client::{CallReply, Client};
use crate::context::CallOptions;
use crate::error::{HmsError, HmsResult};
use crate::ocore::{self, mapping::notation};
use crate::runtime::on_runtime;

/// One call of a batch: a unary method and its request as typed JSON.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct BatchCall {
    /// `package.Service/Method`.
    pub method: String,
    /// The request as typed JSON.
    pub request: String,
}

/// One call's outcome in a batch.
// Lowered by value across the FFI, where a box is not a type: the error variant stays large.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum BatchResult {
    /// The call's reply, with the response headers and trailers.
    Reply {
        /// The reply.
        reply: CallReply,
    },
    /// The call's error (not thrown).
    Failed {
        /// The error, as a call would throw it.
        error: HmsError,
    },
}

impl From<ocore::Result<ocore::Reply<ocore::Value>>> for BatchResult {
    fn from(r: ocore::Result<ocore::Reply<ocore::Value>>) -> BatchResult {
        match r {
            Ok(reply) => BatchResult::Reply {
                reply: reply.into(),
            },
            Err(e) => BatchResult::Failed { error: e.into() },
        }
    }
}

/// The calls of a batch on the core: each request read from its typed JSON (text that does not
/// read is that call's error), then the batch.
async fn run(
    client: ocore::Client,
    calls: Vec<BatchCall>,
    options: ocore::CallOptions,
) -> ocore::Result<Vec<BatchResult>> {
    let (methods, requests): (Vec<String>, Vec<_>) = calls
        .into_iter()
        .map(|c| (c.method, notation::from_text(&c.request)))
        .unzip();
    let items: Vec<(&str, ocore::Result<ocore::Value>)> =
        methods.iter().map(String::as_str).zip(requests).collect();
    let results = client.batch_converted(&items, &options).await?;
    Ok(results.into_iter().map(BatchResult::from).collect())
}

#[uniffi::export]
impl Client {
    /// Calls every [`BatchCall`] as one batch (blocking) and returns one [`BatchResult`] per
    /// call, in order. The options' timeout is one deadline for the whole batch; a failed call
    /// does not stop the others; the metadata and `wait_for_ready` apply to every call; the
    /// options' token ends every call not finished with `Cancelled`. Throws `InvalidArgument`
    /// only for a batch of more than 100 000 calls, before anything is sent.
    pub fn batch(
        &self,
        calls: Vec<BatchCall>,
        options: CallOptions,
    ) -> HmsResult<Vec<BatchResult>> {
        let run = run(self.0.clone(), calls, options.into());
        Ok(ocore::runtime::block_on(run)??)
    }

    /// [`batch`](Client::batch) without blocking (a Kotlin `suspend fun`, a Swift `async
    /// func`); cancelling the coroutine or task cancels every call not finished.
    pub async fn batch_async(
        &self,
        calls: Vec<BatchCall>,
        options: CallOptions,
    ) -> HmsResult<Vec<BatchResult>> {
        on_runtime(run(self.0.clone(), calls, options.into())).await
    }
}
