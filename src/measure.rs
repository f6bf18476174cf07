//! What the examples and benchmarks measure of their own process.

/// The peak resident memory of this process so far (`VmHWM` in `/proc/self/status`), in
/// MB; `None` where there is no such file (not Linux).
///
/// ```
/// if let Some(mb) = statesync_suite::measure::peak_rss_mb() {
///     assert!(mb > 0.0);
/// }
/// ```
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}
