//! PBKDF2-HMAC-SHA256. On Workers it runs inside the runtime's WebCrypto
//! (`crypto.subtle.deriveBits`), native code that is far faster than the
//! same loop in wasm and does not count against the isolate's memory;
//! natively (tests, tools) it is the `pbkdf2` crate. Both give the same
//! bytes, which the tests check against RFC 7914's vector.

/// Why the key derivation failed (WebCrypto refused the parameters, e.g.
/// more than the 100 000 iterations Workers allow).
#[cfg_attr(not(target_arch = "wasm32"), derive(Debug))]
#[derive(thiserror::Error)]
#[error("PBKDF2 failed: {0}")]
pub struct KdfError(pub String);
crate::debug_is_display!(KdfError);

/// The 32-byte PBKDF2-HMAC-SHA256 of `password` with `salt`.
///
/// # Errors
///
/// [`KdfError`] when the platform's crypto refuses the parameters (workerd refuses more than 100
/// 000 iterations).
pub async fn pbkdf2_sha256(password: &[u8], salt: &[u8], iterations: u32) -> Result<[u8; 32], KdfError> {
    imp::derive(password, salt, iterations).await
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use super::KdfError;

    pub(super) async fn derive(password: &[u8], salt: &[u8], iterations: u32) -> Result<[u8; 32], KdfError> {
        if iterations == 0 {
            return Err(KdfError("iterations must be positive".into()));
        }
        let mut out = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, salt, iterations, &mut out);
        Ok(out)
    }
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use super::KdfError;
    use js_sys::{Array, ArrayBuffer, Object, Uint8Array};
    use wasm_bindgen::JsCast;
    use web_sys::{CryptoKey, Pbkdf2Params, WorkerGlobalScope};

    fn err(e: wasm_bindgen::JsValue) -> KdfError {
        KdfError(format!("{e:?}"))
    }

    pub(super) async fn derive(password: &[u8], salt: &[u8], iterations: u32) -> Result<[u8; 32], KdfError> {
        let scope: WorkerGlobalScope = js_sys::global().unchecked_into();
        let subtle = scope.crypto().map_err(err)?.subtle();
        let usages = Array::of1(&"deriveBits".into());
        let key = subtle
            .import_key_with_str("raw", &Uint8Array::from(password).into(), "PBKDF2", false, &usages)
            .map_err(err)?;
        let key: CryptoKey = crate::driver::wait(key).await.map_err(err)?.unchecked_into();
        let params = Pbkdf2Params::new("PBKDF2", &"SHA-256".into(), iterations, &Uint8Array::from(salt).into());
        let bits = subtle.derive_bits_with_object(params.unchecked_ref::<Object>(), &key, 256).map_err(err)?;
        let bits: ArrayBuffer = crate::driver::wait(bits).await.map_err(err)?.unchecked_into();
        let mut out = [0u8; 32];
        Uint8Array::new(&bits).copy_to(&mut out);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::block_on;

    /// RFC 7914 §11: PBKDF2-HMAC-SHA256("passwd", "salt", 1, 64), first 32 bytes.
    #[test]
    fn rfc7914_vector() {
        let out = block_on(pbkdf2_sha256(b"passwd", b"salt", 1)).unwrap();
        let hex = hex::encode(out);
        assert_eq!(hex, "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc");
    }
}
