//! Messages to a visit's object sent after the answer has gone out, so that the request
//! waits on no object: an eligible offsite click's landing visit (R-O2) and a decision the
//! worker made without the visit ([`crate::engine::visit::decide_carried`]). Their readers
//! wait briefly for what such a message writes ([`awaiting`]).

use super::bindings::{self, Visit};
use super::pause;
use crate::engine::events::CONTEXT_WAIT_MS;
use crate::faults::{Fault, Faults, HandoffFault, HandoffOf};
use std::future::Future;
use worker::{Context, Env};

/// Reads with `read` until `found` holds for what it read, pausing [`CONTEXT_WAIT_MS`] between
/// reads: for a context that a hand-off may not have written yet. The last read stands.
pub async fn awaiting<T, E, F>(
    mut read: impl FnMut() -> F,
    found: impl Fn(&T) -> bool,
) -> Result<T, E>
where
    F: Future<Output = Result<T, E>>,
{
    for ms in CONTEXT_WAIT_MS {
        let got = read().await?;
        if found(&got) {
            return Ok(got);
        }
        pause(ms).await;
    }
    read().await
}

/// Pauses before a hand-off is sent again, when an attempt got no answer or a 5xx: three
/// attempts in all, the last 400 ms after the first, inside the readers' wait. The visit's
/// object applies a hand-off once, however often it is sent.
const RETRY_MS: [u64; 2] = [100, 300];

/// How late a `-late` fault sends the hand-off: later than the readers' first read, sooner than
/// their last.
const LATE_MS: u64 = 400;

/// Sends `text` as `command` to the visit object `instance` after the answer (`wait_until`).
/// `wait_until` would start the message at once, and where the object shares the isolate's
/// thread (local workerd) the answer then waited behind its start; the message therefore first
/// yields one turn of the event loop (a 0-ms timer), which costs nothing where the object runs
/// elsewhere. An attempt that gets no answer or a 5xx is sent again after each of
/// [`RETRY_MS`]; a 4xx (a message the object refuses) is not. `what` names the hand-off in the
/// log, which says when it is lost. Test builds: `fault` is what the request's `X-Test-Fault`
/// names for this kind of hand-off (`late`: sent [`LATE_MS`] after the answer; `lost`: never;
/// on the first attempt, `refused-once` makes the object fail before it writes anything and
/// `answer-lost` after it has written).
pub fn after_answer(
    env: &Env,
    ctx: &Context,
    instance: String,
    (command, kind): (Visit, HandoffOf),
    text: String,
    what: &'static str,
    fault: Option<HandoffFault>,
) {
    if fault == Some(HandoffFault::Lost) {
        return;
    }
    let env = env.clone();
    ctx.wait_until(async move {
        let late = if fault == Some(HandoffFault::Late) {
            LATE_MS
        } else {
            0
        };
        pause(late).await;
        send(&env, &instance, (&command, kind), &text, what, fault).await;
    });
}

async fn send(
    env: &Env,
    instance: &str,
    (command, kind): (&Visit, HandoffOf),
    text: &str,
    what: &str,
    fault: Option<HandoffFault>,
) {
    let mut pauses = RETRY_MS.iter();
    let mut attempt = 1;
    loop {
        let object_fault = match fault {
            Some(HandoffFault::RefusedOnce) if attempt == 1 => Some(Fault::VisitThrows),
            Some(HandoffFault::AnswerLost) if attempt == 1 => {
                Some(Fault::Handoff(kind, HandoffFault::AnswerLost))
            }
            _ => None,
        };
        let forwarded = object_fault.and_then(|f| Faults::from(f).header());
        let headers = forwarded.as_deref().map(|f| [(bindings::TEST_FAULT, f)]);
        let headers: &[(&str, &str)] = headers.as_ref().map_or(&[], |h| h);
        let failure =
            match bindings::send::<_, ()>(env, instance, command, headers, Some(text)).await {
                Ok(()) => return,
                Err(e) => match e.status() {
                    Some(status) if status < 500 => {
                        worker::console_error!("{what} not recorded: {status}");
                        return;
                    }
                    Some(status) => status.to_string(),
                    None => format!("{e:?}"),
                },
            };
        let Some(&wait) = pauses.next() else {
            worker::console_error!("{what} not recorded after {attempt} attempts: {failure}");
            return;
        };
        worker::console_warn!("{what}, attempt {attempt}: {failure}");
        pause(wait).await;
        attempt += 1;
    }
}
