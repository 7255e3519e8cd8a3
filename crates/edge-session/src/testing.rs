//! Helpers for tests of code built on this crate (feature `test-support`):
//! a runtime-free executor for futures that never wait on I/O, such as the
//! in-memory store's. The store itself is `store::MemoryStore`, the suite
//! every store passes `store::conformance`.

/// Drives a future that never waits on I/O (the in-memory store's) to
/// completion without a runtime.
///
/// # Panics
///
/// Never returns if the future waits on something that is not ready: use a
/// real runtime for I/O.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut f = std::pin::pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}
