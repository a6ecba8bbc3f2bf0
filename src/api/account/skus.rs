//! The tenant's licences (`GET /subscribedSkus`), read once per client, and which of them are
//! Teams Rooms licences.

use std::sync::Arc;

use crate::api::client::{GraphClient, SkuNames};
use crate::error::Error;
use crate::request::call::{self, call_span};

/// The Teams Rooms licences (`skuPartNumber`), from Microsoft's "Product names and service plan
/// identifiers for licensing"
/// (<https://learn.microsoft.com/entra/identity/users/licensing-service-plan-reference>,
/// checked against the version of 29 October 2025).
///
/// Since 1 July 2023 a Teams Rooms device signs in only with one of these; user licences
/// (E3, E5, …) no longer count. In order of preference: when an account holds several,
/// [`AccountStatus::Licensed`](crate::AccountStatus::Licensed) names the first.
///
/// - Teams Rooms Pro: `Microsoft_Teams_Rooms_Pro` (skuId `4cde982a-…`), its variants without
///   Audio Conferencing, for EDU (`_FAC`) and for GCC.
/// - Teams Rooms Premium, the older top tier: `MTR_PREM` (`4fb214cb-…`).
/// - Teams Rooms Basic: `Microsoft_Teams_Rooms_Basic` (`6af4b3d6-…`), without Audio
///   Conferencing, for EDU.
/// - Teams Rooms Standard, the older licence first sold as "Meeting Room" (its part number
///   still says so): `MEETING_ROOM` (`6070a4c8-…`), without Audio Conferencing, for GCC.
pub const TEAMS_ROOMS_SKUS: &[&str] = &[
    "Microsoft_Teams_Rooms_Pro",
    "Microsoft_Teams_Rooms_Pro_without_Audio_Conferencing",
    "Microsoft_Teams_Rooms_Pro_FAC",
    "Microsoft_Teams_Rooms_Pro_GCC",
    "MTR_PREM",
    "Microsoft_Teams_Rooms_Basic",
    "Microsoft_Teams_Rooms_Basic_without_Audio_Conferencing",
    "Microsoft_Teams_Rooms_Basic_FAC",
    "MEETING_ROOM",
    "MEETING_ROOM_NOAUDIOCONF",
    "MEETING_ROOM_GOV",
    "MEETING_ROOM_GOV_NOAUDIOCONF",
];

/// `$select` of the SKU read: the two fields the check needs.
const SKU_SELECT: &str = "skuId,skuPartNumber";

impl GraphClient {
    /// The tenant's SKU names, read at most once per client (and its clones).
    pub(crate) async fn sku_names(&self) -> Result<Arc<SkuNames>, Error> {
        self.skus
            .get_or_try_init(|| async {
                let span = call_span!(LIST_SUBSCRIBED_SKUS, select = SKU_SELECT);
                let call = self.generated().list_subscribed_skus(Some(SKU_SELECT));
                let list = call::run(span, call::READ, Box::pin(call)).await?;
                // Graph answers subscribedSkus in one page (a tenant has tens of SKUs, not
                // thousands); a next link would be an answer this check does not expect.
                if list.odata_next_link.is_some() {
                    return Err(Error::UnexpectedResponse {
                        status: None,
                        detail: "subscribedSkus answered with a next page; not followed".into(),
                    });
                }
                let names = list
                    .value
                    .into_iter()
                    .filter_map(|sku| {
                        Some((sku.sku_id?.to_ascii_lowercase(), sku.sku_part_number?))
                    })
                    .collect();
                Ok(Arc::new(names))
            })
            .await
            .cloned()
    }
}

/// The Teams Rooms licence among `names` (by [`TEAMS_ROOMS_SKUS`]' order), if any.
pub(crate) fn teams_rooms_license(names: &[String]) -> Option<&str> {
    TEAMS_ROOMS_SKUS
        .iter()
        .copied()
        .find(|wanted| names.iter().any(|name| name.eq_ignore_ascii_case(wanted)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pro_wins_over_basic_and_user_licences_do_not_count() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            teams_rooms_license(&names(&[
                "SPE_E5",
                "Microsoft_Teams_Rooms_Basic",
                "Microsoft_Teams_Rooms_Pro"
            ])),
            Some("Microsoft_Teams_Rooms_Pro")
        );
        assert_eq!(
            teams_rooms_license(&names(&["meeting_room"])),
            Some("MEETING_ROOM")
        );
        assert_eq!(
            teams_rooms_license(&names(&["SPE_E5", "ENTERPRISEPACK"])),
            None
        );
        assert_eq!(teams_rooms_license(&[]), None);
    }
}
