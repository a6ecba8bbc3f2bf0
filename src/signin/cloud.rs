//! The national clouds Graph runs in: each has its own root and its own token scope.

/// A Microsoft Graph national cloud deployment.
///
/// ```
/// use autopilot_resource_account::Cloud;
/// assert_eq!(Cloud::UsGovL4.base_url(), "https://graph.microsoft.us/beta");
/// assert_eq!(Cloud::China.scope(), "https://microsoftgraph.chinacloudapi.cn/.default");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Cloud {
    /// The global service, `graph.microsoft.com`.
    #[default]
    Global,
    /// US Government L4 (GCC High), `graph.microsoft.us`.
    UsGovL4,
    /// US Government L5 (DoD), `dod-graph.microsoft.us`.
    UsGovL5Dod,
    /// Microsoft Graph operated by 21Vianet in China, `microsoftgraph.chinacloudapi.cn`.
    China,
}

impl Cloud {
    /// Every cloud, for iteration.
    pub const ALL: [Cloud; 4] = [
        Cloud::Global,
        Cloud::UsGovL4,
        Cloud::UsGovL5Dod,
        Cloud::China,
    ];

    /// The Graph host of this cloud.
    pub const fn host(self) -> &'static str {
        match self {
            Cloud::Global => "graph.microsoft.com",
            Cloud::UsGovL4 => "graph.microsoft.us",
            Cloud::UsGovL5Dod => "dod-graph.microsoft.us",
            Cloud::China => "microsoftgraph.chinacloudapi.cn",
        }
    }

    /// The beta endpoint root, e.g. `https://graph.microsoft.com/beta`.
    pub const fn base_url(self) -> &'static str {
        match self {
            Cloud::Global => "https://graph.microsoft.com/beta",
            Cloud::UsGovL4 => "https://graph.microsoft.us/beta",
            Cloud::UsGovL5Dod => "https://dod-graph.microsoft.us/beta",
            Cloud::China => "https://microsoftgraph.chinacloudapi.cn/beta",
        }
    }

    /// The `.default` scope an app requests a token for, e.g. `https://graph.microsoft.com/.default`.
    pub const fn scope(self) -> &'static str {
        match self {
            Cloud::Global => "https://graph.microsoft.com/.default",
            Cloud::UsGovL4 => "https://graph.microsoft.us/.default",
            Cloud::UsGovL5Dod => "https://dod-graph.microsoft.us/.default",
            Cloud::China => "https://microsoftgraph.chinacloudapi.cn/.default",
        }
    }

    /// The Graph resource of this cloud, e.g. `https://graph.microsoft.com`: the prefix of every
    /// delegated scope (`<resource>/DeviceManagementServiceConfig.ReadWrite.All`).
    pub const fn resource(self) -> &'static str {
        match self {
            Cloud::Global => "https://graph.microsoft.com",
            Cloud::UsGovL4 => "https://graph.microsoft.us",
            Cloud::UsGovL5Dod => "https://dod-graph.microsoft.us",
            Cloud::China => "https://microsoftgraph.chinacloudapi.cn",
        }
    }

    /// The Entra ID authority host that issues tokens for this cloud.
    ///
    /// From Microsoft's "Microsoft Graph national cloud deployments" page
    /// (<https://learn.microsoft.com/graph/deployments>, "App registration and token service root
    /// endpoints"): global `login.microsoftonline.com`, US Government (L4 and L5 alike)
    /// `login.microsoftonline.us`, China (21Vianet) `login.chinacloudapi.cn`.
    pub const fn authority_host(self) -> &'static str {
        match self {
            Cloud::Global => "https://login.microsoftonline.com",
            Cloud::UsGovL4 | Cloud::UsGovL5Dod => "https://login.microsoftonline.us",
            Cloud::China => "https://login.chinacloudapi.cn",
        }
    }
}
