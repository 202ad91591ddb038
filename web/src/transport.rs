//! How the page talks to the engine host: a web worker. Builds with the
//! `main-thread-engine` feature (the in-browser tests, whose harness serves
//! no worker script) can also run the host on the page's thread (replies
//! still arrive asynchronously, so the reducer never re-enters itself);
//! without it the page's wasm links no engine at all.

#[cfg(feature = "main-thread-engine")]
use std::cell::RefCell;
use std::rc::Rc;

use gloo::worker::{Codec, HandlerId, Registrable, Spawnable, Worker, WorkerBridge, WorkerScope};
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsValue;

use crate::host::Host;
use crate::protocol::{FromHost, ToHost};

/// The worker script trunk emits for the `tailsim-worker` binary, relative
/// to the page (so an embedded page finds it beside itself).
pub const WORKER_SCRIPT: &str = "./tailsim-worker.js";

/// The engine host as a gloo worker.
pub struct EngineWorker {
    host: Host,
}

impl Worker for EngineWorker {
    type Message = ();
    type Input = ToHost;
    type Output = FromHost;

    fn create(_scope: &WorkerScope<Self>) -> Self {
        EngineWorker { host: Host::new() }
    }

    fn update(&mut self, _scope: &WorkerScope<Self>, _msg: ()) {}

    fn received(&mut self, scope: &WorkerScope<Self>, msg: ToHost, id: HandlerId) {
        for out in self.host.handle(msg) {
            scope.respond(id, out);
        }
    }
}

/// Messages cross as plain JS objects (serde-wasm-bindgen): NaN and
/// infinities survive, and u64 counters above 2^53 travel as BigInt.
pub struct JsCodec;

impl Codec for JsCodec {
    fn encode<I: Serialize>(input: I) -> JsValue {
        let ser =
            serde_wasm_bindgen::Serializer::new().serialize_large_number_types_as_bigints(true);
        input
            .serialize(&ser)
            .expect("protocol messages serialise to JS")
    }

    fn decode<O: for<'de> Deserialize<'de>>(input: JsValue) -> O {
        serde_wasm_bindgen::from_value(input).expect("protocol messages deserialise from JS")
    }
}

/// Called by the worker binary.
pub fn register_worker() {
    console_error_panic_hook::set_once();
    EngineWorker::registrar().encoding::<JsCodec>().register();
}

/// The page's end of the connection.
pub enum Transport {
    Worker(WorkerBridge<EngineWorker>),
    #[cfg(feature = "main-thread-engine")]
    Local {
        host: Rc<RefCell<Host>>,
        on_reply: Rc<dyn Fn(FromHost)>,
    },
}

impl Transport {
    /// Starts the engine worker; replies go to `on_reply`.
    pub fn worker(on_reply: Rc<dyn Fn(FromHost)>) -> Transport {
        let bridge = EngineWorker::spawner()
            .callback(move |out| on_reply(out))
            .encoding::<JsCodec>()
            .spawn(WORKER_SCRIPT);
        Transport::Worker(bridge)
    }

    /// The host in a worker, or on this thread when `worker` is false and
    /// the build has the engine on the page (`main-thread-engine`).
    pub fn start(worker: bool, on_reply: Rc<dyn Fn(FromHost)>) -> Transport {
        #[cfg(feature = "main-thread-engine")]
        if !worker {
            return Transport::local(on_reply);
        }
        let _ = worker;
        Transport::worker(on_reply)
    }

    /// The host on this thread, when the worker does not answer: only in
    /// builds with the engine on the page.
    pub fn fallback(on_reply: Rc<dyn Fn(FromHost)>) -> Option<Transport> {
        #[cfg(feature = "main-thread-engine")]
        return Some(Transport::local(on_reply));
        #[cfg(not(feature = "main-thread-engine"))]
        {
            let _ = on_reply;
            None
        }
    }

    /// Runs the host on this thread (tests, or no worker support).
    #[cfg(feature = "main-thread-engine")]
    pub fn local(on_reply: Rc<dyn Fn(FromHost)>) -> Transport {
        Transport::Local {
            host: Rc::new(RefCell::new(Host::new())),
            on_reply,
        }
    }

    pub fn is_worker(&self) -> bool {
        matches!(self, Transport::Worker(_))
    }

    pub fn send(&self, msg: ToHost) {
        match self {
            Transport::Worker(bridge) => bridge.send(msg),
            #[cfg(feature = "main-thread-engine")]
            Transport::Local { host, on_reply } => {
                let (host, on_reply) = (host.clone(), on_reply.clone());
                gloo::timers::callback::Timeout::new(0, move || {
                    let replies = host.borrow_mut().handle(msg);
                    for r in replies {
                        on_reply(r);
                    }
                })
                .forget();
            }
        }
    }
}
