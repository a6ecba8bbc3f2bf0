//! Bulk assignment: many (target, assignment) items in, one outcome per item out.

use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::stream::{self, Stream, StreamExt};

use crate::api::client::GraphClient;
use crate::api::ids::{DeviceId, ProfileId};
use crate::error::Error;
use crate::generated::types::ResourceAccountAssignment;
use crate::request::options::Response;
use crate::request::throttle::{Bucket, RunPacing};

/// Concurrency of [`GraphClient::assign_many`] unless [`BulkOptions::with_concurrency`] says otherwise.
pub const DEFAULT_CONCURRENCY: usize = 8;

/// Which of the three operations an item goes through, with its checked ids.
///
/// ```
/// use autopilot_resource_account::Target;
///
/// let target = Target::device("7f9b6c1e-0000-4000-8000-000000000001".parse()?);
/// assert_eq!(target.path_device_id().as_str(), "7f9b6c1e-0000-4000-8000-000000000001");
/// let via = Target::DeviceViaDeploymentProfile {
///     device_id: "device-1".parse()?,
///     assigned_device_id: "assigned-1".parse()?,
/// };
/// assert_eq!(via.path_device_id().as_str(), "assigned-1");
/// # Ok::<(), autopilot_resource_account::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Target {
    /// [`GraphClient::assign_resource_account_to_device`].
    Device {
        /// Autopilot device identity id.
        device_id: DeviceId,
    },
    /// [`GraphClient::assign_resource_account_to_deployment_profile_device`].
    DeploymentProfileDevice {
        /// Deployment profile id.
        profile_id: ProfileId,
        /// Autopilot device identity id (among the profile's assigned devices).
        device_id: DeviceId,
    },
    /// [`GraphClient::assign_resource_account_to_device_via_deployment_profile`].
    DeviceViaDeploymentProfile {
        /// Autopilot device identity id.
        device_id: DeviceId,
        /// The assigned device's id under the device's deployment profile (a device identity
        /// id too).
        assigned_device_id: DeviceId,
    },
}

impl Target {
    /// The usual target: an Autopilot device identity.
    #[must_use]
    pub fn device(device_id: DeviceId) -> Self {
        Target::Device { device_id }
    }

    /// The device identity in the request path's last id segment: the device the assignment is
    /// for. That is `device_id` for [`Device`](Target::Device) and
    /// [`DeploymentProfileDevice`](Target::DeploymentProfileDevice), but `assigned_device_id`
    /// (not its own `device_id`) for
    /// [`DeviceViaDeploymentProfile`](Target::DeviceViaDeploymentProfile).
    #[must_use]
    pub fn path_device_id(&self) -> &DeviceId {
        match self {
            Target::Device { device_id } | Target::DeploymentProfileDevice { device_id, .. } => {
                device_id
            }
            Target::DeviceViaDeploymentProfile {
                assigned_device_id, ..
            } => assigned_device_id,
        }
    }
}

/// One input of [`GraphClient::assign_many`]: a caller-chosen key (an index, a CSV line, a
/// device id…) to match the outcome with, the target, and the assignment.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct BulkItem<K> {
    /// Yours: handed back unchanged in the [`Outcome`].
    pub key: K,
    /// Where the assignment goes.
    pub target: Target,
    /// What is assigned.
    pub assignment: ResourceAccountAssignment,
}

impl<K> BulkItem<K> {
    /// Bundles a key, a target and an assignment.
    pub fn new(key: K, target: Target, assignment: ResourceAccountAssignment) -> Self {
        Self {
            key,
            target,
            assignment,
        }
    }
}

/// What became of one [`BulkItem`]: the item itself, and success or the call's final error
/// (after the client's retries).
#[derive(Debug)]
#[non_exhaustive]
pub struct Outcome<K> {
    /// The input, handed back.
    pub item: BulkItem<K>,
    /// `Ok` when Graph accepted the assignment; otherwise the error the call ended with.
    pub result: Result<(), Error>,
    /// The success's `request-id` (an error keeps its own).
    accepted_request_id: Option<String>,
}

impl<K> Outcome<K> {
    /// An item and what became of it (for tests of code that consumes outcomes).
    pub fn new(item: BulkItem<K>, result: Result<(), Error>) -> Self {
        Self {
            item,
            result,
            accepted_request_id: None,
        }
    }

    /// Graph's `request-id` of the answer that ended the item: the success's, or the error's
    /// ([`Error::request_id`]). What Microsoft support asks for about one device.
    pub fn request_id(&self) -> Option<&str> {
        match &self.result {
            Ok(()) => self.accepted_request_id.as_deref(),
            Err(error) => error.request_id(),
        }
    }

    /// The caller's key of the item.
    pub fn key(&self) -> &K {
        &self.item.key
    }

    /// Whether Graph accepted the assignment.
    pub fn is_success(&self) -> bool {
        self.result.is_ok()
    }
}

