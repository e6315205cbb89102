//! Glob patterns for method names and identities: `*` matches any run of characters
//! (including `/` and `.`), `?` one character; everything else matches itself.

/// True when `text` matches `pattern`.
pub fn matches(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // Iterative matching with backtracking to the last `*`: linear memory, O(|p|·|t|) time.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn globs_match_methods_and_identities() {
        assert!(matches("billing.v1.Invoices/*", "billing.v1.Invoices/Get"));
        assert!(!matches("billing.v1.Invoices/*", "billing.v1.Payments/Get"));
        assert!(matches("*", ""));
        assert!(matches("*.v1.*/Get", "billing.v1.Invoices/Get"));
        assert!(!matches("*.v1.*/Get", "billing.v2.Invoices/Get"));
        assert!(matches("uid:100?", "uid:1000"));
        assert!(!matches("uid:100?", "uid:10000"));
        assert!(matches("a*b*c", "aXXbYYc"));
        assert!(!matches("a*b*c", "aXXbYY"));
        assert!(matches("exact", "exact"));
        assert!(!matches("exact", "exactly"));
    }
}
