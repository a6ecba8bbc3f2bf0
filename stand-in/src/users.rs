//! The stand-in's directory: users (resource accounts) and the tenant's subscribed SKUs, for
//! the account check (`GET /users/{id}`, `GET /subscribedSkus`).
//!
//! Modelled on Graph: a user is found by UPN (case-insensitive) or object id; an unknown one
//! is `404 Request_ResourceNotFound`; `$select` is honoured, and without it a user read returns
//! only Graph's default properties (so neither `accountEnabled` nor `assignedLicenses`); a
//! refused read is `403 Authorization_RequestDenied`. The tenant subscribes, by default, to
//! Teams Rooms Pro, Teams Rooms Basic and Microsoft 365 E5, with Microsoft's published skuIds.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use autopilot_resource_account_stand_in::{StandIn, StandInUser};
//! use autopilot_resource_account::{AccountStatus, GraphClient};
//!
//! let graph = StandIn::start().await?;
//! graph.add_user(StandInUser::new("room-1@contoso.com").license("Microsoft_Teams_Rooms_Pro"));
//! let client = GraphClient::builder().base_url(&graph.base_url()).bearer_token("t").build()?;
//! let check = client.check_resource_account("room-1@contoso.com").await?;
//! assert_eq!(check.status, AccountStatus::Licensed { license: "Microsoft_Teams_Rooms_Pro".into() });
//! assert_eq!(graph.account_reads().subscribed_skus, 1);
//! # Ok(()) }
//! ```

use serde_json::{Map, Value, json};

use super::inventory::parse_query;
use super::{Reply, StandIn};
use autopilot_resource_account::generated::operations;

/// The tenant's SKUs by default: (skuPartNumber, skuId), the ids as Microsoft publishes them in
/// "Product names and service plan identifiers for licensing".
pub const DEFAULT_SKUS: &[(&str, &str)] = &[
    (
        "Microsoft_Teams_Rooms_Pro",
        "4cde982a-ede4-4409-9ae6-b003453c8ea6",
    ),
    (
        "Microsoft_Teams_Rooms_Basic",
        "6af4b3d6-14bb-4a2a-960c-6c902aad34f3",
    ),
    ("SPE_E5", "06ebc4ee-1bb5-47dd-8120-11324bc54e06"),
];

/// The properties of a user the stand-in models, and those Graph returns without `$select`.
const USER_PROPERTIES: &[&str] = &[
    "id",
    "userPrincipalName",
    "displayName",
    "accountEnabled",
    "assignedLicenses",
];
const USER_DEFAULTS: &[&str] = &["id", "userPrincipalName", "displayName"];

/// A user (resource account) in the stand-in's directory. Start from [`StandInUser::new`]: an
/// enabled account without licences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StandInUser {
    /// `userPrincipalName`.
    pub user_principal_name: String,
    /// The object id (`None`: one is given when added).
    pub id: Option<String>,
    /// `displayName`.
    pub display_name: Option<String>,
    /// `accountEnabled`.
    pub account_enabled: bool,
    /// The licences, by `skuPartNumber` of the tenant's SKUs (a name the tenant does not
    /// subscribe to is sent as the `skuId` itself, as an SKU unknown to the tenant's list).
    pub licenses: Vec<String>,
}

impl StandInUser {
    /// An enabled account without licences.
    pub fn new(user_principal_name: impl Into<String>) -> Self {
        Self {
            user_principal_name: user_principal_name.into(),
            id: None,
            display_name: None,
            account_enabled: true,
            licenses: Vec::new(),
        }
    }

    /// Sets the object id.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Sets `displayName`.
    pub fn display_name(mut self, name: impl Into<String>) -> Self {
        self.display_name = Some(name.into());
        self
    }

    /// Sets `accountEnabled` to `false`.
    pub fn disabled(mut self) -> Self {
        self.account_enabled = false;
        self
    }

    /// Adds a licence by `skuPartNumber` (e.g. `Microsoft_Teams_Rooms_Pro`).
    pub fn license(mut self, sku_part_number: impl Into<String>) -> Self {
        self.licenses.push(sku_part_number.into());
        self
    }
}

/// How many account reads the stand-in received (any answer, refusals included).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AccountReads {
    /// `GET /users/{id}` requests.
    pub users: usize,
    /// `GET /subscribedSkus` requests.
    pub subscribed_skus: usize,
}

/// The directory behind the stand-in.
pub(super) struct Directory {
    users: Vec<StandInUser>,
    skus: Vec<(String, String)>,
    refuse: bool,
}

impl Default for Directory {
    fn default() -> Self {
        Self {
            users: Vec::new(),
            skus: DEFAULT_SKUS
                .iter()
                .map(|(part, id)| ((*part).to_owned(), (*id).to_owned()))
                .collect(),
            refuse: false,
        }
    }
}

/// The operations this module answers.
pub(super) fn serves(operation: &str) -> bool {
    matches!(
        operation,
        operations::GET_USER | operations::LIST_SUBSCRIBED_SKUS
    )
}

