//! Checked ids: [`DeviceId`] and [`ProfileId`]. Each is checked against the id allow-list
//! (`request::ids`) when it is made, so a bad id is refused where it is read, and the two kinds
//! are distinct types, so an operation's ids cannot be swapped without a compile error.

use std::borrow::Borrow;
use std::fmt;
use std::str::FromStr;

use crate::error::Error;
use crate::request::ids;

/// Defines one id newtype: its constructors all go through the allow-list.
macro_rules! checked_id {
    (
        $(#[$doc:meta])*
        $name:ident, $param:literal
    ) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            #[doc = concat!(
                "Checks `id` as the parameter `parameter`: a refusal names `parameter` (e.g. \
                 `assigned_device_id`) where [`str::parse`] names `", $param, "`."
            )]
            ///
            /// # Errors
            ///
            /// [`Error::InvalidInput`] (kind [`Id`](crate::InputErrorKind::Id)) when `id` is
            /// empty, longer than [`MAX_ID_LEN`](crate::MAX_ID_LEN), `.` or `..`, or has a
            /// character other than ASCII letters, digits, `-`, `_` and `.`.
            pub fn parse_as(
                parameter: &str,
                id: impl AsRef<str> + Into<String>,
            ) -> Result<Self, Error> {
                ids::check(parameter, id.as_ref())?;
                Ok(Self(id.into()))
            }

            /// The id as text.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id as an owned `String`.
            #[must_use]
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl FromStr for $name {
            type Err = Error;

            fn from_str(id: &str) -> Result<Self, Error> {
                Self::parse_as($param, id)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = Error;

            fn try_from(id: &str) -> Result<Self, Error> {
                Self::parse_as($param, id)
            }
        }

        impl TryFrom<String> for $name {
            type Error = Error;

            fn try_from(id: String) -> Result<Self, Error> {
                Self::parse_as($param, id)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        // Hash, Eq and Ord are those of the text, so a map keyed by the id can be searched by `&str`.
        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($name)).field(&self.0).finish()
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        // Deserializing checks too: an id read from a file is as untrusted as one typed in.
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let id = String::deserialize(deserializer)?;
                Self::try_from(id).map_err(serde::de::Error::custom)
            }
        }
    };
}

checked_id! {
    /// The id of a Windows Autopilot device identity (a GUID in Graph), checked when made: it
    /// may go in a request path.
    ///
    /// Made with [`str::parse`], [`TryFrom`] or [`DeviceId::parse_as`]; a refused id is
    /// [`Error::InvalidInput`] of kind [`Id`](crate::InputErrorKind::Id) naming `device_id`.
    ///
    /// ```
    /// use autopilot_resource_account::{DeviceId, InputErrorKind};
    ///
    /// let id: DeviceId = "7f9b6c1e-0000-4000-8000-000000000001".parse()?;
    /// assert_eq!(id.as_str(), "7f9b6c1e-0000-4000-8000-000000000001");
    /// assert_eq!(id.to_string(), id.as_str());
    ///
    /// let err = "../x".parse::<DeviceId>().unwrap_err();
    /// let autopilot_resource_account::Error::InvalidInput(input) = &err else { panic!("{err:?}") };
    /// assert_eq!((input.kind(), input.parameter()), (InputErrorKind::Id, Some("device_id")));
    /// assert_eq!(
    ///     err.to_string(),
    ///     r#"invalid input: device_id "../x" contains '/': ids are ASCII letters, digits, '-', '_' and '.'"#
    /// );
    /// # Ok::<(), autopilot_resource_account::Error>(())
    /// ```
    DeviceId, "device_id"
}

checked_id! {
    /// The id of a Windows Autopilot deployment profile, checked when made: it may go in a
    /// request path. A distinct type from [`DeviceId`], so the ids of
    /// [`assign_resource_account_to_deployment_profile_device`](crate::GraphClient::assign_resource_account_to_deployment_profile_device)
    /// cannot be swapped.
    ///
    /// Made with [`str::parse`], [`TryFrom`] or [`ProfileId::parse_as`]; a refused id is
    /// [`Error::InvalidInput`] of kind [`Id`](crate::InputErrorKind::Id) naming `profile_id`.
    ///
    /// ```
    /// use autopilot_resource_account::ProfileId;
    ///
    /// let profile = ProfileId::try_from("Profile_1.a-B")?;
    /// assert_eq!(profile.as_ref(), "Profile_1.a-B");
    /// assert!(ProfileId::try_from(String::new()).is_err());
    /// # Ok::<(), autopilot_resource_account::Error>(())
    /// ```
    ///
    /// The right order compiles:
    ///
    /// ```no_run
    /// use autopilot_resource_account::{DeviceId, GraphClient, ProfileId, ResourceAccountAssignment};
    ///
    /// # async fn run(client: GraphClient) -> Result<(), autopilot_resource_account::Error> {
    /// let profile: ProfileId = "profile-1".parse()?;
    /// let device: DeviceId = "7f9b6c1e-0000-4000-8000-000000000001".parse()?;
    /// client
    ///     .assign_resource_account_to_deployment_profile_device(&profile, &device, &ResourceAccountAssignment::new())
    ///     .await?;
    /// # Ok(()) }
    /// ```
    ///
    /// Swapped ids do not:
    ///
    /// ```compile_fail,E0308
    /// use autopilot_resource_account::{DeviceId, GraphClient, ProfileId, ResourceAccountAssignment};
    ///
    /// # async fn run(client: GraphClient) -> Result<(), autopilot_resource_account::Error> {
    /// let profile: ProfileId = "profile-1".parse()?;
    /// let device: DeviceId = "7f9b6c1e-0000-4000-8000-000000000001".parse()?;
    /// client
    ///     .assign_resource_account_to_deployment_profile_device(&device, &profile, &ResourceAccountAssignment::new())
    ///     .await?;
    /// # Ok(()) }
    /// ```
    ProfileId, "profile_id"
}