/// A write limit the caller knows: `limit` requests per `per`, e.g. Intune's documented
/// 100 per 20 s. Used by [`BulkOptions::with_rate_hint`] and [`Pacing::Fixed`].
///
/// ```
/// use std::time::Duration;
/// use autopilot_resource_account::RateHint;
/// let intune = RateHint::new(100, Duration::from_secs(20));
/// assert_eq!(intune.per_second(), 5.0);
/// assert_eq!(intune.burst(), 100);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateHint {
    limit: u32,
    per: Duration,
}

impl RateHint {
    /// `limit` requests per `per` (clamped, not refused: a `limit` of 0 counts
    /// as 1, a `per` under one millisecond as one millisecond).
    pub fn new(limit: u32, per: Duration) -> Self {
        Self {
            limit: limit.max(1),
            per: per.max(Duration::from_millis(1)),
        }
    }

    /// The sustained rate, in requests per second.
    pub fn per_second(&self) -> f64 {
        f64::from(self.limit) / self.per.as_secs_f64()
    }

    /// The most requests sent back to back: the whole `limit`.
    pub fn burst(&self) -> u32 {
        self.limit
    }

    fn pair(&self) -> (f64, f64) {
        (self.per_second(), f64::from(self.limit))
    }
}

/// How [`GraphClient::assign_many`] paces its calls. The client-wide gate (a 429 pauses every
/// call) applies in every mode.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[non_exhaustive]
pub enum Pacing {
    /// The client's pacer learns what the server accepts from its 429s (the default); see
    /// [`BulkOptions::with_rate_hint`] to give it a head start.
    #[default]
    Adaptive,
    /// Exactly this rate (a token bucket of `limit` per `per`), never adapted.
    Fixed(RateHint),
    /// No pacing: only the bulk run's concurrency and the gate.
    Off,
}

/// Options of [`GraphClient::assign_many`].
///
/// ```
/// use std::time::Duration;
/// use autopilot_resource_account::{BulkOptions, Pacing, RateHint};
/// let options = BulkOptions::default().with_concurrency(4);
/// assert_eq!(options.concurrency(), 4);
/// // The tenant's limit is known: start paced at it, still adapting to what Graph answers.
/// let known = BulkOptions::default().with_rate_hint(RateHint::new(100, Duration::from_secs(20)));
/// assert_eq!(known.pacing(), Pacing::Adaptive);
/// let off = BulkOptions::default().with_pacing(Pacing::Off);
/// # let _ = (known, off);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BulkOptions {
    concurrency: usize,
    pacing: Pacing,
    rate_hint: Option<RateHint>,
}

impl Default for BulkOptions {
    fn default() -> Self {
        Self {
            concurrency: DEFAULT_CONCURRENCY,
            pacing: Pacing::Adaptive,
            rate_hint: None,
        }
    }
}

impl BulkOptions {
    /// Most calls in flight at once (default [`DEFAULT_CONCURRENCY`]; 0 is clamped
    /// to 1).
    /// The client's pacer, not this number, decides the request rate under throttling.
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// How calls are paced (default [`Pacing::Adaptive`]).
    pub fn with_pacing(mut self, pacing: Pacing) -> Self {
        self.pacing = pacing;
        self
    }

    /// The limit you know your tenant has: adaptive pacing starts at it instead of unpaced
    /// (when the client's pacer has learnt nothing yet), and still adapts to what Graph answers.
    pub fn with_rate_hint(mut self, hint: RateHint) -> Self {
        self.rate_hint = Some(hint);
        self
    }

    /// The configured concurrency.
    pub fn concurrency(&self) -> usize {
        self.concurrency
    }

    /// The configured pacing.
    pub fn pacing(&self) -> Pacing {
        self.pacing
    }

    /// The configured rate hint.
    pub fn rate_hint(&self) -> Option<RateHint> {
        self.rate_hint
    }

    /// `items`: how many items the run has, if it knows.
    fn run_pacing(&self, items: Option<usize>) -> RunPacing {
        match self.pacing {
            Pacing::Adaptive => RunPacing::Adaptive {
                hint: self.rate_hint.map(|h| h.pair()),
                left: items.map(AtomicUsize::new),
            },
            Pacing::Fixed(hint) => {
                let (rate, burst) = hint.pair();
                RunPacing::Fixed(Mutex::new(Bucket::new(rate, burst)))
            }
            Pacing::Off => RunPacing::Off,
        }
    }
}

