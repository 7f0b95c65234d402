//! The shapes every answer shares: `{"result": "success", …}` and the error
//! answer `{"result": "error", "message": …}`. Each endpoint's own answer is a
//! `#[derive(Serialize, ToSchema)]` struct next to its handler, with a
//! `result: Success` field; Canary-style answers list their fields in
//! alphabetical order (as the seed's answers have them), so `result` sits
//! among them where the alphabet puts it.

use serde::Serialize;
use utoipa::ToSchema;

/// The `result` of every successful answer: always `"success"`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Success {
    #[default]
    Success,
}

/// The `result` of every error answer: always `"error"`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Failure {
    #[default]
    Error,
}

/// A success answer with nothing else to say.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Done {
    pub result: Success,
}

/// Every error answer: what went wrong, naming the parameter when one is at fault.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Error)]
pub struct ErrorAnswer {
    pub result: Failure,
    pub message: String,
}
