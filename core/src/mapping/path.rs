//! Paths of fields inside a value tree, rendered as `items[2].price`, `counts["a"]`, `by_id[7]`.

#[derive(Debug, Clone)]
pub(crate) enum Seg {
    Field(String),
    Index(usize),
    Key(String),
}

/// A stack of path segments with cheap push/pop while walking.
#[derive(Debug, Default)]
pub(crate) struct Path {
    segs: Vec<Seg>,
}

impl Path {
    pub(crate) fn push(&mut self, seg: Seg) {
        self.segs.push(seg);
    }

    pub(crate) fn pop(&mut self) {
        self.segs.pop();
    }

    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        for seg in &self.segs {
            match seg {
                Seg::Field(name) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(name);
                }
                Seg::Index(i) => {
                    out.push('[');
                    out.push_str(&i.to_string());
                    out.push(']');
                }
                Seg::Key(k) => {
                    out.push('[');
                    out.push_str(k);
                    out.push(']');
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_a_user_writes_it() {
        let mut p = Path::default();
        p.push(Seg::Field("items".into()));
        p.push(Seg::Index(2));
        p.push(Seg::Field("price".into()));
        assert_eq!(p.render(), "items[2].price");
        p.pop();
        p.pop();
        p.pop();
        p.push(Seg::Field("counts".into()));
        p.push(Seg::Key("\"a\"".into()));
        assert_eq!(p.render(), "counts[\"a\"]");
    }
}
