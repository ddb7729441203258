//! The few cryptographic helpers the worker's tokens and keys share (R-S1, R-S2, R-C2): one
//! hex encoding, one HMAC, one SHA-256, one constant-time comparison (so that every check of a
//! secret compares the same way), and one authenticated cipher for secrets kept outside the
//! account's object.

use chacha20poly1305::aead::{Aead, KeyInit as _};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// HMAC-SHA256 of `data` under `key`.
pub(crate) fn hmac_sha256(key: &[u8], data: &[u8]) -> Option<[u8; 32]> {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).ok()?;
    m.update(data);
    Some(m.finalize().into_bytes().into())
}

/// SHA-256 of `data`, lower-case hex.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let digit = |d: u8| char::from_digit(u32::from(d), 16).unwrap_or('0');
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(digit(b >> 4));
        out.push(digit(b & 0x0f));
    }
    out
}

/// Equality whose time does not depend on where two byte strings differ (only on their
/// lengths).
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    bool::from(a.ct_eq(b))
}

/// Bytes of a [`seal`] nonce.
pub(crate) const NONCE_BYTES: usize = 12;

/// A 32-byte key for `purpose` derived from a worker secret: HMAC-SHA256(secret, purpose), so
/// that one secret gives independent keys to independent uses.
pub(crate) fn derive_key(secret: &[u8], purpose: &str) -> Option<[u8; 32]> {
    hmac_sha256(secret, purpose.as_bytes())
}

/// ChaCha20-Poly1305 (RFC 8439) of `plain` under `key` with `nonce` (never used twice with one
/// key: callers draw it at random), and `context` authenticated alongside: the nonce, then the
/// ciphertext and its tag.
pub(crate) fn seal(
    key: &[u8; 32],
    nonce: [u8; NONCE_BYTES],
    context: &[u8],
    plain: &[u8],
) -> Option<Vec<u8>> {
    let cipher = ChaCha20Poly1305::new(Key::from_slice(key));
    let payload = chacha20poly1305::aead::Payload {
        msg: plain,
        aad: context,
    };
    let sealed = cipher.encrypt(Nonce::from_slice(&nonce), payload).ok()?;
    let mut out = Vec::with_capacity(NONCE_BYTES + sealed.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    Some(out)
}

/// The plain text of what [`seal`] made under `key` with the same `context`; `None` when it
/// was sealed under another key or context, or changed since.
pub(crate) fn open(key: &[u8; 32], context: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
    let (nonce, body) = sealed.split_at_checked(NONCE_BYTES)?;
    let cipher = ChaCha20Poly1305::new(Key::from_slice(key));
    let payload = chacha20poly1305::aead::Payload {
        msg: body,
        aad: context,
    };
    cipher.decrypt(Nonce::from_slice(nonce), payload).ok()
}

/// Bytes of lower-case hex, as [`hex`] writes it; `None` for anything else, so that no two
/// spellings of one value exist.
pub(crate) fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2)
        || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lower_case_two_digits_a_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(hex(&[]), "");
    }

    #[test]
    fn unhex_reads_what_hex_writes_and_nothing_else() {
        let bytes = [0x00, 0x0f, 0xa5, 0xff, 0x10];
        assert_eq!(unhex(&hex(&bytes)).as_deref(), Some(&bytes[..]));
        for bad in ["0", "zz", "0g", "+1", "0A"] {
            assert_eq!(unhex(bad), None, "{bad}");
        }
    }

    #[test]
    fn seal_matches_rfc_8439s_aead_vector_and_opens_only_unchanged_under_its_key() {
        // RFC 8439, section 2.8.2.
        let key: [u8; 32] = core::array::from_fn(|i| 0x80 + u8::try_from(i).unwrap_or(0));
        let nonce = [
            0x07, 0, 0, 0, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47,
        ];
        let aad = [
            0x50, 0x51, 0x52, 0x53, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7,
        ];
        let plain = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";
        let sealed = seal(&key, nonce, &aad, plain).unwrap_or_default();
        let hexed = hex(&sealed);
        assert!(
            hexed.starts_with("070000004041424344454647d31a8d34648e60db7b86afbc53ef7ec2"),
            "{hexed}"
        );
        // The tag (RFC 8439: 1a:e1:0b:59:4f:09:e2:6a:7e:90:2e:cb:d0:60:06:91).
        assert!(
            hexed.ends_with("1ae10b594f09e26a7e902ecbd0600691"),
            "{hexed}"
        );
        assert_eq!(open(&key, &aad, &sealed).as_deref(), Some(&plain[..]));

        let mut other = key;
        other[0] ^= 1;
        assert_eq!(open(&other, &aad, &sealed), None, "another key");
        assert_eq!(open(&key, b"other", &sealed), None, "another context");
        let mut changed = sealed.clone();
        if let Some(b) = changed.last_mut() {
            *b ^= 1;
        }
        assert_eq!(open(&key, &aad, &changed), None, "changed");
        assert_eq!(open(&key, &aad, &sealed[..5]), None, "cut short");
    }

    #[test]
    fn derived_keys_differ_by_purpose_and_secret() {
        let a = derive_key(b"secret", "one");
        assert_eq!(a, derive_key(b"secret", "one"));
        assert_ne!(a, derive_key(b"secret", "two"));
        assert_ne!(a, derive_key(b"secreT", "one"));
    }

    #[test]
    fn same_is_equality_of_bytes() {
        assert!(same(b"secret", b"secret"));
        assert!(!same(b"secret", b"secreT"));
        assert!(!same(b"secret", b"secret!"));
        assert!(same(b"", b""));
    }

    #[test]
    fn hmac_and_sha256_match_rfc_4231_and_fips_180_vectors() {
        // RFC 4231, test case 2.
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?").map(|m| hex(&m));
        assert_eq!(
            mac.as_deref(),
            Some("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        );
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
