//! Everything the gateway and the collector must agree on: money in integer
//! fen, channels, the order state machine, identifiers, signatures and the
//! collector link's wire types. One copy, used by both sides.

pub mod actor;
pub mod amount;
pub mod channel;
pub mod collector;
pub mod dialect;
pub mod error_code;
pub mod ids;
pub mod json;
#[cfg(feature = "qr")]
pub mod qr_image;
pub mod secret;
pub mod shop_sign;
pub mod sign;
pub mod state;
pub mod wire;

pub use actor::Actor;
pub use amount::{AmountError, Fen};
pub use channel::Channel;
pub use dialect::Dialect;
pub use error_code::{CollectorErrorCode, ErrorCode};
pub use ids::{DeviceId, MerchantId, ObservationId, OrderId, OrderNo};
pub use secret::Secret;
pub use state::{OrderState, Transition, TransitionError};
pub use wire::Wire;
