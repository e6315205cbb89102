//! [`RegistryClient`]: the thin Rust client of `hms.ffi.v1.Registry`, one call a method, over
//! any transport [`connect`](crate::client::connect) reaches.

use std::time::Duration;

use bytes::Bytes;
use prost::Message;

use super::messages as pb;
use crate::client::{connect, CallOptions, Client};
use crate::error::{Code, Error, Result};

/// A client of a schema registry.
#[derive(Debug, Clone)]
pub struct RegistryClient {
    client: Client,
    timeout: Duration,
}

impl RegistryClient {
    /// Connects to a registry at `uri` (`unix:///…`, `grpc://…`, `http://…`, `ws://…`, …);
    /// each call waits at most 30 seconds.
    pub async fn connect(uri: &str) -> Result<RegistryClient> {
        Ok(RegistryClient::new(connect(uri).await?))
    }

    /// A registry client over an existing connection.
    pub fn new(client: Client) -> RegistryClient {
        RegistryClient {
            client,
            timeout: Duration::from_secs(30),
        }
    }

    /// Each call's timeout from now on.
    pub fn with_timeout(mut self, timeout: Duration) -> RegistryClient {
        self.timeout = timeout;
        self
    }

    async fn call<Req: Message, Resp: Message + Default>(
        &self,
        method: &str,
        req: &Req,
    ) -> Result<Resp> {
        let name = format!("{}/{method}", super::SERVICE);
        let opts = CallOptions::with_timeout(self.timeout);
        let reply = self
            .client
            .call_raw(&name, Bytes::from(req.encode_to_vec()), &opts)
            .await?;
        Resp::decode(reply).map_err(|e| {
            Error::new(
                Code::Internal,
                format!("the registry's {method} reply does not decode: {e}"),
            )
        })
    }

    /// Registers a serialized `FileDescriptorSet` under `subject` (empty: its one package).
    pub async fn register(
        &self,
        subject: &str,
        descriptor_set: Vec<u8>,
    ) -> Result<pb::RegisterResponse> {
        let req = pb::RegisterRequest {
            subject: subject.to_string(),
            descriptor_set,
        };
        self.call("Register", &req).await
    }

    /// A version by subject and number (0: the latest).
    pub async fn get(&self, subject: &str, version: u32) -> Result<pb::SchemaVersion> {
        let req = pb::GetVersionRequest {
            subject: subject.to_string(),
            version,
            fingerprint: String::new(),
        };
        self.call("GetVersion", &req).await
    }

    /// The version with a fingerprint.
    pub async fn get_by_fingerprint(&self, fingerprint: &str) -> Result<pb::SchemaVersion> {
        let req = pb::GetVersionRequest {
            fingerprint: fingerprint.to_string(),
            ..Default::default()
        };
        self.call("GetVersion", &req).await
    }

    /// `GetVersion` as given: a subject and number (0: the latest), or a fingerprint, limited
    /// to a subject when one is set.
    pub async fn get_version(&self, req: pb::GetVersionRequest) -> Result<pb::SchemaVersion> {
        self.call("GetVersion", &req).await
    }

    /// Every subject.
    pub async fn subjects(&self) -> Result<Vec<pb::SubjectInfo>> {
        let reply: pb::ListSubjectsResponse = self
            .call("ListSubjects", &pb::ListSubjectsRequest {})
            .await?;
        Ok(reply.subjects)
    }

    /// A subject's versions, oldest first, without descriptor sets.
    pub async fn versions(&self, subject: &str) -> Result<Vec<pb::SchemaVersion>> {
        let req = pb::ListVersionsRequest {
            subject: subject.to_string(),
        };
        let reply: pb::ListVersionsResponse = self.call("ListVersions", &req).await?;
        Ok(reply.versions)
    }

    /// Deprecates a version.
    pub async fn deprecate(
        &self,
        subject: &str,
        version: u32,
        reason: &str,
    ) -> Result<pb::SchemaVersion> {
        let req = pb::DeprecateRequest {
            subject: subject.to_string(),
            version,
            reason: reason.to_string(),
        };
        self.call("Deprecate", &req).await
    }

    /// A subject's mode and category.
    pub async fn mode(&self, subject: &str) -> Result<pb::SubjectConfig> {
        let req = pb::GetModeRequest {
            subject: subject.to_string(),
        };
        self.call("GetMode", &req).await
    }

    /// Sets a subject's mode and/or category (an empty one stays as it is).
    pub async fn set_mode(
        &self,
        subject: &str,
        mode: &str,
        category: &str,
    ) -> Result<pb::SubjectConfig> {
        let req = pb::SetModeRequest {
            subject: subject.to_string(),
            mode: mode.to_string(),
            category: category.to_string(),
        };
        self.call("SetMode", &req).await
    }
}
