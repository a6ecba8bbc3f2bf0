//! The account side of a link (issue 24): does the resource account exist, is it enabled, does
//! it hold a Teams Rooms licence? A room whose account fails one of these fails at sign-in,
//! after Autopilot, with someone standing in the room.

mod skus;

pub use skus::TEAMS_ROOMS_SKUS;

use crate::api::client::GraphClient;
use crate::error::Error;
use crate::generated::types::User;
use crate::request::call::{self, call_span};
use crate::request::ids;

/// `$select` of the user read: exactly what the check needs.
pub(crate) const USER_SELECT: &str =
    "id,userPrincipalName,displayName,accountEnabled,assignedLicenses";

/// What [`GraphClient::check_resource_account`] found about one account.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AccountStatus {
    /// Graph has no such user (`404` from `GET /users/{upn}`).
    NotFound,
    /// The account exists but `accountEnabled` is `false`: the room cannot sign in.
    Disabled,
    /// Enabled, but none of its licences is in [`TEAMS_ROOMS_SKUS`].
    NoTeamsRoomsLicense {
        /// The `skuPartNumber`s it has (its `skuId` when the tenant's list does not name it).
        licenses: Vec<String>,
    },
    /// Enabled and licensed for Teams Rooms.
    Licensed {
        /// The Teams Rooms `skuPartNumber` it has (the first of [`TEAMS_ROOMS_SKUS`] when several).
        license: String,
    },
}

/// The outcome of [`GraphClient::check_resource_account`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AccountCheck {
    /// The account as Graph spells it (as asked when Graph does not know it).
    pub user_principal_name: String,
    /// The user's object id, when found.
    pub id: Option<String>,
    /// `displayName`, when found.
    pub display_name: Option<String>,
    /// What the check found.
    pub status: AccountStatus,
}

impl AccountCheck {
    /// `true` when the account can sign in to a Teams Rooms device ([`AccountStatus::Licensed`]).
    pub fn is_usable(&self) -> bool {
        matches!(self.status, AccountStatus::Licensed { .. })
    }
}

impl GraphClient {
    /// Checks a Teams Rooms resource account before it is linked to a device: it exists, is
    /// enabled, and holds a Teams Rooms licence ([`TEAMS_ROOMS_SKUS`]).
    ///
    /// Sends `GET /users/{upn}?$select=id,userPrincipalName,displayName,accountEnabled,assignedLicenses`
    /// and, the first time an enabled account with licences is checked, `GET /subscribedSkus`
    /// to name its licences: the tenant's SKUs are read once per client (clones share them;
    /// concurrent first callers share one read; a failed read is tried again by the next call).
    /// The UPN goes in the path as it is (`'`, `+`, `-` and `@` need no encoding there).
    ///
    /// Permissions: `User.Read.All` and `Organization.Read.All` (or `Directory.Read.All` for
    /// both), application or delegated.
    ///
    /// ```no_run
    /// # async fn run(client: autopilot_resource_account::GraphClient) -> Result<(), autopilot_resource_account::Error> {
    /// use autopilot_resource_account::AccountStatus;
    /// let check = client.check_resource_account("room-101@contoso.com").await?;
    /// match check.status {
    ///     AccountStatus::Licensed { license } => println!("ok ({license})"),
    ///     other => println!("blocked: {other:?}"),
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] (kind
    /// [`UserPrincipalName`](crate::InputErrorKind::UserPrincipalName)) before anything is sent
    /// when the UPN cannot address a user by path (empty, too long, a character off the user-id
    /// allow-list, a leading `$`). A Graph
    /// error other than `404` on the user is returned as is: a token without the permissions
    /// above gives an error whose [`status`](Error::status) is `Some(403)`, from either read.
    pub async fn check_resource_account(
        &self,
        user_principal_name: &str,
    ) -> Result<AccountCheck, Error> {
        let upn = ids::check_user("user_principal_name", user_principal_name)?;
        let span = call_span!(GET_USER, user_id = upn);
        let call = self.generated().get_user(upn, Some(USER_SELECT));
        let user: User = match call::run(span, call::READ, Box::pin(call)).await {
            Ok(user) => user,
            Err(e) if e.status() == Some(404) => {
                return Ok(AccountCheck {
                    user_principal_name: upn.to_owned(),
                    id: None,
                    display_name: None,
                    status: AccountStatus::NotFound,
                });
            }
            Err(e) => return Err(e),
        };
        let status = self.status_of(&user).await?;
        Ok(AccountCheck {
            user_principal_name: user.user_principal_name.unwrap_or_else(|| upn.to_owned()),
            id: user.id,
            display_name: user.display_name,
            status,
        })
    }

    /// The status of a user Graph found.
    async fn status_of(&self, user: &User) -> Result<AccountStatus, Error> {
        if user.account_enabled == Some(false) {
            return Ok(AccountStatus::Disabled);
        }
        let sku_ids: Vec<&str> = user
            .assigned_licenses
            .iter()
            .filter_map(|l| l.sku_id.as_deref())
            .collect();
        if sku_ids.is_empty() {
            // Nothing to name: no need to read the tenant's SKUs.
            return Ok(AccountStatus::NoTeamsRoomsLicense {
                licenses: Vec::new(),
            });
        }
        let names = self.sku_names().await?;
        let licenses: Vec<String> = sku_ids
            .iter()
            .map(|id| {
                names
                    .get(&id.to_ascii_lowercase())
                    .cloned()
                    .unwrap_or_else(|| (*id).to_owned())
            })
            .collect();
        Ok(match skus::teams_rooms_license(&licenses) {
            Some(license) => AccountStatus::Licensed {
                license: license.to_owned(),
            },
            None => AccountStatus::NoTeamsRoomsLicense { licenses },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn select_is_exactly_the_generated_user_fields() {
        let spec: serde_json::Value =
            serde_json::from_str(include_str!("../../../spec/openapi.json")).unwrap();
        let mut fields: Vec<&str> = spec["components"]["schemas"]["User"]["properties"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut selected: Vec<&str> = USER_SELECT.split(',').collect();
        selected.sort_unstable();
        fields.sort_unstable();
        assert_eq!(selected, fields);
    }
}
