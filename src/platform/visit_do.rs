//! `VisitorSession`, one Durable Object per (account, visit): wires the object's storage, the
//! measurement queue and the clock to the visit's logic ([`crate::session`], where what each
//! command does and why it is exact is written).

use super::bindings::{ObjectClass, Visit};
use super::http::respond;
use super::queue::FactsQueue;
use super::random_id;
use super::stored::ObjectStore;
use crate::faults::Faults;
use crate::session::VisitObject;
use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

/// The per-visit Durable Object.
#[durable_object]
pub struct VisitorSession {
    state: State,
    env: Env,
}

/// Test builds: the faults the worker forwarded for a root-authenticated request
/// (`X-Test-Fault`, docs/api.md); none in every other build.
fn test_faults(req: &Request) -> Result<Faults> {
    #[cfg(feature = "test-faults")]
    if let Some(named) = req.headers().get(super::bindings::TEST_FAULT)? {
        return Ok(Faults::parse(&named));
    }
    let _ = req;
    Ok(Faults::default())
}

impl VisitorSession {
    fn object<'a>(
        &self,
        store: &'a ObjectStore,
        queue: &'a FactsQueue<'a>,
        faults: &'a Faults,
    ) -> VisitObject<'a, ObjectStore, FactsQueue<'a>> {
        VisitObject {
            store,
            queue,
            real_ms: worker::Date::now().as_millis(),
            faults,
        }
    }

    fn queue<'a>(&'a self, store: &'a ObjectStore) -> FactsQueue<'a> {
        let _ = store;
        FactsQueue {
            env: &self.env,
            #[cfg(feature = "test-faults")]
            store,
        }
    }
}

impl DurableObject for VisitorSession {
    fn new(state: State, env: Env) -> Self {
        Self { state, env }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let faults = test_faults(&req)?;
        let Some(command) = Visit::parse(&req.method(), &req.path()) else {
            return Response::error("no such visit route", 404);
        };
        let body = req.bytes().await?;
        let store = ObjectStore(self.state.storage());
        let queue = self.queue(&store);
        let object = self.object(&store, &queue, &faults);
        respond(object.handle(&command, &body, &mut random_id).await)
    }

    async fn alarm(&self) -> Result<Response> {
        let store = ObjectStore(self.state.storage());
        let queue = self.queue(&store);
        let faults = Faults::default();
        if let Err(e) = self.object(&store, &queue, &faults).alarm().await {
            worker::console_error!("visit alarm failed, retried: {e:?}");
            return respond(Err(e));
        }
        Response::empty()
    }
}
