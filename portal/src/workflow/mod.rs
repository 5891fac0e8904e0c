//! The life of a request, free of IO: its states, who may move it on, the approval chain
//! from the catalog item's policy, and the quota it reserves while it waits.

pub mod approval;
pub mod reservation;
pub mod state;

pub use approval::{ApprovalStage, Denied, approval_stage, first_state, state_after_approval};
pub use reservation::{
    ImpactLine, QuotaRefusal, Reservation, Usage, UsageLine, check_reservation, impact, usage_lines,
};
pub use state::{RequestKind, RequestState};
