//! The measurement queue on the platform: a message ([`crate::measure::message::Message`])
//! as the queue carries it, the JSON text both its producers (the visit's object, the isolate's
//! offsite clicks, conversions, calls) and its consumer (`consumer.rs`) read with the same
//! serde_json code; and the queue as the visit's [`crate::session::Queue`].

use super::bindings;
use crate::measure::funnel::FactBatch;
use crate::measure::message::Message;
use crate::session::{Queue, StoreError};
use worker::wasm_bindgen::JsValue;
use worker::{Env, QueueContentType, RawMessageBuilder, SendMessage};

/// A measurement message as the queue carries it: its JSON text (content type `text`), read
/// back by [`read_message`].
fn message(m: &Message) -> worker::Result<SendMessage<JsValue>> {
    let text = serde_json::to_string(m).map_err(|e| worker::Error::RustError(e.to_string()))?;
    Ok(RawMessageBuilder::new(JsValue::from_str(&text))
        .build_with_content_type(QueueContentType::Text))
}

/// Sends one measurement message to the queue.
pub(super) async fn send(env: &Env, m: &Message) -> worker::Result<()> {
    env.queue(bindings::FACTS)?.send_raw(message(m)?).await
}

/// A measurement message from a queue message's body.
pub(super) fn read_message(body: &JsValue) -> worker::Result<Message> {
    let text = body
        .as_string()
        .ok_or_else(|| worker::Error::RustError("not a text message".into()))?;
    serde_json::from_str(&text).map_err(|e| worker::Error::RustError(e.to_string()))
}

/// The queue as a visit's object sends its facts to it.
pub struct FactsQueue<'a> {
    /// The worker's environment, where the queue is bound.
    pub env: &'a Env,
    /// Test builds: the object's storage, which [`crate::faults::Fault::HoldSend`] watches.
    #[cfg(feature = "test-faults")]
    pub store: &'a super::stored::ObjectStore,
}

impl Queue for FactsQueue<'_> {
    async fn send(&self, batch: FactBatch) -> Result<(), StoreError> {
        #[cfg(feature = "test-faults")]
        if batch.fault == Some(crate::faults::Fault::HoldSend) {
            self.hold().await?;
        }
        send(self.env, &Message::Facts(batch))
            .await
            .map_err(|e| StoreError(format!("queue: {e}")))
    }
}

#[cfg(feature = "test-faults")]
impl FactsQueue<'_> {
    /// Test builds ([`crate::faults::Fault::HoldSend`]): waits, as a slow send would, until a
    /// request of the visit has added facts to the outbox (at most 10 s). Other requests are
    /// delivered meanwhile: a timer, like the queue's send, is not storage.
    async fn hold(&self) -> Result<(), StoreError> {
        use crate::session::{Store, OUTBOX};
        let before = self.store.texts(OUTBOX, None).await?.len();
        worker::console_log!("measurement: send held (test fault)");
        for _ in 0..1_000 {
            if self.store.texts(OUTBOX, None).await?.len() > before {
                break;
            }
            worker::Delay::from(std::time::Duration::from_millis(10)).await;
        }
        Ok(())
    }
}
