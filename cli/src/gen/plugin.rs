//! `protoc-gen-hms`: the same generator as a protoc or buf plugin. It reads a
//! `CodeGeneratorRequest` from stdin, loads its descriptors with the core's loader
//! ([`Schema::from_descriptor_set`]) and writes a `CodeGeneratorResponse` to stdout.
//!
//! The binary is a plugin when it runs under a name starting with `protoc-gen-hms` (a link to
//! `hms-ffi`, as protoc finds plugins by name) or as `hms-ffi protoc-gen-hms` (buf's `local:`
//! takes a command with arguments). The parameter (`opt:` in `buf.gen.yaml`, `--hms_opt` for
//! protoc) chooses the language: `lang=python` (or just `python`).

use std::io::{Read, Write};
use std::process::ExitCode;

use clap::ValueEnum;
use hms_ffi_core::Schema;
use prost::Message;
use prost_types::compiler::{code_generator_response, CodeGeneratorRequest, CodeGeneratorResponse};
use prost_types::FileDescriptorSet;

use super::{generate, Lang};

/// `CodeGeneratorResponse.Feature.FEATURE_PROTO3_OPTIONAL`: proto3 `optional` fields are
/// understood (their presence is the value mapping's).
const FEATURE_PROTO3_OPTIONAL: u64 = 1;

/// The argument that makes `hms-ffi` a plugin when given first.
pub(crate) const PLUGIN_ARG: &str = "protoc-gen-hms";

/// True when the process runs as a plugin: under a `protoc-gen-hms…` name, or with
/// `protoc-gen-hms` as its first argument.
pub(crate) fn invoked_as_plugin() -> bool {
    let mut args = std::env::args_os();
    let name = args
        .next()
        .map(std::path::PathBuf::from)
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    name.starts_with(PLUGIN_ARG) || args.next().is_some_and(|a| a == PLUGIN_ARG)
}

/// Runs the plugin on stdin and stdout. A bad parameter or schema is reported in the
/// response's `error` (as protoc expects); only unreadable input or unwritable output fail the
/// process.
pub(crate) fn run() -> ExitCode {
    let mut input = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut input) {
        eprintln!("protoc-gen-hms: cannot read the request: {e}");
        return ExitCode::from(1);
    }
    let response = match CodeGeneratorRequest::decode(input.as_slice()) {
        Ok(request) => respond(&request),
        Err(e) => {
            eprintln!("protoc-gen-hms: stdin is not a CodeGeneratorRequest: {e}");
            return ExitCode::from(1);
        }
    };
    let mut out = std::io::stdout().lock();
    match out
        .write_all(&response.encode_to_vec())
        .and_then(|()| out.flush())
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("protoc-gen-hms: cannot write the response: {e}");
            ExitCode::from(1)
        }
    }
}

/// The response to one request: the generated files, or the error protoc shows its user.
pub(crate) fn respond(request: &CodeGeneratorRequest) -> CodeGeneratorResponse {
    let mut response = CodeGeneratorResponse {
        supported_features: Some(FEATURE_PROTO3_OPTIONAL),
        ..CodeGeneratorResponse::default()
    };
    let outcome = language(request.parameter.as_deref().unwrap_or("")).and_then(|lang| {
        let set = FileDescriptorSet {
            file: request.proto_file.clone(),
        };
        let schema = Schema::from_descriptor_set(&set.encode_to_vec())
            .map_err(|e| e.message().to_string())?;
        Ok(generate(lang, &schema, &request.file_to_generate))
    });
    match outcome {
        Ok(files) => {
            response.file = files
                .into_iter()
                .map(|f| code_generator_response::File {
                    name: Some(f.path),
                    content: Some(f.content),
                    ..Default::default()
                })
                .collect();
        }
        Err(e) => response.error = Some(e),
    }
    response
}

/// The language a parameter names: `lang=go`, or `go`; other `key=value` options are errors.
fn language(parameter: &str) -> Result<Lang, String> {
    let mut lang = None;
    for opt in parameter
        .split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
    {
        let value = match opt.split_once('=') {
            Some(("lang", v)) => v,
            Some((k, _)) => {
                return Err(format!(
                    "unknown option {k:?} (protoc-gen-hms takes lang=…)"
                ))
            }
            None => opt,
        };
        lang = Some(Lang::from_str(value, true).map_err(|_| {
            format!("unknown language {value:?}: python, typescript, go, ruby, php, kotlin or rust")
        })?);
    }
    lang.ok_or_else(|| {
        "protoc-gen-hms needs a language: lang=python|typescript|go|ruby|php|kotlin|rust"
            .to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(parameter: &str) -> CodeGeneratorRequest {
        let schema = Schema::from_source(
            "g.proto",
            "syntax = \"proto3\"; package g.v1;\nmessage R { optional string name = 1; }\nservice S { rpc M(R) returns (R); }",
        )
        .unwrap();
        let set = FileDescriptorSet::decode(schema.to_descriptor_set().as_slice()).unwrap();
        CodeGeneratorRequest {
            file_to_generate: vec!["g.proto".into()],
            parameter: Some(parameter.into()),
            proto_file: set.file,
            ..Default::default()
        }
    }

    #[test]
    fn a_request_gives_the_files_of_the_language_it_names() {
        let response = respond(&request("lang=python"));
        assert_eq!(response.error, None);
        assert_eq!(response.supported_features, Some(FEATURE_PROTO3_OPTIONAL));
        let names: Vec<_> = response
            .file
            .iter()
            .filter_map(|f| f.name.clone())
            .collect();
        assert_eq!(names, ["g_v1_hms.py"]);
        let text = response.file[0].content.as_deref().unwrap();
        assert!(text.contains("class SClient:"), "{text}");
        assert_eq!(respond(&request("go")).file.len(), 1);
    }

    #[test]
    fn a_bad_parameter_is_the_response_error() {
        let err = respond(&request("lang=cobol")).error.unwrap();
        assert!(err.contains("unknown language \"cobol\""), "{err}");
        let err = respond(&request("")).error.unwrap();
        assert!(err.contains("needs a language"), "{err}");
        let err = respond(&request("paths=x")).error.unwrap();
        assert!(err.contains("unknown option \"paths\""), "{err}");
    }
}
