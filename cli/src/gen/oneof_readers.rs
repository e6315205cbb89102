//! Typed readers of a oneof for the languages whose generated messages keep every member as a
//! field (the binding's form: every member present, the unset ones null): Python's
//! `which_<message>_<oneof>` (a `Literal` of the members' names), Ruby's `which_<oneof>` and
//! `<oneof>` (a union of Symbols and of the members' types in the RBS), PHP's `which<Oneof>()`
//! and `<oneof>()` (a docblock union of names, a native union type). They only read the fields;
//! the core rejects a value that sets two members. docs/codegen.md ("Oneofs") says why these
//! languages get readers rather than union types.

use super::model::{Field, Message};

/// `which_<message>_<oneof>`: the name of the member of a oneof that is set, typed as a
/// `Literal` of the members' names (protobuf's `WhichOneof`), so a `match` or comparison of it
/// is checked against the names.
pub(super) fn python(out: &mut String, m: &Message, o: &str, members: &[&Field]) {
    let names: Vec<String> = members.iter().map(|f| format!("\"{}\"", f.name)).collect();
    line!(out);
    line!(out);
    line!(
        out,
        "def which_{snake}_{o}(m: Union[{n}, {n}Args]) -> Optional[Literal[{names}]]:",
        snake = super::snake(&m.name),
        n = m.name,
        names = names.join(", ")
    );
    let doc = format!(
        "The member of the oneof ``{o}`` of ``{}`` that is set (not ``None``), or ``None``.",
        m.full_name
    );
    super::python::docstring(out, &doc, "    ");
    for f in members {
        line!(out, "    if m.get(\"{0}\") is not None:", f.name);
        line!(out, "        return \"{}\"", f.name);
    }
    line!(out, "    return None");
}

/// A oneof's readers: `which_<oneof>`, the Symbol of the member that is set (nil when none
/// is), and `<oneof>`, its value; the RBS types them as a union of the members' Symbols and
/// of their types.
pub(super) fn ruby(rb: &mut String, rbs: &mut String, o: &str, members: &[&Field], pad: &str) {
    let symbols: Vec<String> = members.iter().map(|f| format!(":{}", f.name)).collect();
    line!(rb);
    line!(
        rb,
        "{pad}  # The member of the oneof {o} that is set ({}), or nil.",
        symbols.join(", ")
    );
    line!(rb, "{pad}  def which_{o}");
    for f in members {
        line!(rb, "{pad}    return :{0} unless @{0}.nil?", f.name);
    }
    line!(rb, "{pad}    nil");
    line!(rb, "{pad}  end");
    line!(rb);
    line!(
        rb,
        "{pad}  # The value of the member of the oneof {o} that is set, or nil."
    );
    line!(rb, "{pad}  def {o}");
    line!(rb, "{pad}    which = which_{o}");
    line!(rb, "{pad}    which && public_send(which)");
    line!(rb, "{pad}  end");
    let mut types: Vec<String> = Vec::new();
    for f in members {
        let t = super::ruby::field_rbs(f).trim_end_matches('?').to_string();
        if !types.contains(&t) {
            types.push(t);
        }
    }
    line!(
        rbs,
        "{pad}  def which_{o}: () -> ({})?",
        symbols.join(" | ")
    );
    line!(rbs, "{pad}  def {o}: () -> ({})?", types.join(" | "));
}

/// A oneof's readers: `which<Oneof>()`, the name of the member that is set (a docblock union
/// of the names), and `<oneof>()`, its value, typed as the union of the members' types.
pub(super) fn php(out: &mut String, o: &str, members: &[&Field]) {
    let names: Vec<String> = members.iter().map(|f| format!("'{}'", f.name)).collect();
    line!(out);
    line!(
        out,
        "    /** The member of the oneof `{o}` that is set, or null. @return {}|null */",
        names.join("|")
    );
    line!(
        out,
        "    public function which{}(): ?string",
        super::pascal(o)
    );
    line!(out, "    {{");
    line!(out, "        return match (true) {{");
    for f in members {
        line!(out, "            $this->{0} !== null => '{0}',", f.name);
    }
    line!(out, "            default => null,");
    line!(out, "        }};");
    line!(out, "    }}");
    let mut types: Vec<String> = Vec::new();
    for f in members {
        let (decl, _) = super::php::field_types(f);
        for t in decl
            .trim_start_matches('?')
            .split('|')
            .filter(|t| *t != "null")
        {
            if !types.iter().any(|x| x == t) {
                types.push(t.to_string());
            }
        }
    }
    let ty = if types.iter().any(|t| t == "mixed") {
        "mixed".to_string()
    } else {
        types.push("null".into());
        types.join("|")
    };
    let values: Vec<String> = members
        .iter()
        .map(|f| format!("$this->{}", f.name))
        .collect();
    line!(out);
    line!(
        out,
        "    /** The value of the member of the oneof `{o}` that is set, or null. */"
    );
    line!(out, "    public function {}(): {ty}", super::camel(o));
    line!(out, "    {{");
    line!(out, "        return {};", values.join(" ?? "));
    line!(out, "    }}");
}
