//! The objects' [`Store`] over a Durable Object's storage, values as JSON text. workers-rs's
//! `Storage::get` and `put` convert a value with serde-wasm-bindgen, one call across the wasm
//! boundary per field: under V8 that cost about 2.7 times as much as `serde_json` for a large
//! account's visit (BENCHMARKS.md, "The visit request across the hop").

use crate::session::{Store, StoreError};
use serde::de::DeserializeOwned;
use std::time::Duration;
use worker::js_sys::{Object, Reflect};
use worker::wasm_bindgen::JsValue;
use worker::{ListOptions, Storage};

/// Most keys one Durable Object `put` takes.
const PUT_KEYS: usize = 128;

/// A Durable Object's storage as a [`Store`].
pub struct ObjectStore(pub Storage);

impl ObjectStore {
    /// The texts a `list` with `options` (and at most `limit`) finds, in key order.
    async fn listed(
        &self,
        options: ListOptions<'_>,
        limit: Option<usize>,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let options = match limit {
            Some(n) => options.limit(n),
            None => options,
        };
        let map = self.0.list_with_options(options).await.map_err(failed)?;
        let mut out = Vec::new();
        map.for_each(&mut |value, key| {
            if let (Some(key), Some(text)) = (key.as_string(), value.as_string()) {
                out.push((key, text));
            }
        });
        Ok(out)
    }
}

fn failed(e: worker::Error) -> StoreError {
    StoreError(format!("storage: {e}"))
}

impl Store for ObjectStore {
    async fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError> {
        match self.0.get::<String>(key).await.map_err(failed)? {
            Some(text) => Ok(Some(serde_json::from_slice(text.as_bytes())?)),
            None => Ok(None),
        }
    }

    /// One `put` takes at most [`PUT_KEYS`] keys; more are several `put`s issued in the same
    /// turn, before any is awaited: the platform commits the writes an object issues with no
    /// await between them as one (write coalescing), so they are written together or not at all.
    async fn put_all(&self, entries: &[(String, String)]) -> Result<(), StoreError> {
        let mut puts = Vec::new();
        for chunk in entries.chunks(PUT_KEYS) {
            let object = Object::new();
            for (key, text) in chunk {
                Reflect::set(&object, &JsValue::from_str(key), &JsValue::from_str(text))
                    .map_err(|_| StoreError("storage: entry not set".into()))?;
            }
            puts.push(self.0.put_multiple_raw(object));
        }
        for put in super::join_all(puts).await {
            put.map_err(failed)?;
        }
        Ok(())
    }

    async fn texts(
        &self,
        prefix: &str,
        limit: Option<usize>,
    ) -> Result<Vec<(String, String)>, StoreError> {
        self.listed(ListOptions::new().prefix(prefix), limit).await
    }

    async fn texts_between(
        &self,
        start: &str,
        end: &str,
        limit: Option<usize>,
    ) -> Result<Vec<(String, String)>, StoreError> {
        self.listed(ListOptions::new().start(start).end(end), limit)
            .await
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.0.delete(key).await.map(|_| ()).map_err(failed)
    }

    async fn delete_all(&self) -> Result<(), StoreError> {
        self.0.delete_all().await.map_err(failed)
    }

    async fn set_alarm(&self, after_ms: u64) -> Result<(), StoreError> {
        self.0
            .set_alarm(Duration::from_millis(after_ms))
            .await
            .map_err(failed)
    }

    async fn delete_alarm(&self) -> Result<(), StoreError> {
        self.0.delete_alarm().await.map_err(failed)
    }
}
