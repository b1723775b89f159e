//! The order state machine. Every change of an order's state is a
//! [`Transition`] checked here; nothing else decides what may follow what.
//!
//! ```text
//!   1 accepted ──▶ 2 code assigned ──▶ 5 code issued ──▶ 8 claimed paid
//!                                        │   ▲            │
//!                                        │   └─ rejected ─┤
//!                                        ▼                ▼
//!   1,2,5,8 ──expire──▶ -1 ──late payment confirmed──▶ 9 confirmed (terminal)
//!   1,2,5,8 ──close───▶ -2 (terminal)          5,8 ──confirm──▶ 9
//! ```

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "i32", try_from = "i32")]
pub enum OrderState {
    Accepted,
    CodeAssigned,
    CodeIssued,
    Claimed,
    Confirmed,
    Expired,
    Closed,
}

/// Why an order changes state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transition {
    AssignCode,
    IssueCode,
    /// The customer says they have paid.
    Claim,
    /// The payee (operator) says the claim was wrong: back to waiting.
    RejectClaim,
    /// The payee's side saw the money.
    Confirm,
    Expire,
    Close,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("order in state {from} cannot {transition:?}")]
pub struct TransitionError {
    pub from: OrderState,
    pub transition: Transition,
}

impl OrderState {
    pub fn code(self) -> i32 {
        match self {
            OrderState::Accepted => 1,
            OrderState::CodeAssigned => 2,
            OrderState::CodeIssued => 5,
            OrderState::Claimed => 8,
            OrderState::Confirmed => 9,
            OrderState::Expired => -1,
            OrderState::Closed => -2,
        }
    }

    pub fn from_code(code: i32) -> Option<OrderState> {
        Some(match code {
            1 => OrderState::Accepted,
            2 => OrderState::CodeAssigned,
            5 => OrderState::CodeIssued,
            8 => OrderState::Claimed,
            9 => OrderState::Confirmed,
            -1 => OrderState::Expired,
            -2 => OrderState::Closed,
            _ => return None,
        })
    }

    /// Every state, in code order of the lifecycle.
    pub const ALL: &'static [OrderState] = &[
        OrderState::Accepted,
        OrderState::CodeAssigned,
        OrderState::CodeIssued,
        OrderState::Claimed,
        OrderState::Confirmed,
        OrderState::Expired,
        OrderState::Closed,
    ];

    /// Waiting for money: the payable amount is reserved and the order can still be paid.
    pub const OPEN: &'static [OrderState] = &[OrderState::Accepted, OrderState::CodeAssigned, OrderState::CodeIssued, OrderState::Claimed];

    /// Can still take a payment: open, or expired (a late payment within
    /// the quarantine, which whoever asks checks against the time).
    pub const PAYABLE: &'static [OrderState] =
        &[OrderState::Accepted, OrderState::CodeAssigned, OrderState::CodeIssued, OrderState::Claimed, OrderState::Expired];

    /// No longer open: expired, closed or confirmed.
    pub const ENDED: &'static [OrderState] = &[OrderState::Expired, OrderState::Closed, OrderState::Confirmed];

    /// In [`OrderState::OPEN`].
    pub fn is_open(self) -> bool {
        OrderState::OPEN.contains(&self)
    }

    /// In [`OrderState::PAYABLE`].
    pub fn is_payable(self) -> bool {
        OrderState::PAYABLE.contains(&self)
    }

    /// What the checkout page shows: the code, waiting for the money —
    /// issued (5) or claimed by the customer (8).
    pub fn is_waiting(self) -> bool {
        matches!(self, OrderState::CodeIssued | OrderState::Claimed)
    }

    /// The customer said they paid; the payee has not confirmed yet (8).
    pub fn is_claimed(self) -> bool {
        self == OrderState::Claimed
    }

    /// Paid: the payee's side saw the money (9).
    pub fn is_paid(self) -> bool {
        self == OrderState::Confirmed
    }

    /// Its time ran out unpaid (-1).
    pub fn is_expired(self) -> bool {
        self == OrderState::Expired
    }

    /// A set of states as the codes of an SQL list, `1, 2, 5, 8`, for query
    /// text (`state IN (…)`); the codes are integers, never user input.
    pub fn sql_list(states: &[OrderState]) -> String {
        states.iter().map(|s| s.code().to_string()).collect::<Vec<_>>().join(", ")
    }

    /// The single place that says which transition leads where.
    pub fn apply(self, transition: Transition) -> Result<OrderState, TransitionError> {
        use OrderState::*;
        use Transition::*;
        let next = match (self, transition) {
            (Accepted, AssignCode) => CodeAssigned,
            (CodeAssigned, IssueCode) => CodeIssued,
            (CodeIssued, Claim) => Claimed,
            (Claimed, RejectClaim) => CodeIssued,
            (CodeIssued | Claimed | Expired, Confirm) => Confirmed,
            (Accepted | CodeAssigned | CodeIssued | Claimed, Expire) => Expired,
            (Accepted | CodeAssigned | CodeIssued | Claimed, Close) => Closed,
            (from, transition) => return Err(TransitionError { from, transition }),
        };
        Ok(next)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            OrderState::Accepted | OrderState::CodeAssigned => "已接单、未出码",
            OrderState::CodeIssued => "已接单、已出码",
            OrderState::Claimed => "已付款、待确认",
            OrderState::Confirmed => "已确认完成支付",
            OrderState::Expired => "已过期",
            OrderState::Closed => "已关闭",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            OrderState::Accepted => "accepted, no code yet",
            OrderState::CodeAssigned => "receiving code assigned",
            OrderState::CodeIssued => "waiting for payment",
            OrderState::Claimed => "paid, waiting for confirmation",
            OrderState::Confirmed => "payment confirmed",
            OrderState::Expired => "expired unpaid",
            OrderState::Closed => "closed",
        }
    }
}

