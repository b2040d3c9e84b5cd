//! The parallel scheduler: items worked on by a pool of threads, each with state of its own
//! (its Tesseract engines), and handed to one consumer strictly in item order. Workers take
//! items in order and may run at most `window` items ahead of the consumer, so the finished
//! items waiting to be consumed stay few however long the run is.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, mpsc};

/// How a run is spread over threads.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// Worker threads.
    pub threads: usize,
    /// How many items past the last one consumed a worker may start.
    pub window: usize,
}

impl Schedule {
    /// `threads` workers with a window of two items per worker and two spare.
    pub fn for_threads(threads: usize) -> Schedule {
        let threads = threads.max(1);
        Schedule {
            threads,
            window: 2 * threads + 2,
        }
    }
}

/// The consumer's progress, which workers wait on.
struct Consumed {
    count: Mutex<usize>,
    changed: Condvar,
}

impl Consumed {
    fn wait_below(&self, item: usize, window: usize) {
        let mut n = self.count.lock().unwrap_or_else(|e| e.into_inner());
        while item >= *n + window {
            n = self.changed.wait(n).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn set(&self, n: usize) {
        *self.count.lock().unwrap_or_else(|e| e.into_inner()) = n;
        self.changed.notify_all();
    }
}

/// Bytes of memory the workers share: a page is admitted when its estimate fits beside the
/// pages being worked on, so however many workers run, together they never hold more.
#[derive(Debug)]
pub struct Budget {
    total: u64,
    used: Mutex<u64>,
    freed: Condvar,
}

/// Bytes admitted from a [`Budget`], given back when dropped.
#[derive(Debug)]
pub struct Admission<'a> {
    budget: &'a Budget,
    bytes: u64,
}

impl Budget {
    pub fn new(total: u64) -> Budget {
        Budget {
            total,
            used: Mutex::new(0),
            freed: Condvar::new(),
        }
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    /// Waits until `bytes` fit beside what is admitted; `None` at once when they never can
    /// (more than the whole budget).
    pub fn admit(&self, bytes: u64) -> Option<Admission<'_>> {
        if bytes > self.total {
            return None;
        }
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        while *used + bytes > self.total {
            used = self.freed.wait(used).unwrap_or_else(|e| e.into_inner());
        }
        *used += bytes;
        Some(Admission {
            budget: self,
            bytes,
        })
    }

