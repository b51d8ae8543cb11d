//! Reading the generated configuration rules look at: Home Assistant and Zigbee2MQTT YAML,
//! `postgresql.conf`, `mosquitto.conf`, durations and dates.

use serde_yaml::Value as Yaml;

/// A calendar date (proleptic Gregorian), for end-of-life checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

impl Date {
    pub const fn new(year: i32, month: u32, day: u32) -> Self {
        Date { year, month, day }
    }

    /// The date `days` days after 1970-01-01 (Howard Hinnant's civil-from-days).
    pub fn from_unix_days(days: i64) -> Self {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Date { year, month, day }
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// An InfluxDB / Go / Loki duration (`30d`, `43800h`, `5y`, `1w2d`, `744h0m0s`) in hours.
pub fn parse_duration_hours(s: &str) -> Option<f64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let mut total = 0.0;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let n: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let hours = match &rest[..unit_len] {
            "" if n == 0.0 => 0.0,
            "ns" => 1.0 / 3.6e12,
            "us" | "µs" => 1.0 / 3.6e9,
            "ms" => 1.0 / 3.6e6,
            "s" => 1.0 / 3600.0,
            "m" => 1.0 / 60.0,
            "h" => 1.0,
            "d" => 24.0,
            "w" => 168.0,
            "mo" => 730.0,
            "y" => 8760.0,
            _ => return None,
        };
        total += n * hours;
        rest = &rest[unit_len..];
    }
    Some(total)
}

/// `30d`, `5y`, `12h`: hours in the unit that reads best.
pub fn human_hours(h: f64) -> String {
    let (n, unit) = if h >= 8760.0 && (h / 8760.0).fract() < 0.01 {
        (h / 8760.0, "year")
    } else if h >= 24.0 {
        (h / 24.0, "day")
    } else {
        (h, "hour")
    };
    let n = n.round() as usize;
    super::plural(n, unit)
}

/// `postgresql.conf` settings in file order: (lower-case name, value without quotes).
pub fn postgresql_conf(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| {
            let line = line.split('#').next().unwrap_or("").trim();
            let (k, v) = line
                .split_once('=')
                .or_else(|| line.split_once(char::is_whitespace))?;
            let v = v.trim().trim_matches('\'').trim();
            Some((k.trim().to_ascii_lowercase(), v.to_owned()))
        })
        .collect()
}

/// `mosquitto.conf` directives in file order: (name, rest of the line).
pub fn mosquitto_conf(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            if line.starts_with('#') || line.is_empty() {
                return None;
            }
            let (k, v) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
            Some((k.to_owned(), v.trim().to_owned()))
        })
        .collect()
}

/// The last value a setting has (PostgreSQL and Mosquitto both let the last line win).
pub fn last<'a>(settings: &'a [(String, String)], key: &str) -> Option<&'a str> {
    settings
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Off in PostgreSQL's boolean spellings.
pub fn is_off(v: &str) -> bool {
    matches!(
        v.to_ascii_lowercase().as_str(),
        "off" | "false" | "no" | "0"
    )
}

/// A YAML document, when the text is one.
pub fn yaml(text: &str) -> Option<Yaml> {
    serde_yaml::from_str(text).ok()
}

/// `!secret key` in Home Assistant / Zigbee2MQTT YAML: the key name.
pub fn secret_ref(v: &Yaml) -> Option<&str> {
    match v {
        Yaml::Tagged(t) if t.tag == "secret" => t.value.as_str(),
        // Zigbee2MQTT writes `'!secret password'` as a plain string.
        Yaml::String(s) => s.strip_prefix("!secret ").map(str::trim),
        _ => None,
    }
}

/// A key path in a YAML map (`recorder.db_url`).
pub fn lookup<'a>(doc: &'a Yaml, path: &str) -> Option<&'a Yaml> {
    let mut cur = doc;
    for key in path.split('.') {
        cur = cur.as_mapping()?.get(key)?;
    }
    Some(cur)
}

/// A scalar as text (strings, numbers and booleans).
pub fn scalar(v: &Yaml) -> Option<String> {
    match v {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Number(n) => Some(n.to_string()),
        Yaml::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `mqtt://mosquitto.zigbee.svc.cluster.local:1883` → `mosquitto.zigbee:1883`: the broker
/// address in one spelling, so the three parties can be compared.
pub fn broker_address(s: &str) -> String {
    let s = s.trim();
    let s = s.split_once("://").map_or(s, |(_, rest)| rest);
    let s = s.trim_end_matches('/');
    let (host, port) = match s.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => (h, p),
        _ => (s, "1883"),
    };
    let host = host
        .trim_end_matches(".cluster.local")
        .trim_end_matches(".svc");
    format!("{host}:{port}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_every_unit() {
        assert_eq!(parse_duration_hours("30d"), Some(720.0));
        assert_eq!(parse_duration_hours("43800h"), Some(43800.0));
        assert_eq!(parse_duration_hours("5y"), Some(43800.0));
        assert_eq!(parse_duration_hours("1w2d"), Some(216.0));
        assert_eq!(parse_duration_hours("744h0m0s"), Some(744.0));
        assert_eq!(parse_duration_hours("0s"), Some(0.0));
        assert_eq!(parse_duration_hours("0"), Some(0.0));
        assert_eq!(parse_duration_hours("forever"), None);
        assert_eq!(parse_duration_hours("30"), None);
    }

    #[test]
    fn dates_from_unix_days() {
        assert_eq!(Date::from_unix_days(0), Date::new(1970, 1, 1));
        assert_eq!(Date::from_unix_days(20_514), Date::new(2026, 3, 2));
        assert_eq!(Date::from_unix_days(11_016), Date::new(2000, 2, 29));
    }

    #[test]
    fn postgresql_and_mosquitto_settings() {
        let pg = postgresql_conf(
            "fsync = on\n# fsync = off\nsynchronous_commit='off' # fast\nfull_page_writes on\n",
        );
        assert_eq!(last(&pg, "fsync"), Some("on"));
        assert_eq!(last(&pg, "synchronous_commit"), Some("off"));
        assert_eq!(last(&pg, "full_page_writes"), Some("on"));
        let m = mosquitto_conf("persistence true\npersistence_location /mosquitto/data/\n# allow_anonymous true\nallow_anonymous false\n");
        assert_eq!(last(&m, "persistence"), Some("true"));
        assert_eq!(last(&m, "allow_anonymous"), Some("false"));
    }

    #[test]
    fn secrets_and_brokers() {
        let doc = yaml(
            "recorder:\n  db_url: !secret recorder_db_url\nmqtt:\n  password: '!secret mqtt'\n",
        )
        .unwrap();
        assert_eq!(
            secret_ref(lookup(&doc, "recorder.db_url").unwrap()),
            Some("recorder_db_url")
        );
        assert_eq!(
            secret_ref(lookup(&doc, "mqtt.password").unwrap()),
            Some("mqtt")
        );
        assert_eq!(
            broker_address("mqtt://mosquitto.zigbee.svc.cluster.local:1883"),
            "mosquitto.zigbee:1883"
        );
        assert_eq!(
            broker_address("mosquitto.zigbee.svc"),
            "mosquitto.zigbee:1883"
        );
    }
}
