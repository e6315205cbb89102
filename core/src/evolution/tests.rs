//! Unit checks of single rules on small schemas; the agreement with buf over the whole corpus
//! is `cli/tests/evolution_agreement.rs`.

use super::*;
use crate::Code;

fn image(text: &str) -> Image {
    Image::from_sources(&[("a.proto", text)]).expect("compiles")
}

fn rules(old: &str, new: &str, category: Category) -> Vec<&'static str> {
    let mut r: Vec<_> = check(&image(old), &image(new), category)
        .into_iter()
        .map(|f| f.rule)
        .collect();
    r.dedup();
    r
}

#[test]
fn identical_schemas_are_compatible_in_every_category() {
    let s = "syntax = \"proto3\"; package p; message M { int32 a = 1; } service S { rpc R(M) returns (M); }";
    for c in Category::ALL {
        assert!(rules(s, s, c).is_empty(), "{c}");
    }
}

#[test]
fn a_deleted_field_names_its_message_and_place() {
    let old = "syntax = \"proto3\";\npackage p;\nmessage M {\n  int32 a = 1;\n  int32 b = 2;\n}\n";
    let new = "syntax = \"proto3\";\npackage p;\nmessage M {\n  int32 a = 1;\n  reserved 2;\n}\n";
    let found = check(&image(old), &image(new), Category::Wire);
    assert!(found.is_empty(), "{found:?}");
    let found = check(&image(old), &image(new), Category::File);
    assert_eq!(found.len(), 1);
    assert_eq!(
        found[0].to_string(),
        "a.proto:3:1:FIELD_NO_DELETE Previously present field \"2\" with name \"b\" on message \"M\" was deleted."
    );
    assert_eq!(
        rules(old, new, Category::WireJson),
        vec!["FIELD_NO_DELETE_UNLESS_NAME_RESERVED"]
    );
}

#[test]
fn int32_to_int64_breaks_json_but_not_the_wire() {
    let old = "syntax = \"proto3\"; message M { int32 a = 1; }";
    let new = "syntax = \"proto3\"; message M { int64 a = 1; }";
    assert!(rules(old, new, Category::Wire).is_empty());
    assert_eq!(
        rules(old, new, Category::WireJson),
        vec!["FIELD_WIRE_JSON_COMPATIBLE_TYPE"]
    );
    assert_eq!(rules(old, new, Category::File), vec!["FIELD_SAME_TYPE"]);
}

#[test]
fn streaming_kind_changes_break_every_category() {
    let old = "syntax = \"proto3\"; message M {} service S { rpc R(M) returns (M); }";
    let new = "syntax = \"proto3\"; message M {} service S { rpc R(stream M) returns (M); }";
    for c in Category::ALL {
        assert_eq!(rules(old, new, c), vec!["RPC_SAME_CLIENT_STREAMING"], "{c}");
    }
}

#[test]
fn categories_parse_by_name() {
    assert_eq!(
        "wire_json".parse::<Category>().ok(),
        Some(Category::WireJson)
    );
    assert!("WIRES".parse::<Category>().is_err());
    let rule = RULES
        .iter()
        .find(|r| r.id == "FIELD_SAME_ONEOF")
        .expect("rule");
    assert_eq!(rule.categories(), Category::ALL.to_vec());
}

#[test]
fn unreadable_inputs_are_typed_errors() {
    let err = Image::from_sources(&[(
        "a.proto",
        "syntax = \"proto3\";\nmessage A {\n  strin b = 1;\n}\n",
    )])
    .expect_err("does not compile");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("a.proto:3:3"), "{}", err.message());

    let err = Image::load("/nonexistent/evolution", &[] as &[&str]).expect_err("missing");
    assert_eq!(err.code(), Code::NotFound);

    let dir = tempfile::tempdir().expect("tempdir");
    let err = Image::load(dir.path(), &[] as &[&str]).expect_err("empty");
    assert!(
        err.message().contains("no .proto files"),
        "{}",
        err.message()
    );
}

#[test]
fn directories_name_files_relative_to_their_root() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sub = dir.path().join("shop/v1");
    std::fs::create_dir_all(&sub).expect("mkdir");
    std::fs::write(
        sub.join("item.proto"),
        "syntax = \"proto3\"; package shop.v1; message Item { string id = 1; }",
    )
    .expect("write");
    std::fs::write(
        sub.join("order.proto"),
        "syntax = \"proto3\"; package shop.v1; import \"shop/v1/item.proto\"; message Order { Item item = 1; }",
    )
    .expect("write");
    // A link back up is not followed.
    std::os::unix::fs::symlink(dir.path(), sub.join("loop")).expect("symlink");
    let image = Image::load(dir.path(), &[] as &[&str]).expect("loads");
    assert_eq!(
        image.file_names(),
        ["shop/v1/item.proto", "shop/v1/order.proto"]
    );
}

#[test]
fn extension_and_map_fields_are_paired_too() {
    let old = "syntax = \"proto2\"; message M { extensions 10 to 20; map<string, int32> m = 1; } extend M { optional int32 x = 10; }";
    let new = "syntax = \"proto2\"; message M { extensions 10 to 20; map<string, int64> m = 1; } extend M { optional int64 y = 10; }";
    assert_eq!(
        rules(old, new, Category::WireJson),
        vec!["FIELD_WIRE_JSON_COMPATIBLE_TYPE", "FIELD_SAME_NAME"]
    );
}

#[test]
fn editions_files_are_refused_where_protox_stops() {
    // protox compiles proto2 and proto3 only; an editions file is a compile error at line 1.
    let err = Image::from_sources(&[(
        "e.proto",
        "edition = \"2023\";\nmessage E { int32 a = 1; }\n",
    )])
    .expect_err("editions");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("e.proto:1:1"), "{}", err.message());
}
