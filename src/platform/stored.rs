//! The values a visit's object keeps, stored as JSON text. workers-rs's `Storage::get` and
//! `put` convert a value with serde-wasm-bindgen, one call across the wasm boundary per field:
//! under V8 that cost about 2.7 times as much as `serde_json` for a large account's visit
//! (BENCHMARKS.md, "The visit request across the hop"). A value the previous release stored
//! (a structured object) is still read, so a visit in progress during a deploy keeps its state.

use serde::de::DeserializeOwned;
use serde::Serialize;
use worker::js_sys::{Object, Reflect};
use worker::wasm_bindgen::JsValue;
use worker::{ListOptions, Result, Storage};

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

/// `value` as the JSON text [`put`] stores.
pub fn text<T: Serialize>(value: &T) -> Result<String> {
    Ok(serde_json::to_string(value)?)
}

/// Stores each `(key, JSON text)` in one storage call: written together or not at all.
pub async fn put_all(storage: &Storage, entries: &[(String, String)]) -> Result<()> {
    let object = Object::new();
    for (key, text) in entries {
        Reflect::set(&object, &JsValue::from_str(key), &JsValue::from_str(text))?;
    }
    storage.put_multiple_raw(object).await
}

/// The JSON texts stored under keys that start with `prefix`, in key order, at most `limit`.
pub async fn texts(
    storage: &Storage,
    prefix: &str,
    limit: Option<usize>,
) -> Result<Vec<(String, String)>> {
    let options = ListOptions::new().prefix(prefix);
    let options = match limit {
        Some(n) => options.limit(n),
        None => options,
    };
    let map = storage.list_with_options(options).await?;
    let mut out = Vec::new();
    map.for_each(&mut |value, key| {
        if let (Some(key), Some(text)) = (key.as_string(), value.as_string()) {
            out.push((key, text));
        }
    });
    Ok(out)
}

/// The values stored under keys that start with `prefix`, in key order, with their keys.
pub async fn list<T: DeserializeOwned>(
    storage: &Storage,
    prefix: &str,
) -> Result<Vec<(String, T)>> {
    texts(storage, prefix, None)
        .await?
        .into_iter()
        .map(|(key, text)| Ok((key, serde_json::from_str(&text)?)))
        .collect()
}
