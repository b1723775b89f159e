//! Storage for the gateway. [`Store`] is the only way the gateway reads or
//! writes durable state; each backend (`jiufu-store-sqlite`,
//! `jiufu-store-postgres`) lives in its own crate with its own migrations
//! and runs the shared suite in [`testsuite`].
//!
//! Money is integer fen and times are epoch seconds throughout.

mod effects;
mod records;
#[cfg(feature = "testsuite")]
pub mod testsuite;
mod transfer;

pub use effects::*;
pub use records::*;
pub use transfer::*;

use async_trait::async_trait;
use jiufu_protocol::{Actor, MerchantId, OrderId, OrderNo, OrderState, Transition, TransitionError};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// A uniqueness rule of the schema stopped the write; which one.
    #[error("{0} is already taken")]
    Duplicate(Unique),
    /// The data changed underneath (another writer), or the request does
    /// not fit it (an import into a database that is not empty).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The payment evidence (a collector's observation id) already
    /// confirmed another order of the same merchant.
    #[error("evidence {0:?} already confirmed another order")]
    EvidenceUsed(String),
    /// The database itself failed; the cause is kept for the log.
    #[error("storage failure: {context}")]
    Backend {
        context: String,
        #[source]
        source: Option<BoxError>,
    },
}

pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The uniqueness rules of the schema, named by what they protect. Each
/// backend maps its own constraint (or index) names to these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unique {
    Merchant,
    /// (merchant, order number)
    OrderNo,
    /// (merchant, channel, payable amount) of the orders holding one
    PayableAmount,
    /// (merchant, evidence id) of confirmed orders
    Evidence,
    /// A rule this program has no name for (its own words).
    Other(String),
}

impl std::fmt::Display for Unique {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unique::Merchant => f.write_str("the merchant id"),
            Unique::OrderNo => f.write_str("the order number"),
            Unique::PayableAmount => f.write_str("the payable amount"),
            Unique::Evidence => f.write_str("the payment evidence"),
            Unique::Other(name) => write!(f, "a unique value ({name})"),
        }
    }
}

impl StoreError {
    /// A failure of the database, keeping `source` as its cause.
    pub fn backend(source: impl Into<BoxError>) -> StoreError {
        let source = source.into();
        StoreError::Backend { context: source.to_string(), source: Some(source) }
    }

    /// A failure described in words, with `source` as its cause.
    pub fn context(context: impl Into<String>, source: impl Into<BoxError>) -> StoreError {
        StoreError::Backend { context: context.into(), source: Some(source.into()) }
    }

