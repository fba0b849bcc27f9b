//! Progress bars for long file operations (drawn on stderr, hidden when it is
//! not a terminal or the file is small).

use indicatif::{ProgressBar, ProgressStyle};

/// Files smaller than this get no bar.
const MIN_BAR_BYTES: u64 = 8 * 1024 * 1024;

/// A byte-count bar for `total` bytes labelled `what`.
pub(crate) fn bar(what: &str, total: u64) -> ProgressBar {
    if total < MIN_BAR_BYTES {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    let style = ProgressStyle::with_template(
        "{msg:>10} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    bar.set_style(style);
    bar.set_message(what.to_string());
    bar
}
