//! Typed ids ([`crate::domain::ids`]) in and out of the database: stored as their text.

use sqlx::any::Any;
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, Encode, Type};

use crate::domain::ids::{
    ApprovalId, CheckoutId, ClockId, CreditNoteId, Id, InvitationId, InvoiceId, OrgId, StaffId,
    SubscriptionId, UserId,
};

/// A new random id of kind `T`, e.g. `org_4f1c…`.
pub fn new<T: Id>() -> T {
    T::from_trusted(super::new_id(T::PREFIX))
}

macro_rules! stored_as_text {
    ($($name:ty),+ $(,)?) => {$(
        impl Type<Any> for $name {
            fn type_info() -> <Any as Database>::TypeInfo {
                <String as Type<Any>>::type_info()
            }
        }

        impl Encode<'_, Any> for $name {
            fn encode_by_ref(&self, buf: &mut <Any as Database>::ArgumentBuffer) -> Result<IsNull, BoxDynError> {
                <&str as Encode<Any>>::encode(self.as_str(), buf)
            }
        }

        impl<'r> Decode<'r, Any> for $name {
            fn decode(value: <Any as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
                Ok(<$name as Id>::from_trusted(<String as Decode<Any>>::decode(value)?))
            }
        }
    )+};
}

stored_as_text!(
    OrgId,
    UserId,
    StaffId,
    SubscriptionId,
    InvoiceId,
    CheckoutId,
    CreditNoteId,
    ApprovalId,
    InvitationId,
    ClockId,
);