impl GraphClient {
    /// Assigns many items, at most [`BulkOptions::with_concurrency`] at a time, and yields one
    /// [`Outcome`] per item as calls finish.
    ///
    /// Each item is one call of the matching operation method, so the client's retry policy,
    /// its tracing span and its throttling apply per item; all items share the client's
    /// throttle: one 429 pauses every call, and the pacer ([`BulkOptions::with_pacing`]) learns
    /// what Graph accepts (see the crate's `ARCHITECTURE.md`).
    ///
    /// # Guarantees
    ///
    /// - **Exactly one outcome per item**, once the stream is driven to its end: `Ok(())`, or the
    ///   error the call finally ended with (a Graph error after the retries, a transport
    ///   error…). No item is dropped and none is reported twice.
    /// - **Any order.** Outcomes arrive as calls finish; match them by [`BulkItem::key`].
    /// - **Bounded.** At most `concurrency` calls are in flight, and items are pulled from the
    ///   input only as slots free up, so a long input (a stream reading a large CSV) is never
    ///   buffered whole.
    /// - **Each item is sent by one call.** Retries of that call carry the same
    ///   `client-request-id`; the stream never sends an item again on its own.
    /// - **Lazy.** Nothing is sent until the stream is polled; calls progress only while it is
    ///   polled (as with any Rust stream).
    ///
    /// # Dropping the stream
    ///
    /// Dropping the stream stops everything: no new item is taken from the input and no new
    /// request is sent. Calls in flight at that moment are cancelled and yield no outcome; their
    /// last request may or may not have reached Graph (re-sending the same assignment later is
    /// harmless). To stop cleanly, stop feeding the input and drain the stream instead.
    ///
    /// ```no_run
    /// use autopilot_resource_account::{BulkItem, BulkOptions, GraphClient, ResourceAccountAssignment, Target};
    /// use futures_util::StreamExt;
    ///
    /// # async fn run() -> Result<(), autopilot_resource_account::Error> {
    /// let client = GraphClient::builder()
    ///     .bearer_token(std::env::var("GRAPH_TOKEN").expect("GRAPH_TOKEN"))
    ///     .build()?;
    /// let items = (0..20)
    ///     .map(|i| {
    ///         let device = format!("device-{i}").parse()?;
    ///         Ok(BulkItem::new(i, Target::device(device), ResourceAccountAssignment::default()))
    ///     })
    ///     .collect::<Result<Vec<_>, autopilot_resource_account::Error>>()?;
    /// let outcomes: Vec<_> = client.assign_many(items, BulkOptions::default()).collect().await;
    /// assert_eq!(outcomes.len(), 20);
    /// let failed = outcomes.iter().filter(|o| !o.is_success()).count();
    /// println!("{failed} of 20 failed");
    /// # Ok(()) }
    /// ```
    pub fn assign_many<K, I>(
        &self,
        items: I,
        options: BulkOptions,
    ) -> impl Stream<Item = Outcome<K>> + Send + 'static
    where
        I: IntoIterator<Item = BulkItem<K>>,
        I::IntoIter: Send + 'static,
        K: Send + 'static,
    {
        self.assign_stream(stream::iter(items), options)
    }

    /// [`assign_many`](Self::assign_many) for items that arrive as a stream (read from a file or
    /// a channel as the run goes); the same guarantees apply.
    pub fn assign_stream<K, S>(
        &self,
        items: S,
        options: BulkOptions,
    ) -> impl Stream<Item = Outcome<K>> + Send + 'static
    where
        S: Stream<Item = BulkItem<K>> + Send + 'static,
        K: Send + 'static,
    {
        // How many items the run has, when it knows (an iterator's count): the pacer weighs what
        // is left (see `throttle`).
        let known = items.size_hint().0;
        let run = Arc::new(options.run_pacing((known > 0).then_some(known)));
        // The run's pacing goes with its calls: this clone's hook state carries it, and the
        // hooks hand it to the throttle with every attempt (and spare the run's 429s a retry).
        let client = self.for_run(run.clone());
        items
            .map(move |item| {
                let client = client.clone();
                let run = run.clone();
                async move {
                    // Only the target and assignment are borrowed across the call, so the key
                    // needs to be `Send`, not `Sync`.
                    let BulkItem {
                        key,
                        target,
                        assignment,
                    } = item;
                    let sent = client.assign_to(&target, &assignment).await;
                    run.item_done();
                    let item = BulkItem {
                        key,
                        target,
                        assignment,
                    };
                    let (result, accepted_request_id) = match sent {
                        Ok(response) => (Ok(()), response.request_id().map(str::to_owned)),
                        Err(error) => (Err(error), None),
                    };
                    Outcome {
                        item,
                        result,
                        accepted_request_id,
                    }
                }
            })
            .buffer_unordered(options.concurrency.max(1))
    }

    /// One item through the operation method its target names.
    async fn assign_to(
        &self,
        target: &Target,
        assignment: &ResourceAccountAssignment,
    ) -> Result<Response<()>, Error> {
        match target {
            Target::Device { device_id } => {
                self.assign_resource_account_to_device(device_id, assignment)
                    .send()
                    .await
            }
            Target::DeploymentProfileDevice {
                profile_id,
                device_id,
            } => {
                self.assign_resource_account_to_deployment_profile_device(
                    profile_id, device_id, assignment,
                )
                .send()
                .await
            }
            Target::DeviceViaDeploymentProfile {
                device_id,
                assigned_device_id,
            } => {
                self.assign_resource_account_to_device_via_deployment_profile(
                    device_id,
                    assigned_device_id,
                    assignment,
                )
                .send()
                .await
            }
        }
    }
}
