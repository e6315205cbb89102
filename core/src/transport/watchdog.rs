//! The watchdog of thread-led connections ([`super::unix_led`]): while some connection's
//! reading thread runs a handler, it looks every [`TICK`] for one that has done so for longer than
//! [`HAND_OVER`] and starts a thread to take that connection's reading over. It sleeps once no
//! handler has run on a reading thread for [`IDLE_TICKS`] ticks, so an idle process has no
//! timer; a busy one has one wake-up a tick, whatever its call rate, and its calls never wake
//! the watchdog themselves (as Go's `sysmon` hands a processor on from a goroutine stuck in a
//! system call).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, Weak};
use std::time::Duration;

use super::unix_led::{Led, HAND_OVER};
use super::wait::lock;

/// How often the watchdog looks while handlers run on reading threads.
const TICK: Duration = Duration::from_micros(500);

/// How many ticks in a row with no handler running on a reading thread before the watchdog
/// sleeps: while calls keep coming it stays awake, so a call never has to wake it.
const IDLE_TICKS: u32 = 128;

struct Watchdog {
    connections: Mutex<Vec<Weak<Led>>>,
    /// Readings let go for a handler, and of those taken back or over: the difference is
    /// how many are let go now.
    released: AtomicU64,
    taken: AtomicU64,
    parked: AtomicBool,
    lock: Mutex<()>,
    wake: Condvar,
}

fn watchdog() -> &'static Watchdog {
    static DOG: OnceLock<Watchdog> = OnceLock::new();
    DOG.get_or_init(|| {
        let started = std::thread::Builder::new()
            .name("hms-ffi-watchdog".into())
            .spawn(|| watchdog().run());
        if let Err(e) = started {
            // Handlers that run long then hold their connection up until they return.
            tracing::error!(error = %e, "cannot start the connection watchdog");
        }
        Watchdog {
            connections: Mutex::new(Vec::new()),
            released: AtomicU64::new(0),
            taken: AtomicU64::new(0),
            parked: AtomicBool::new(false),
            lock: Mutex::new(()),
            wake: Condvar::new(),
        }
    })
}

/// Watches a new thread-led connection (until it is dropped).
pub(super) fn register(led: &Arc<Led>) {
    let dog = watchdog();
    let mut all = lock(&dog.connections);
    all.retain(|w| w.strong_count() > 0);
    all.push(Arc::downgrade(led));
}

/// A reading thread let go of its connection to run a handler.
pub(super) fn released() {
    let dog = watchdog();
    dog.released.fetch_add(1, Ordering::SeqCst);
    if dog.parked.load(Ordering::SeqCst) {
        let _lock = lock(&dog.lock);
        dog.wake.notify_one();
    }
}

/// A let-go reading was taken back (by its thread) or over (by a new one).
pub(super) fn taken() {
    watchdog().taken.fetch_add(1, Ordering::SeqCst);
}

impl Watchdog {
    /// Whether some reading is let go now.
    fn busy(&self) -> bool {
        self.released.load(Ordering::SeqCst) != self.taken.load(Ordering::SeqCst)
    }

    fn run(&self) {
        let (mut idle, mut seen) = (0, 0);
        loop {
            if idle >= IDLE_TICKS {
                let mut guard = lock(&self.lock);
                self.parked.store(true, Ordering::SeqCst);
                while !self.busy() {
                    guard = self.wake.wait(guard).unwrap_or_else(|p| p.into_inner());
                }
                self.parked.store(false, Ordering::SeqCst);
                idle = 0;
            }
            std::thread::sleep(TICK);
            let now = self.released.load(Ordering::SeqCst);
            if self.busy() {
                self.hand_over();
            }
            // Idle: no handler ran on a reading thread since the last tick.
            idle = if now == seen && !self.busy() {
                idle + 1
            } else {
                0
            };
            seen = now;
        }
    }

    fn hand_over(&self) {
        let leds: Vec<Arc<Led>> = {
            let all = lock(&self.connections);
            all.iter().filter_map(Weak::upgrade).collect()
        };
        for led in leds {
            let Some(reading) = led.stuck(HAND_OVER) else {
                continue;
            };
            if let Err((reason, reading)) = led.spawn(reading, false) {
                // The connection waits for its handler, as it would without the watchdog.
                tracing::error!(%reason, "cannot hand a connection's reading over");
                led.put_back(reading);
                continue;
            }
            taken();
        }
    }
}
