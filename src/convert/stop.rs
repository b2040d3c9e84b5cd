//! SIGINT and SIGTERM: the run stops taking new pages, abandons the book being assembled (its
//! previous generation stays), writes the manifest of the books finished so far and exits with
//! 128 + the signal (130, 143). The next run takes the rest. A second signal ends the process
//! at once: that too is safe, since a book's files change only as a whole generation.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use signal_hook::consts::{SIGINT, SIGTERM};

/// Whether a stop was asked for, and by which signal.
pub(super) struct Stop {
    signal: Arc<AtomicUsize>,
}

impl Stop {
    /// Installs the handlers (for the rest of the process).
    pub(super) fn install() -> Stop {
        let signal = Arc::new(AtomicUsize::new(0));
        let seen = Arc::new(AtomicBool::new(false));
        for sig in [SIGINT, SIGTERM] {
            let code = 128 + sig;
            // Order matters: the shutdown checks the flag before this signal sets it.
            let _ = signal_hook::flag::register_conditional_shutdown(sig, code, seen.clone());
            let _ = signal_hook::flag::register(sig, seen.clone());
            let _ = signal_hook::flag::register_usize(sig, signal.clone(), sig as usize);
        }
        Stop { signal }
    }

    /// The signal that asked for the stop, if one did.
    pub(super) fn requested(&self) -> Option<i32> {
        match self.signal.load(Ordering::SeqCst) {
            0 => None,
            s => Some(s as i32),
        }
    }
}

/// `SIGINT`, `SIGTERM`, for messages.
pub(super) fn name(signal: i32) -> &'static str {
    match signal {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}
