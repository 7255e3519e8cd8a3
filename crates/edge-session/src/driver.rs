//! A future driven from JavaScript (wasm32 only): the worker's request
//! handler runs as a [`Task`] that JavaScript polls, and every promise the
//! handler awaits through [`wait`] is awaited by JavaScript itself, which
//! hands its outcome back and polls again.
//!
//! Why not `wasm_bindgen_futures`: its executor costs, for every awaited
//! promise, two Rust closures exported to JavaScript (created, called,
//! finalized), a `queueMicrotask` hop and a poll from the microtask queue;
//! on a session read that glue was a third of the worker's CPU
//! (docs/BENCHMARKS.md, "CPU per request"). Here an awaited promise costs
//! one crossing out (the promise, with the id it is resumed by) and one in
//! (its outcome, with the next poll in the same call), and the awaiting is
//! plain JavaScript (js/driver.js).
//!
//! Futures this module does not make (the `worker` crate's timers and
//! fetches) still work: the task's waker asks JavaScript to poll again on
//! a microtask, as `wasm_bindgen_futures` would. A [`wait`] polled outside
//! a task (a `worker::Context::wait_until` future, another crate's
//! executor) falls back to `wasm_bindgen_futures::JsFuture`.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/js/driver.js")]
extern "C" {
    /// Drives `task` to its end (js/driver.js): resolves with its output,
    /// rejects with what it threw (a trap included).
    #[wasm_bindgen(js_name = drive)]
    fn drive_js(task: Task) -> js_sys::Promise;
}

/// The outcome of one awaited promise: `Ok` with what it resolved to,
/// `Err` with what it rejected with.
type Outcome = Result<JsValue, JsValue>;

/// What a task's [`wait`]s share with it while it is polled.
#[derive(Default)]
struct Shared {
    /// Promises first awaited during the current poll, each after the id
    /// its outcome comes back with ([`Task::resume`]).
    new_waits: RefCell<Vec<JsValue>>,
    /// Outcomes by id; `None` until JavaScript hands one back.
    outcomes: RefCell<Vec<Option<Outcome>>>,
    /// The waker each [`Wait`] was last polled with, by id: woken with its
    /// outcome when it is not the task's own (a combinator that polls only
    /// the children that were woken, such as `FuturesUnordered`).
    wakers: RefCell<Vec<Option<Waker>>>,
    /// JavaScript's "poll again soon" (js/driver.js), for the wakers of
    /// futures this module did not make.
    wake: RefCell<Option<js_sys::Function>>,
    /// A wake is already asked for and not yet served.
    woken: Cell<bool>,
}

thread_local! {
    /// The task being polled, if any: what a [`wait`] registers with.
    static CURRENT: RefCell<Option<Rc<Shared>>> = const { RefCell::new(None) };
}

/// A future run by JavaScript (js/driver.js): its output is a `JsValue`
/// (the worker's `Response`, or `undefined`). Made by [`spawn`]; JavaScript
/// calls [`Task::start`] once and [`Task::resume`] for each outcome.
#[wasm_bindgen]
pub struct Task {
    future: Option<Pin<Box<dyn Future<Output = JsValue>>>>,
    shared: Rc<Shared>,
}

/// Runs `future` as a [`Task`] driven by JavaScript and returns the
/// promise of its output: what a `#[wasm_bindgen]` fetch handler returns to
/// the runtime, or hands to `ctx.waitUntil`.
pub fn spawn(future: impl Future<Output = JsValue> + 'static) -> js_sys::Promise {
    drive_js(Task { future: Some(Box::pin(future)), shared: Rc::new(Shared::default()) })
}

#[wasm_bindgen]
impl Task {
    /// Takes JavaScript's wake function and polls for the first time.
    /// Returns `[output]` when the task ended, else `[id, promise, ...]`:
    /// the promises it now awaits (possibly none), each after its id.
    pub fn start(&mut self, wake: js_sys::Function) -> Vec<JsValue> {
        *self.shared.wake.borrow_mut() = Some(wake);
        self.poll()
    }