    /// A failure with no underlying error to keep.
    pub fn failure(context: impl Into<String>) -> StoreError {
        StoreError::Backend { context: context.into(), source: None }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[async_trait]
pub trait Store: Send + Sync + 'static {
    // --- merchants -------------------------------------------------------
    async fn create_merchant(&self, new: NewMerchant, now: i64) -> Result<Merchant>;
    async fn merchant(&self, id: MerchantId) -> Result<Option<Merchant>>;
    async fn merchants(&self) -> Result<Vec<Merchant>>;
    /// Replaces a merchant's settings; [`StoreError::NotFound`] for no such merchant.
    async fn set_merchant_settings(&self, id: MerchantId, settings: MerchantSettings) -> Result<Merchant>;

    // --- receiving codes -------------------------------------------------
    async fn add_code(&self, new: NewCode, now: i64) -> Result<Code>;
    async fn codes(&self, merchant_id: MerchantId) -> Result<Vec<Code>>;
    /// Replaces every code that came from `device_id` with `codes`.
    async fn replace_device_codes(&self, merchant_id: MerchantId, device_id: &str, codes: Vec<NewCode>, now: i64) -> Result<usize>;

    // --- orders ----------------------------------------------------------
    /// Creates an order in one transaction: idempotency check on
    /// (merchant, order_no), choice of the first free payable amount among
    /// `new.candidates` (with a code for it), insert, and the creation event.
    /// Amounts of expired orders stay taken until [`Store::expire_due`]
    /// releases them after their quarantine.
    async fn create_order(&self, new: NewOrder, now: i64) -> Result<CreateOutcome>;
    async fn order(&self, id: &OrderId) -> Result<Option<Order>>;
    async fn order_by_no(&self, merchant_id: MerchantId, order_no: &OrderNo) -> Result<Option<Order>>;
    async fn orders(&self, filter: OrderFilter) -> Result<Vec<Order>>;
    /// Applies a state-machine transition. A transition to 9 also records
    /// the payment and enqueues the merchant notification in the same
    /// transaction.
    async fn transition(&self, id: &OrderId, change: StateChange, now: i64) -> Result<TransitionOutcome>;
    /// Expires every open order whose time is up and releases the amount
    /// slots whose quarantine is over. Returns the orders it expired.
    async fn expire_due(&self, now: i64) -> Result<Vec<Order>>;
    /// Retention: deletes history older than `before` (epoch seconds) —
    /// events of finished orders, notification attempts of settled
    /// notifications, unmatched-payment reports — and nonces past their
    /// expiry at `now`. Orders themselves are kept.
    async fn purge(&self, before: i64, now: i64) -> Result<Purged>;
    /// Order changes after `after` for one merchant, oldest first. A change
    /// is handed out once every writing transaction that began before its
    /// own has ended (so a cursor never skips one committed late): with
    /// other writers on the database server, a moment after its commit.
    async fn order_events(&self, merchant_id: MerchantId, after: i64, limit: usize) -> Result<Vec<(i64, Order)>>;
    async fn last_event_seq(&self) -> Result<i64>;
    async fn order_history(&self, id: &OrderId) -> Result<Vec<OrderEvent>>;

    // --- notifications (outbox) -----------------------------------------
    /// Notifications due at `now`, oldest first, taken for this caller: a
    /// backend shared by several gateway instances hands each due row to
    /// one of them until its attempt is recorded (or a lease runs out).
    async fn due_notifications(&self, now: i64, limit: usize) -> Result<Vec<Notification>>;
    async fn record_attempt(&self, attempt: NotifyAttempt, next: NotifyNext) -> Result<()>;
    async fn notification(&self, order_id: &OrderId) -> Result<Option<Notification>>;
    async fn notify_attempts(&self, order_id: &OrderId) -> Result<Vec<NotifyAttempt>>;
    /// Makes a notification due now again (operator resend).
    async fn resend_notification(&self, order_id: &OrderId, now: i64) -> Result<()>;

    // --- collectors ------------------------------------------------------
    async fn create_pairing_token(&self, token_hash: &str, merchant_id: MerchantId, expires_at: i64, now: i64) -> Result<()>;
    /// Uses a pairing token once and creates the device it pairs.
    async fn redeem_pairing_token(&self, token_hash: &str, device: NewDevice, now: i64) -> Result<Option<Device>>;
    async fn device(&self, id: &str) -> Result<Option<Device>>;
    async fn devices(&self, merchant_id: MerchantId) -> Result<Vec<Device>>;
    /// Records a request nonce; false when it was seen before (a replay).
    async fn use_nonce(&self, device_id: &str, nonce: &str, expires_at: i64, now: i64) -> Result<bool>;
    /// Marks the device seen at `now` with its sources and the collector
    /// version it reported (already checked by the caller: short, printable).
    async fn heartbeat(&self, device_id: &str, sources_json: &str, version: &str, now: i64) -> Result<()>;
    /// Idempotent on (device, observation id).
    async fn record_unmatched(&self, payment: UnmatchedPayment) -> Result<bool>;
    async fn unmatched(&self, merchant_id: MerchantId) -> Result<Vec<UnmatchedPayment>>;

    // --- moving a shop between backends ------------------------------------
    /// Every row, read in one consistent pass.
    async fn export(&self) -> Result<Dump>;
    /// Writes `dump` into this store in one transaction, keeping ids and
    /// sequence numbers; refuses a store that already holds a merchant.
    /// Returns the counts read back afterwards.
    async fn import(&self, dump: Dump) -> Result<Counts>;

    // --- other writers ------------------------------------------------------
    /// A counter that moves whenever another process sharing this store
    /// (another gateway instance) commits a change of an order, so that
    /// long polls and the notifier here wake at once. `None` for a store
    /// with no such writers to hear.
    fn changes(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        None
    }
}

impl StateChange {
    pub fn new(transition: Transition, actor: Actor) -> Self {
        StateChange { transition, actor, reason: String::new(), payment: None }
    }

    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = reason.into();
        self
    }

    pub fn payment(mut self, payment: PaymentRecord) -> Self {
        self.payment = Some(payment);
        self
    }

    /// True when this is the confirmation that already moved `order` to 9
    /// (the same evidence again): every backend answers it with
    /// [`TransitionOutcome::AlreadyApplied`] and changes nothing.
    pub fn repeats(&self, order: &Order) -> bool {
        self.transition == Transition::Confirm
            && order.state == OrderState::Confirmed
            && self.payment.as_ref().is_some_and(|p| Some(&p.evidence_id) == order.evidence_id.as_ref())
    }
}
