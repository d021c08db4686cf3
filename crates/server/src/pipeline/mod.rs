//! From listeners to the store: messages become events in the listener's
//! task (`ingest`), travel in chunks over the bounded channel and are
//! committed in batches (`batcher`). Chunks and batches keep where their
//! events came from (`origin`); a shutdown waits a bounded time for a
//! failing store (`store_wait`). On `store.backend = "postgres"` the
//! writer appends to the node's chain in the database (`pg_sink`).
//!
//! ```text
//! listener task: parse + convert (ingest)
//!     -> mpsc channel of Vec<RawBackedEvent> chunks (pipeline.channel_capacity)
//!     -> batcher task (pipeline.batch_max_events or batch_max_delay_ms)
//!     -> store writer thread (owns the store; one transaction per batch)
//! ```

pub(crate) mod batcher;
pub(crate) mod ingest;
pub(crate) mod origin;
pub(crate) mod pg_sink;
pub(crate) mod sink;
pub(crate) mod store_wait;
