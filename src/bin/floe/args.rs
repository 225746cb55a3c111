//! Hand-rolled argument parsing: options of one command, sizes (`2GiB`,
//! `512MiB`, `1e9`), chunk lists (`100,10000`), and the CLI's error type.

use std::fmt;

/// A command-line failure: printed as one line `floe: error: ...`.
#[derive(Debug)]
pub struct Fail(pub String);

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<floe::Error> for Fail {
    fn from(e: floe::Error) -> Fail {
        Fail(e.to_string())
    }
}

impl From<String> for Fail {
    fn from(s: String) -> Fail {
        Fail(s)
    }
}

impl From<&str> for Fail {
    fn from(s: &str) -> Fail {
        Fail(s.to_string())
    }
}

pub type CliResult<T> = Result<T, Fail>;

/// The parsed arguments of one command: positionals and `--name [value]` options.
#[derive(Debug, Default)]
pub struct Parsed {
    pub positional: Vec<String>,
    options: Vec<(String, Option<String>)>,
    pub help: bool,
}

impl Parsed {
    /// The value of `--name` (the last one given).
    pub fn value(&self, name: &str) -> Option<&str> {
        self.options.iter().rev().find(|(n, _)| n == name).and_then(|(_, v)| v.as_deref())
    }
    /// Whether the flag `--name` was given.
    pub fn flag(&self, name: &str) -> bool {
        self.options.iter().any(|(n, _)| n == name)
    }
}

/// Parse the arguments of `command` (after its name). `with_value` and
/// `flags` name the options it takes (without `--`). `--name value` and
/// `--name=value` are both accepted; `--` ends the options.
pub fn parse(command: &str, args: &[String], with_value: &[&str], flags: &[&str]) -> CliResult<Parsed> {
    let mut p = Parsed::default();
    let mut it = args.iter();
    let mut only_positional = false;
    while let Some(a) = it.next() {
        if only_positional || !a.starts_with('-') || a == "-" {
            p.positional.push(a.clone());
            continue;
        }
        if a == "--" {
            only_positional = true;
            continue;
        }
        if a == "-h" || a == "--help" {
            p.help = true;
            continue;
        }
        let Some(body) = a.strip_prefix("--") else {
            return Err(Fail(format!("unknown option `{a}` for `floe {command}` (try `floe {command} --help`)")));
        };
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        if with_value.contains(&name) {
            let v = match inline {
                Some(v) => v,
                None => it.next().cloned().ok_or_else(|| Fail(format!("option `--{name}` of `floe {command}` needs a value")))?,
            };
            p.options.push((name.to_string(), Some(v)));
        } else if flags.contains(&name) {
            if inline.is_some() {
                return Err(Fail(format!("option `--{name}` of `floe {command}` takes no value")));
            }
            p.options.push((name.to_string(), None));
        } else {
            return Err(Fail(format!("unknown option `--{name}` for `floe {command}` (try `floe {command} --help`)")));
        }
    }
    Ok(p)
}

/// A byte size: plain bytes (`1000000`, `1e9`), or a number with a unit:
/// `KB MB GB TB` (powers of 1000), `KiB MiB GiB TiB` and `K M G T` (powers
/// of 1024); case-insensitive, `B` optional, fractions allowed (`1.5GiB`).
pub fn parse_size(s: &str) -> CliResult<u64> {
    let bad = || Fail(format!("invalid size `{s}` (examples: 512MiB, 2GiB, 1e9, 1000000)"));
    let t = s.trim();
    let split = t.find(|c: char| c.is_ascii_alphabetic() && c != 'e' && c != 'E').unwrap_or(t.len());
    // `1e9` is a number; `1E` alone is not a unit we know
    let (num, unit) = t.split_at(split);
    let num: f64 = num.trim().parse().map_err(|_| bad())?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kib" => 1024.0,
        "m" | "mib" => 1024f64.powi(2),
        "g" | "gib" => 1024f64.powi(3),
        "t" | "tib" => 1024f64.powi(4),
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        _ => return Err(bad()),
    };
    let v = num * mult;
    if !v.is_finite() || v < 1.0 || v > u64::MAX as f64 {
        return Err(Fail(format!("invalid size `{s}`: must be at least 1 byte")));
    }
    Ok(v.round() as u64)
}

/// A comma-separated list of positive integers (`100,10000`).
pub fn parse_chunks(s: &str) -> CliResult<Vec<usize>> {
    let v: Vec<usize> =
        s.split(',').map(|p| p.trim().parse::<usize>().ok().filter(|&c| c > 0)).collect::<Option<_>>().ok_or_else(|| {
            Fail(format!("invalid chunk shape `{s}`: expected positive integers separated by commas, e.g. 100,10000"))
        })?;
    Ok(v)
}

