//! Checks for the literal forms scripts give: Kubernetes quantities and exact versions.

/// A Kubernetes resource quantity (`10Gi`, `500m`, `1.5`, `2e3`), parsed to its value.
/// Returns the value in base units (bytes for memory, cores for CPU) as f64.
pub fn parse_quantity(s: &str) -> Option<f64> {
    let s = s.trim();
    if s.is_empty() || s != s.trim() {
        return None;
    }
    let (sign, rest) = match s.as_bytes()[0] {
        b'+' => (1.0, &s[1..]),
        b'-' => (-1.0, &s[1..]),
        _ => (1.0, s),
    };
    let digits_end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (number, suffix) = rest.split_at(digits_end);
    if number.is_empty() || number == "." || number.matches('.').count() > 1 {
        return None;
    }
    let base: f64 = number.parse().ok()?;
    let factor = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        exp if exp.starts_with(['e', 'E']) => {
            let e: i32 = exp[1..].parse().ok()?;
            10f64.powi(e)
        }
        _ => return None,
    };
    Some(sign * base * factor)
}

/// An exact version: `1.2.3`, `v1.2.3`, `1.2.3-rc.1`, `2025.11.3`, or with a build suffix.
/// Ranges (`^1.2`, `~1`, `>=1.0.0`, `1.x`, `*`) and floating words are not exact.
pub fn is_exact_version(v: &str) -> bool {
    let v = v.strip_prefix('v').unwrap_or(v);
    let core = v.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() >= 2
        && parts.len() <= 4
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+' | b'_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        assert_eq!(parse_quantity("10Gi"), Some(10.0 * 1024f64.powi(3)));
        assert_eq!(parse_quantity("500m"), Some(0.5));
        assert_eq!(parse_quantity("2"), Some(2.0));
        assert_eq!(parse_quantity("1e3"), Some(1000.0));
        assert_eq!(parse_quantity("10 Gi"), None);
        assert_eq!(parse_quantity("10GB"), None);
        assert_eq!(parse_quantity("Gi"), None);
        assert_eq!(parse_quantity(""), None);
    }

    #[test]
    fn exact_versions() {
        for ok in [
            "1.2.3",
            "v1.2.3",
            "4.5.0-rc.1",
            "2025.11.3",
            "1.2",
            "15.5.32+build.7",
        ] {
            assert!(is_exact_version(ok), "{ok}");
        }
        for bad in [
            "^1.2",
            "~1.2.3",
            ">=1.0.0",
            "1.x",
            "*",
            "latest",
            "",
            "1",
            "1.2.*",
            "1.2 || 1.3",
        ] {
            assert!(!is_exact_version(bad), "{bad}");
        }
    }
}
