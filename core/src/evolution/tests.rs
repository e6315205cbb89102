//! Unit checks of single rules on small schemas; the agreement with buf over the whole corpus
//! is `cli/tests/evolution_agreement.rs`.

use super::*;

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
    assert_eq!("wire_json".parse::<Category>().ok(), Some(Category::WireJson));
    assert!("WIRES".parse::<Category>().is_err());
    let rule = RULES.iter().find(|r| r.id == "FIELD_SAME_ONEOF").expect("rule");
    assert_eq!(rule.categories(), Category::ALL.to_vec());
}
