//! Job handlers and the registry that picks one by job type.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use grape_api::JobType;
use serde_json::Value;

use crate::{JobContext, JobError};

/// Runs one type of job.
///
/// A handler reads its payload from `ctx.job.payload`, writes what it does to `ctx.log`, stops
/// promptly when `ctx.cancel` fires (returning [`JobError::Cancelled`]) and returns the job's
/// result document on success.
#[async_trait]
pub trait JobHandler: Send + Sync {
    /// Runs the job to its end.
    async fn run(&self, ctx: &JobContext) -> Result<Option<Value>, JobError>;
}

/// The handlers a runtime offers, keyed by job type. The worker advertises exactly these types
/// to Trellis, so it is never offered a job it cannot run.
#[derive(Clone, Default)]
pub struct HandlerRegistry {
    handlers: HashMap<JobType, Arc<dyn JobHandler>>,
}

impl std::fmt::Debug for HandlerRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HandlerRegistry")
            .field("job_types", &self.job_types())
            .finish()
    }
}

impl HandlerRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the handler of `job_type`.
    pub fn register(&mut self, job_type: JobType, handler: impl JobHandler + 'static) -> &mut Self {
        self.handlers.insert(job_type, Arc::new(handler));
        self
    }

    /// The handler of `job_type`, if any.
    pub fn get(&self, job_type: &JobType) -> Option<Arc<dyn JobHandler>> {
        self.handlers.get(job_type).cloned()
    }

    /// The job types this registry handles, sorted by name.
    pub fn job_types(&self) -> Vec<JobType> {
        let mut types: Vec<JobType> = self.handlers.keys().cloned().collect();
        types.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        types
    }
}