impl From<OrderState> for i32 {
    fn from(s: OrderState) -> i32 {
        s.code()
    }
}

impl TryFrom<i32> for OrderState {
    type Error = String;
    fn try_from(v: i32) -> Result<Self, Self::Error> {
        OrderState::from_code(v).ok_or_else(|| format!("unknown order state {v}"))
    }
}

impl fmt::Display for OrderState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::OrderState::*;
    use super::Transition::*;
    use super::*;

    #[test]
    fn happy_path() {
        let s = Accepted.apply(AssignCode).and_then(|s| s.apply(IssueCode)).unwrap();
        assert_eq!(s, CodeIssued);
        assert_eq!(s.apply(Claim).unwrap().apply(Confirm).unwrap(), Confirmed);
    }

    #[test]
    fn terminal_states_stay() {
        for t in [AssignCode, IssueCode, Claim, RejectClaim, Confirm, Expire, Close] {
            assert!(Confirmed.apply(t).is_err());
            assert!(Closed.apply(t).is_err());
        }
        assert_eq!(Expired.apply(Confirm), Ok(Confirmed));
        assert!(Expired.apply(Claim).is_err());
    }

    #[test]
    fn codes_round_trip() {
        for s in [Accepted, CodeAssigned, CodeIssued, Claimed, Confirmed, Expired, Closed] {
            assert_eq!(OrderState::from_code(s.code()), Some(s));
        }
        assert_eq!(OrderState::from_code(3), None);
    }

    #[test]
    fn the_sets_and_their_sql() {
        assert_eq!(OrderState::sql_list(OrderState::OPEN), "1, 2, 5, 8");
        assert_eq!(OrderState::sql_list(OrderState::PAYABLE), "1, 2, 5, 8, -1");
        assert_eq!(OrderState::sql_list(OrderState::ENDED), "-1, -2, 9");
        for s in OrderState::ALL.iter().copied() {
            assert_eq!(s.is_open(), !OrderState::ENDED.contains(&s), "{s}: open or ended, never both");
            assert_eq!(s.is_payable(), s.is_open() || s == Expired, "{s}");
        }
        assert_eq!(OrderState::ALL.len(), 7);
    }
}
