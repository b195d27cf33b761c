//! Who authenticates: a consumer user or a B2B member. The authentication kernel (lock, consume,
//! session, response) handles both through this one type; only the products that prove a
//! factor know which one they have.

use crate::ids::{MemberId, UserId};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PrincipalId {
    User(UserId),
    Member(MemberId),
}

impl PrincipalId {
    pub fn as_str(&self) -> &str {
        match self {
            PrincipalId::User(id) => id.as_str(),
            PrincipalId::Member(id) => id.as_str(),
        }
    }
}