/// A positive integer option.
pub fn parse_count(name: &str, s: &str) -> CliResult<usize> {
    s.trim()
        .parse::<usize>()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| Fail(format!("invalid value `{s}` for --{name}: expected a positive integer")))
}

/// Bytes for people: `1.89 GB`, `95.0 MB`, `512 B` (powers of 1000).
pub fn human_bytes(b: u64) -> String {
    let b = b as f64;
    if b >= 1e12 {
        format!("{:.2} TB", b / 1e12)
    } else if b >= 1e9 {
        format!("{:.2} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.1} MB", b / 1e6)
    } else if b >= 1e3 {
        format!("{:.1} kB", b / 1e3)
    } else {
        format!("{b} B")
    }
}

/// Seconds for people.
pub fn human_secs(s: f64) -> String {
    if s >= 120.0 {
        format!("{}m{:02.0}s", (s / 60.0).floor(), s % 60.0)
    } else if s >= 10.0 {
        format!("{s:.1} s")
    } else {
        format!("{s:.2} s")
    }
}

/// Current resident set size of this process (VmRSS), where /proc has it.
pub fn current_rss() -> Option<u64> {
    proc_status_kb("VmRSS:")
}

fn proc_status_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Samples the resident set size every 10 ms on a thread of its own, for
/// the peak of each step of a run (the process-wide peak, VmHWM, cannot be
/// reset without also resetting what `time -v` and benchmark harnesses see).
pub struct RssMonitor {
    peak: std::sync::Arc<std::sync::atomic::AtomicU64>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RssMonitor {
    /// None where the RSS cannot be read (no /proc).
    pub fn start() -> Option<RssMonitor> {
        use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
        use std::sync::Arc;
        let now = current_rss()?;
        let peak = Arc::new(AtomicU64::new(now));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (peak.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("rss-monitor".into())
            .spawn(move || {
                while !s.load(Ordering::Relaxed) {
                    if let Some(r) = current_rss() {
                        p.fetch_max(r, Ordering::Relaxed);
                    }
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
            })
            .ok()?;
        Some(RssMonitor { peak, stop, thread: Some(thread) })
    }

    /// The highest RSS seen since the last call (or the start), and start
    /// again from the current RSS.
    pub fn take_peak(&self) -> u64 {
        let now = current_rss().unwrap_or(0);
        self.peak.swap(now, std::sync::atomic::Ordering::Relaxed).max(now)
    }
}

impl Drop for RssMonitor {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Peak resident set size of this process (VmHWM), where /proc has it.
pub fn peak_rss() -> Option<u64> {
    proc_status_kb("VmHWM:")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512MiB").unwrap(), 512 << 20);
        assert_eq!(parse_size("2GiB").unwrap(), 2 << 30);
        assert_eq!(parse_size("2gib").unwrap(), 2 << 30);
        assert_eq!(parse_size("1e9").unwrap(), 1_000_000_000);
        assert_eq!(parse_size("1000").unwrap(), 1000);
        assert_eq!(parse_size("1.5 GB").unwrap(), 1_500_000_000);
        assert_eq!(parse_size("64k").unwrap(), 65536);
        assert!(parse_size("lots").is_err());
        assert!(parse_size("2XB").is_err());
        assert!(parse_size("0").is_err());
        assert!(parse_size("-5MiB").is_err());
    }

    #[test]
    fn chunk_lists() {
        assert_eq!(parse_chunks("100,10000").unwrap(), vec![100, 10000]);
        assert!(parse_chunks("100,0").is_err());
        assert!(parse_chunks("a,b").is_err());
        assert!(parse_chunks("").is_err());
    }

    #[test]
    fn options() {
        let a: Vec<String> =
            ["in", "--chunks=1,2", "out", "--overwrite", "--max-mem", "1GiB"].iter().map(|s| s.to_string()).collect();
        let p = parse("rechunk", &a, &["chunks", "max-mem"], &["overwrite"]).unwrap();
        assert_eq!(p.positional, vec!["in", "out"]);
        assert_eq!(p.value("chunks"), Some("1,2"));
        assert_eq!(p.value("max-mem"), Some("1GiB"));
        assert!(p.flag("overwrite"));
        assert!(parse("rechunk", &["--bogus".to_string()], &[], &[]).is_err());
        assert!(parse("rechunk", &["--chunks".to_string()], &["chunks"], &[]).is_err());
    }
}
