//! A batch whose requests and replies are CBOR value trees ([`Client::batch_cbor`]): for the
//! bindings that hand the core each request as CBOR bytes (Node, the C ABI and Go). Each
//! document is read by the core ([`CborDoc`]); one that does not read is that item's error, as
//! a request that does not fit its type is. A request the binding could not make into a
//! document (its encoder refused the value) comes as that item's error and keeps its place;
//! the batch's other rules, the size limit over every item among them, are
//! [`batch`](super::batch)'s.

use super::batch::check_size;
use super::{CallOptions, Client, EncodedRequest};
use crate::error::{Error, Result};
use crate::limits::DEFAULT_MAX_DEPTH;
use crate::mapping::{CborDoc, CborOut};
use crate::metadata::Reply;

impl Client {
    /// Calls every `(method, CBOR request)` of `items` as one batch (the rules of
    /// [`batch`](Client::batch)) and returns one result per item, in order: the reply as CBOR
    /// with its response metadata, or the item's error. An item whose request is an error (the
    /// binding's encoder refused it) keeps that error and is not sent. Refused whole only when
    /// it holds more than [`MAX_BATCH`](super::MAX_BATCH) items, counting every item.
    pub async fn batch_cbor(
        &self,
        items: &[(String, Result<Vec<u8>>)],
        opts: &CallOptions,
    ) -> Result<Vec<Result<Reply<Vec<u8>>>>> {
        let requests = self.encode_cbor_batch(items, opts)?;
        let replies = self.batch_encoded(requests, opts).await;
        Ok(replies
            .into_iter()
            .map(|r| {
                let mut out = CborOut::default();
                let reply = self.reply_of(r?, &mut out)??;
                let message = out.finish(reply.message);
                Ok(reply.map(|_| message))
            })
            .collect())
    }

    /// Reads and walks each item's request (a document that does not read, or an item that
    /// came as an error, is that item's error); refuses a batch of more than
    /// [`MAX_BATCH`](super::MAX_BATCH) items whole.
    fn encode_cbor_batch(
        &self,
        items: &[(String, Result<Vec<u8>>)],
        opts: &CallOptions,
    ) -> Result<Vec<Result<Result<EncodedRequest>, Error>>> {
        check_size(items.len())?;
        Ok(items
            .iter()
            .map(|(method, request)| {
                let doc = request
                    .as_ref()
                    .map_err(Clone::clone)
                    .and_then(|bytes| CborDoc::parse(bytes, DEFAULT_MAX_DEPTH));
                match doc {
                    Ok(doc) => self.encode_request(method, &doc.root(), opts),
                    Err(e) => Ok(Err(e)),
                }
            })
            .collect())
    }
}
