//! Unicode normalization forms for usernames and password checks.
//!
//! Natively the unicode-normalization crate; on wasm32 the runtime's own
//! `String.prototype.normalize` (through js-sys), so that the worker does not
//! carry the crate's ~60 KB gzip of composition and decomposition tables
//! (issue 14). Both are checked against tests/vectors/usernames.json: the
//! native build in `username`'s tests, the worker in workerd by
//! tests/e2e/usernames.test.mjs.

/// `s` in Normalization Form KC.
pub(crate) fn nfkc(s: &str) -> String {
    normalize(s, Form::Nfkc)
}

/// `s` in Normalization Form D.
#[cfg(any(target_arch = "wasm32", test))]
pub(crate) fn nfd(s: &str) -> String {
    normalize(s, Form::Nfd)
}

#[cfg_attr(not(any(target_arch = "wasm32", test)), allow(dead_code))]
enum Form {
    Nfkc,
    Nfd,
}

#[cfg(not(target_arch = "wasm32"))]
fn normalize(s: &str, form: Form) -> String {
    use unicode_normalization::UnicodeNormalization;
    match form {
        Form::Nfkc => s.nfkc().collect(),
        Form::Nfd => s.nfd().collect(),
    }
}

#[cfg(target_arch = "wasm32")]
fn normalize(s: &str, form: Form) -> String {
    let form = match form {
        Form::Nfkc => "NFKC",
        Form::Nfd => "NFD",
    };
    // A form the runtime knows never fails (RangeError is for other names);
    // a JavaScript string of Rust text converts back without loss (no lone
    // surrogates in either).
    js_sys::JsString::from(s).normalize(form).into()
}