    /// Hands back the outcome of the promise awaited as `id` (`ok`:
    /// resolved with `value`; else rejected with it) and polls again;
    /// returns as [`Task::start`]. An id not awaited is ignored.
    pub fn resume(&mut self, id: u32, value: JsValue, ok: bool) -> Vec<JsValue> {
        if let Some(slot) = self.shared.outcomes.borrow_mut().get_mut(id as usize) {
            *slot = Some(if ok { Ok(value) } else { Err(value) });
        }
        let waiting = self.shared.wakers.borrow_mut().get_mut(id as usize).and_then(Option::take);
        if let Some(w) = waiting.filter(|w| !w.will_wake(&waker(&self.shared))) {
            w.wake();
        }
        self.poll()
    }

    /// Polls again after a wake; returns as [`Task::start`].
    pub fn poll(&mut self) -> Vec<JsValue> {
        self.shared.woken.set(false);
        let Some(future) = self.future.as_mut() else {
            return vec![JsValue::UNDEFINED];
        };
        let waker = waker(&self.shared);
        let mut cx = Context::from_waker(&waker);
        let previous = CURRENT.with(|c| c.replace(Some(self.shared.clone())));
        let polled = future.as_mut().poll(&mut cx);
        CURRENT.with(|c| *c.borrow_mut() = previous);
        match polled {
            Poll::Ready(output) => {
                self.future = None;
                vec![output]
            }
            Poll::Pending => std::mem::take(&mut *self.shared.new_waits.borrow_mut()),
        }
    }
}

/// Awaits `promise`: by JavaScript when polled inside a [`Task`] (one
/// crossing each way), else through `wasm_bindgen_futures::JsFuture`.
///
/// # Errors
///
/// What the promise rejected with.
pub async fn wait(promise: js_sys::Promise) -> Result<JsValue, JsValue> {
    match CURRENT.with(|c| c.borrow().clone()) {
        Some(shared) => Wait { shared, id: None, promise: Some(promise) }.await,
        None => wasm_bindgen_futures::JsFuture::from(promise).await,
    }
}

/// One promise awaited by the driving JavaScript.
struct Wait {
    shared: Rc<Shared>,
    /// The id its outcome comes back with, once registered.
    id: Option<u32>,
    promise: Option<js_sys::Promise>,
}

impl Future for Wait {
    type Output = Outcome;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Outcome> {
        if let Some(promise) = self.promise.take() {
            let mut outcomes = self.shared.outcomes.borrow_mut();
            let id = outcomes.len() as u32;
            outcomes.push(None);
            drop(outcomes);
            self.shared.wakers.borrow_mut().push(Some(cx.waker().clone()));
            self.shared.new_waits.borrow_mut().extend([JsValue::from(id), promise.into()]);
            self.id = Some(id);
            return Poll::Pending;
        }
        let id = self.id.unwrap_or(u32::MAX) as usize;
        match self.shared.outcomes.borrow_mut().get_mut(id).and_then(Option::take) {
            Some(outcome) => Poll::Ready(outcome),
            None => {
                if let Some(slot) = self.shared.wakers.borrow_mut().get_mut(id) {
                    *slot = Some(cx.waker().clone());
                }
                Poll::Pending
            }
        }
    }
}

/// The waker of a task: asks JavaScript (once until served) to poll it on
/// a microtask.
fn waker(shared: &Rc<Shared>) -> Waker {
    fn clone(data: *const ()) -> RawWaker {
        // SAFETY: `data` came from `Rc::into_raw` of a `Shared` (below),
        // and this waker holds one count of it.
        unsafe { Rc::increment_strong_count(data as *const Shared) };
        RawWaker::new(data, &VTABLE)
    }
    fn wake(data: *const ()) {
        wake_by_ref(data);
        drop_waker(data);
    }
    fn wake_by_ref(data: *const ()) {
        // SAFETY: as in `clone`; the count is not given up here.
        let shared = unsafe { &*(data as *const Shared) };
        if !shared.woken.replace(true) {
            if let Some(wake) = shared.wake.borrow().as_ref() {
                let _ = wake.call0(&JsValue::UNDEFINED);
            }
        }
    }
    fn drop_waker(data: *const ()) {
        // SAFETY: as in `clone`; this gives the waker's count up.
        unsafe { drop(Rc::from_raw(data as *const Shared)) };
    }
    static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);
    let data = Rc::into_raw(shared.clone()) as *const ();
    // SAFETY: the vtable's functions keep the `Rc` count balanced, and the
    // runtime is single-threaded (wasm32 without threads), so an `Rc` in a
    // waker is never shared across threads.
    unsafe { Waker::from_raw(RawWaker::new(data, &VTABLE)) }
}
