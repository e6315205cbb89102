//! Service rules, on each service present in both revisions (paired by full name): methods are
//! not deleted and keep their request and response types, streaming kinds and
//! `idempotency_level`.

use std::collections::BTreeMap;

use prost_types::MethodDescriptorProto;

use super::image::{child, sub, SERVICE_METHOD};
use super::{Findings, Pair};

pub(super) fn check(p: &Pair<'_>, out: &mut Findings) {
    for (full, old) in &p.old_index.services {
        let Some(new) = p.new_index.services.get(full) else {
            continue;
        };
        let service = new.proto.name();
        let methods: BTreeMap<&str, (usize, &MethodDescriptorProto)> = new
            .proto
            .method
            .iter()
            .enumerate()
            .map(|(i, m)| (m.name(), (i, m)))
            .collect();
        for before in &old.proto.method {
            let name = before.name();
            let Some(&(i, after)) = methods.get(name) else {
                out.add(
                    "RPC_NO_DELETE",
                    p.new.place(new.file, &[&new.path]),
                    format!("Previously present RPC {name:?} on service {service:?} was deleted."),
                );
                continue;
            };
            let path = child(&new.path, SERVICE_METHOD, i);
            let at = |step: &[i32]| p.new.place(new.file, &[&sub(&path, step), &path]);
            let rpc = format!("RPC {name:?} on service {service:?}");
            let streaming = |on: bool| if on { "streaming" } else { "unary" };
            let sides = [
                (
                    "RPC_SAME_CLIENT_STREAMING",
                    "client",
                    before.client_streaming(),
                    after.client_streaming(),
                ),
                (
                    "RPC_SAME_SERVER_STREAMING",
                    "server",
                    before.server_streaming(),
                    after.server_streaming(),
                ),
            ];
            for (rule, side, was, is) in sides {
                if was != is {
                    out.add(
                        rule,
                        at(&[]),
                        format!(
                            "{rpc} changed from {side} {} to {side} {}.",
                            streaming(was),
                            streaming(is)
                        ),
                    );
                }
            }
            let types = [
                (
                    "RPC_SAME_REQUEST_TYPE",
                    "request",
                    2,
                    before.input_type(),
                    after.input_type(),
                ),
                (
                    "RPC_SAME_RESPONSE_TYPE",
                    "response",
                    3,
                    before.output_type(),
                    after.output_type(),
                ),
            ];
            for (rule, what, step, was, is) in types {
                if was != is {
                    let (was, is) = (was.trim_start_matches('.'), is.trim_start_matches('.'));
                    out.add(
                        rule,
                        at(&[step]),
                        format!("{rpc} changed {what} type from {was:?} to {is:?}."),
                    );
                }
            }
            let level = |m: &MethodDescriptorProto| {
                m.options.as_ref().map_or(
                    prost_types::method_options::IdempotencyLevel::IdempotencyUnknown,
                    |o| o.idempotency_level(),
                )
            };
            if level(before) != level(after) {
                out.add(
                    "RPC_SAME_IDEMPOTENCY_LEVEL",
                    at(&[4, 34]),
                    format!(
                        "{rpc} changed option \"idempotency_level\" from {:?} to {:?}.",
                        level(before).as_str_name(),
                        level(after).as_str_name()
                    ),
                );
            }
        }
    }
}
