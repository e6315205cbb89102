//! The check narrowed to one method.

use super::*;

const V1: &str = r#"syntax = "proto3";
package shop.v1;
message Item { int32 count = 1; Kind kind = 2; }
enum Kind { KIND_UNSPECIFIED = 0; KIND_BOOK = 1; }
message GetRequest { string id = 1; }
message ListRequest {}
message ListReply { repeated Item items = 1; }
message Other { string note = 1; }
service Shop {
  rpc Get(GetRequest) returns (Item);
  rpc List(ListRequest) returns (ListReply);
  rpc Gone(ListRequest) returns (Other);
}
"#;

/// `GetRequest.id` becomes an int64 (Get breaks), `Other.note` an int32 (Gone, then deleted),
/// a method is added, List and what it reaches stay as they were.
const V2: &str = r#"syntax = "proto3";
package shop.v1;
message Other { int32 note = 1; }
message Item { int32 count = 1; Kind kind = 2; string added = 3; }
enum Kind { KIND_UNSPECIFIED = 0; KIND_BOOK = 1; KIND_PEN = 2; }
message GetRequest { int64 id = 1; }
message ListRequest {}
message ListReply { repeated Item items = 1; }
service Shop {
  rpc Added(ListRequest) returns (ListReply);
  rpc List(ListRequest) returns (ListReply);
  rpc Get(GetRequest) returns (Item);
}
"#;

fn images() -> (Image, Image) {
    let old = Image::from_sources(&[("shop.proto", V1)]).expect("v1");
    let new = Image::from_sources(&[("shop.proto", V2)]).expect("v2");
    (old, new)
}

#[test]
fn a_changed_request_field_breaks_only_the_method_that_reaches_it() {
    let (old, new) = images();
    let get = check_method(&old, &new, "shop.v1.Shop/Get", Category::WireJson);
    let rules: Vec<&str> = get.iter().map(|f| f.rule).collect();
    assert_eq!(rules, vec!["FIELD_WIRE_JSON_COMPATIBLE_TYPE"], "{get:?}");
    // The place is GetRequest.id's type in the new revision, line 6 (spans follow the narrowing).
    assert_eq!((get[0].line, get[0].path.as_str()), (Some(6), "shop.proto"));
    assert!(check_method(&old, &new, "shop.v1.Shop/List", Category::WireJson).is_empty());
    // The whole check sees Other's change too; no method the client uses reaches it.
    assert!(check(&old, &new, Category::WireJson).len() > get.len());
}

#[test]
fn a_deleted_method_is_reported_whatever_the_category_and_an_unknown_one_is_not() {
    let (old, new) = images();
    let gone = check_method(&old, &new, "shop.v1.Shop/Gone", Category::Wire);
    assert_eq!(gone.len(), 1);
    assert_eq!(gone[0].rule, "RPC_NO_DELETE");
    assert!(check_method(&old, &new, "shop.v1.Shop/Added", Category::Wire).is_empty());
    assert!(check_method(&old, &new, "nope.Svc/X", Category::Wire).is_empty());
}

#[test]
fn narrowing_keeps_what_the_method_reaches() {
    let (old, _) = images();
    let list = old.for_method("shop.v1.Shop/List").expect("served");
    let file = &list.files()[0];
    let names: Vec<&str> = file.message_type.iter().map(|m| m.name()).collect();
    assert_eq!(names, vec!["Item", "ListRequest", "ListReply"]);
    assert_eq!(file.enum_type.len(), 1);
    assert_eq!(file.service[0].method.len(), 1);
    assert!(old.for_method("shop.v1.Shop/Nope").is_none());
}
