//! The values a visit's object keeps, stored as JSON text. workers-rs's `Storage::get` and
//! `put` convert a value with serde-wasm-bindgen, one call across the wasm boundary per field:
//! under V8 that cost about 2.7 times as much as `serde_json` for a large account's visit
//! (BENCHMARKS.md, "The visit request across the hop"). A value the previous release stored
//! (a structured object) is still read, so a visit in progress during a deploy keeps its state.

use serde::de::DeserializeOwned;
use serde::Serialize;
use worker::{Result, Storage};

/// The value stored at `key`, if any, in either form.
pub async fn get<T: DeserializeOwned>(storage: &Storage, key: &str) -> Result<Option<T>> {
    match storage.get::<String>(key).await {
        Ok(Some(text)) => Ok(Some(serde_json::from_slice(text.as_bytes())?)),
        Ok(None) => Ok(None),
        // Not text: the previous release's structured value.
        Err(_) => storage.get::<T>(key).await,
    }
}

/// Stores `value` at `key` as JSON text.
pub async fn put<T: Serialize>(storage: &Storage, key: &str, value: &T) -> Result<()> {
    storage.put_raw(key, serde_json::to_string(value)?).await
}
