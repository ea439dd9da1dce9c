//! Pages and widgets: `portal` for customers, `support` for staff, `components` shared.

pub mod components;
pub mod islands;
pub mod portal;
pub mod support;