    /// Bytes admitted now.
    pub fn in_use(&self) -> u64 {
        *self.used.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Admission<'_> {
    fn drop(&mut self) {
        let mut used = self.budget.used.lock().unwrap_or_else(|e| e.into_inner());
        *used -= self.bytes;
        self.budget.freed.notify_all();
    }
}

/// A work item that panicked: its result is lost, the run goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Panicked;

/// Runs `work(state, index, item)` for every item on `schedule.threads` threads, each thread
/// with a state made by `state`, and calls `consume(index, result)` on the calling thread in
/// item order. A panic in `work` costs that item alone: it is consumed as `Err(Panicked)`, and
/// the thread's state is made anew (it may have been left mid-change). A panic in `consume`
/// stops the workers and is passed on to the caller.
pub fn run_ordered<I, S, R>(
    schedule: Schedule,
    items: &[I],
    state: impl Fn() -> S + Sync,
    work: impl Fn(&mut S, usize, &I) -> R + Sync,
    mut consume: impl FnMut(usize, Result<R, Panicked>),
) -> std::io::Result<()>
where
    I: Sync,
    R: Send,
{
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(schedule.threads)
        .thread_name(|i| format!("kitap-ocr-{i}"))
        .build()
        .map_err(std::io::Error::other)?;
    let next = AtomicUsize::new(0);
    let consumed = Consumed {
        count: Mutex::new(0),
        changed: Condvar::new(),
    };
    let (tx, rx) = mpsc::channel::<(usize, Result<R, Panicked>)>();
    let consumer_panic = std::thread::scope(|s| {
        let (next, consumed, state, work) = (&next, &consumed, &state, &work);
        s.spawn(move || {
            pool.broadcast(|_| {
                let mut st = state();
                let tx = tx.clone();
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= items.len() {
                        break;
                    }
                    consumed.wait_below(i, schedule.window);
                    let result = catch_unwind(AssertUnwindSafe(|| work(&mut st, i, &items[i])));
                    if result.is_err() {
                        st = state();
                    }
                    if tx.send((i, result.map_err(|_| Panicked))).is_err() {
                        break;
                    }
                }
            });
            drop(tx);
        });
        let consuming = catch_unwind(AssertUnwindSafe(|| {
            let mut pending = BTreeMap::new();
            let mut next_item = 0usize;
            for (i, result) in rx.iter() {
                pending.insert(i, result);
                while let Some(result) = pending.remove(&next_item) {
                    consume(next_item, result);
                    next_item += 1;
                    consumed.set(next_item);
                }
            }
        }));
        // The consumer is gone: stop handing out items, wake the waiting workers, and close the
        // channel so their next send fails.
        if consuming.is_err() {
            next.store(items.len(), Ordering::SeqCst);
            consumed.set(usize::MAX / 2);
        }
        drop(rx);
        consuming.err()
    });
    if let Some(panic) = consumer_panic {
        std::panic::resume_unwind(panic);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    #[test]
    fn results_arrive_in_item_order_whatever_order_they_finish_in() {
        let items: Vec<u64> = (0..60).collect();
        let mut seen = Vec::new();
        run_ordered(
            Schedule::for_threads(4),
            &items,
            || (),
            |_, i, &item| {
                // Later items finish first within each group of five.
                std::thread::sleep(Duration::from_millis(5 - (item % 5)));
                (i, item * 2)
            },
            |i, result| {
                let (j, doubled) = result.unwrap();
                assert_eq!(i, j);
                seen.push(doubled);
            },
        )
        .unwrap();
        assert_eq!(seen, items.iter().map(|x| x * 2).collect::<Vec<_>>());
    }

    #[test]
    fn workers_never_run_past_the_window() {
        let items: Vec<usize> = (0..40).collect();
        let schedule = Schedule {
            threads: 3,
            window: 4,
        };
        let consumed = AtomicUsize::new(0);
        let worst = AtomicUsize::new(0);
        run_ordered(
            schedule,
            &items,
            || (),
            |_, i, _| {
                let ahead = i - consumed.load(Ordering::SeqCst);
                worst.fetch_max(ahead, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(1));
            },
            |i, _| {
                // A slow consumer: workers must wait for it rather than pile up results.
                std::thread::sleep(Duration::from_millis(3));
                consumed.store(i + 1, Ordering::SeqCst);
            },
        )
        .unwrap();
        let worst = worst.load(Ordering::SeqCst);
        assert!(worst < schedule.window, "ran {worst} items ahead");
        assert!(
            worst >= 2,
            "the workers ran in parallel ahead of the consumer"
        );
    }

    #[test]
    fn each_worker_keeps_its_own_state() {
        let items: Vec<()> = vec![(); 30];
        let made = AtomicUsize::new(0);
        let mut total = 0;
        run_ordered(
            Schedule::for_threads(2),
            &items,
            || made.fetch_add(1, Ordering::SeqCst),
            |_, _, _| 1,
            |_, n| total += n.unwrap(),
        )
        .unwrap();
        assert_eq!(total, 30);
        assert_eq!(made.load(Ordering::SeqCst), 2, "one state per thread");
    }

    #[test]
    fn a_panicking_item_costs_itself_alone_and_renews_the_state() {
        let items: Vec<usize> = (0..20).collect();
        let made = AtomicUsize::new(0);
        let mut results = Vec::new();
        run_ordered(
            Schedule::for_threads(2),
            &items,
            || made.fetch_add(1, Ordering::SeqCst),
            |_, _, &item| {
                if item == 7 {
                    panic!("a bug on item 7");
                }
                item
            },
            |i, r| results.push((i, r)),
        )
        .unwrap();
        assert_eq!(results.len(), 20);
        assert_eq!(results[7], (7, Err(Panicked)));
        assert!(results.iter().all(|(i, r)| *i == 7 || *r == Ok(*i)));
        assert_eq!(made.load(Ordering::SeqCst), 3, "two workers, one made anew");
    }

    #[test]
    fn a_panicking_consumer_stops_the_run_instead_of_hanging_it() {
        let items: Vec<usize> = (0..50).collect();
        let started = AtomicUsize::new(0);
        let run = std::panic::catch_unwind(AssertUnwindSafe(|| {
            run_ordered(
                Schedule::for_threads(2),
                &items,
                || (),
                |_, _, _| {
                    started.fetch_add(1, Ordering::SeqCst);
                },
                |i, _| assert!(i < 3, "consumer fails at item 3"),
            )
        }));
        assert!(run.is_err(), "the consumer's panic reaches the caller");
        assert!(
            started.load(Ordering::SeqCst) < 50,
            "the workers stopped early"
        );
    }

    #[test]
    fn workers_never_hold_more_than_the_budget() {
        let budget = Budget::new(100);
        let held = AtomicUsize::new(0);
        let worst = AtomicUsize::new(0);
        // Sizes 10..=60: two or three fit at once, never all four workers' pages.
        let items: Vec<u64> = (0..40).map(|i| 10 + (i * 7) % 51).collect();
        let mut done = 0;
        run_ordered(
            Schedule::for_threads(4),
            &items,
            || (),
            |_, _, &bytes| {
                let _admitted = budget.admit(bytes).expect("fits the budget");
                let now = held.fetch_add(bytes as usize, Ordering::SeqCst) + bytes as usize;
                worst.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(2));
                held.fetch_sub(bytes as usize, Ordering::SeqCst);
            },
            |_, r| {
                r.unwrap();
                done += 1;
            },
        )
        .unwrap();
        assert_eq!(done, 40);
        let worst = worst.load(Ordering::SeqCst);
        assert!(worst <= 100, "held {worst} bytes at once");
        assert!(
            worst > 60,
            "pages ran side by side when they fitted ({worst})"
        );
        assert_eq!(budget.in_use(), 0, "every admission given back");
    }

    #[test]
    fn an_item_bigger_than_the_whole_budget_is_refused_at_once() {
        let budget = Budget::new(100);
        let _a = budget.admit(70).unwrap();
        assert!(budget.admit(101).is_none());
        assert_eq!(budget.in_use(), 70);
    }

    #[test]
    fn no_items_is_no_work() {
        let mut calls = 0;
        run_ordered(
            Schedule::for_threads(2),
            &[] as &[u8],
            || (),
            |_, _, _| (),
            |_, _| calls += 1,
        )
        .unwrap();
        assert_eq!(calls, 0);
    }
}
