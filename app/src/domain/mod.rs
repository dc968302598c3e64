//! Pure domain types shared by server and browser: parsing rules and the
//! metadata views the UI shows. Nothing here does I/O.

pub mod account;
pub mod audit;
pub mod description;
pub mod env_name;
pub mod ids;
pub mod jwt;
pub mod local_path;
pub mod namespace;
pub mod secret_key;
pub mod secret_value;
pub mod sso;
pub mod submitted;
pub mod tags;
pub mod time;
pub mod token;
pub mod view;
pub mod webhook;

pub use account::{Grant, Me, Password, PasswordError, Role, Scope, Username, UsernameError};
pub use description::{Description, DescriptionError};
pub use ids::{TokenId, UserId};
pub use namespace::{NamespacePath, NamespacePathError};
pub use secret_key::{SecretKey, SecretKeyError};
pub use secret_value::{SecretValue, SecretValueError};
pub use tags::{Tags, TagsError};
pub use time::Timestamp;
pub use token::{Expiry, TokenName, TokenView};