impl StandIn {
    /// Adds a user to the directory (an id is given when it has none).
    pub fn add_user(&self, user: StandInUser) {
        let mut directory = self.shared.directory();
        let mut user = user;
        if user.id.is_none() {
            let n = directory.users.len() + 1;
            user.id = Some(format!("00000000-0000-4000-a000-{n:012x}"));
        }
        directory.users.push(user);
    }

    /// Adds a subscribed SKU to the tenant (beyond [`DEFAULT_SKUS`]).
    pub fn add_subscribed_sku(
        &self,
        sku_part_number: impl Into<String>,
        sku_id: impl Into<String>,
    ) {
        self.shared
            .directory()
            .skus
            .push((sku_part_number.into(), sku_id.into()));
    }

    /// While `true`, `GET /users/…` and `GET /subscribedSkus` are answered `403
    /// Authorization_RequestDenied`, as for a token without `User.Read.All` /
    /// `Organization.Read.All`.
    pub fn refuse_account_reads(&self, refuse: bool) {
        self.shared.directory().refuse = refuse;
    }

    /// How many `GET /users/{id}` and `GET /subscribedSkus` requests arrived so far.
    pub fn account_reads(&self) -> AccountReads {
        let requests = self.state();
        let count = |op: &str| {
            requests
                .requests
                .iter()
                .filter(|r| r.operation.as_deref() == Some(op))
                .count()
        };
        AccountReads {
            users: count(operations::GET_USER),
            subscribed_skus: count(operations::LIST_SUBSCRIBED_SKUS),
        }
    }
}

impl Directory {
    /// The answer to a read the spec check accepted and no script answered; `key` is the
    /// user id of the path, percent-decoded.
    pub(super) fn answer(&self, operation: &str, key: Option<&str>, target: &str) -> Reply {
        if self.refuse {
            return Reply::status(403).odata(
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.",
            );
        }
        let query = match parse_query(target) {
            Ok(q) => q,
            Err(why) => return bad_request(&why),
        };
        let select = query
            .iter()
            .find(|(k, _)| k == "$select")
            .map(|(_, v)| v.as_str());
        match operation {
            operations::GET_USER => self.user(key.unwrap_or_default(), select),
            _ => self.subscribed_skus(select),
        }
    }

    fn user(&self, key: &str, select: Option<&str>) -> Reply {
        let Some(user) = self.users.iter().find(|u| {
            u.user_principal_name.eq_ignore_ascii_case(key) || u.id.as_deref() == Some(key)
        }) else {
            return Reply::status(404).odata(
                "Request_ResourceNotFound",
                &format!(
                    "Resource '{key}' does not exist or one of its queried reference-property objects are not present."
                ),
            );
        };
        let licenses: Vec<Value> = user
            .licenses
            .iter()
            .map(|part| {
                let sku_id = self
                    .skus
                    .iter()
                    .find(|(p, _)| p == part)
                    .map_or(part.as_str(), |(_, id)| id.as_str());
                json!({ "disabledPlans": [], "skuId": sku_id })
            })
            .collect();
        let all = json!({
            "id": user.id,
            "userPrincipalName": user.user_principal_name,
            "displayName": user.display_name,
            "accountEnabled": user.account_enabled,
            "assignedLicenses": licenses,
        });
        match pick(&all, select, USER_PROPERTIES, USER_DEFAULTS, "user") {
            Ok(fields) => Reply::status(200).json(&Value::Object(fields)),
            Err(why) => bad_request(&why),
        }
    }

    fn subscribed_skus(&self, select: Option<&str>) -> Reply {
        const PROPERTIES: &[&str] = &[
            "id",
            "skuId",
            "skuPartNumber",
            "appliesTo",
            "capabilityStatus",
            "consumedUnits",
        ];
        let mut value = Vec::new();
        for (part, sku_id) in &self.skus {
            let consumed = self
                .users
                .iter()
                .filter(|u| u.licenses.contains(part))
                .count();
            let all = json!({
                "id": format!("00000000-0000-4000-b000-000000000000_{sku_id}"),
                "skuId": sku_id,
                "skuPartNumber": part,
                "appliesTo": "User",
                "capabilityStatus": "Enabled",
                "consumedUnits": consumed,
            });
            match pick(&all, select, PROPERTIES, PROPERTIES, "subscribedSku") {
                Ok(fields) => value.push(Value::Object(fields)),
                Err(why) => return bad_request(&why),
            }
        }
        Reply::status(200).json(&json!({ "value": value }))
    }
}

fn bad_request(message: &str) -> Reply {
    Reply::status(400).odata("Request_BadRequest", message)
}

/// The fields of `all` that `$select` names (or `defaults` without one); an unknown name is
/// Graph's `400`.
fn pick(
    all: &Value,
    select: Option<&str>,
    known: &[&str],
    defaults: &[&str],
    type_name: &str,
) -> Result<Map<String, Value>, String> {
    let wanted: Vec<&str> = match select {
        Some(list) => list.split(',').map(str::trim).collect(),
        None => defaults.to_vec(),
    };
    let mut out = Map::new();
    for name in wanted {
        if !known.contains(&name) {
            return Err(format!(
                "Could not find a property named '{name}' on type 'microsoft.graph.{type_name}'."
            ));
        }
        if let Some(v) = all.get(name) {
            out.insert(name.to_owned(), v.clone());
        }
    }
    Ok(out)
}
