//! Azure clouds: ARM endpoint, authority host, ARM token scope, storage suffix and the Serial
//! Console host (`--cloud public|usgov|china|custom`).

use url::Url;

/// How the existence of a storage blob host is looked up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostLookup {
    /// The system resolver (real clouds).
    Dns,
    /// The simulator's look-up endpoint (`{base}/_sim/dns?name=`), used under `--cloud custom`.
    Endpoint(Url),
}

/// One Azure cloud.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cloud {
    /// `public`, `usgov`, `china` or `custom`.
    pub name: String,
    /// Resource Manager endpoint.
    pub arm_endpoint: Url,
    /// Entra ID authority host.
    pub authority_host: Url,
    /// The scope ARM tokens are requested for.
    pub arm_scope: String,
    /// Blob endpoint suffix, e.g. `blob.core.windows.net`.
    pub blob_suffix: String,
    /// The Serial Console hosts (`host:port`) probed for reachability; empty where the cloud
    /// has no Serial Console.
    pub serial_console_hosts: Vec<String>,
    /// Microsoft Graph endpoint (group memberships).
    pub graph_endpoint: Url,
    /// The scope Graph tokens are requested for.
    pub graph_scope: String,
    /// How storage host existence is looked up.
    pub host_lookup: HostLookup,
}

fn url(s: &str) -> Url {
    Url::parse(s).expect("built-in URL")
}

impl Cloud {
    /// Azure public cloud.
    pub fn public() -> Cloud {
        Cloud {
            name: "public".into(),
            arm_endpoint: url("https://management.azure.com/"),
            authority_host: url("https://login.microsoftonline.com/"),
            arm_scope: "https://management.azure.com/.default".into(),
            blob_suffix: "blob.core.windows.net".into(),
            serial_console_hosts: vec!["portal.serialconsole.azure.com:443".into()],
            graph_endpoint: url("https://graph.microsoft.com/"),
            graph_scope: "https://graph.microsoft.com/.default".into(),
            host_lookup: HostLookup::Dns,
        }
    }

    /// Azure US Government.
    pub fn usgov() -> Cloud {
        Cloud {
            name: "usgov".into(),
            arm_endpoint: url("https://management.usgovcloudapi.net/"),
            authority_host: url("https://login.microsoftonline.us/"),
            arm_scope: "https://management.usgovcloudapi.net/.default".into(),
            blob_suffix: "blob.core.usgovcloudapi.net".into(),
            serial_console_hosts: vec!["portal.serialconsole.azure.us:443".into()],
            graph_endpoint: url("https://graph.microsoft.us/"),
            graph_scope: "https://graph.microsoft.us/.default".into(),
            host_lookup: HostLookup::Dns,
        }
    }

    /// Azure operated by 21Vianet (China).
    pub fn china() -> Cloud {
        Cloud {
            name: "china".into(),
            arm_endpoint: url("https://management.chinacloudapi.cn/"),
            authority_host: url("https://login.chinacloudapi.cn/"),
            arm_scope: "https://management.chinacloudapi.cn/.default".into(),
            blob_suffix: "blob.core.chinacloudapi.cn".into(),
            // Serial Console is not offered in Azure China.
            serial_console_hosts: Vec::new(),
            graph_endpoint: url("https://microsoftgraph.chinacloudapi.cn/"),
            graph_scope: "https://microsoftgraph.chinacloudapi.cn/.default".into(),
            host_lookup: HostLookup::Dns,
        }
    }

    /// A custom cloud (an Azure Stack hub, or scready's simulator).
    ///
    /// The authority host defaults to the ARM endpoint; storage host look-ups, Graph and the
    /// Serial Console probe go to the ARM endpoint's host too, so nothing leaves that endpoint.
    pub fn custom(arm_endpoint: Url, authority_host: Option<Url>) -> Cloud {
        let authority = authority_host.unwrap_or_else(|| arm_endpoint.clone());
        let mut lookup = arm_endpoint.clone();
        lookup.set_path("/_sim/dns");
        Cloud {
            name: "custom".into(),
            arm_scope: "https://management.azure.com/.default".into(),
            blob_suffix: "blob.core.windows.net".into(),
            serial_console_hosts: vec![format!(
                "{}:{}",
                arm_endpoint.host_str().unwrap_or("127.0.0.1"),
                arm_endpoint.port_or_known_default().unwrap_or(443)
            )],
            graph_endpoint: arm_endpoint.clone(),
            graph_scope: "https://graph.microsoft.com/.default".into(),
            host_lookup: HostLookup::Endpoint(lookup),
            arm_endpoint,
            authority_host: authority,
        }
    }

    /// The cloud named on the command line.
    pub fn named(name: &str) -> Option<Cloud> {
        match name {
            "public" | "azurecloud" => Some(Cloud::public()),
            "usgov" | "azureusgovernment" => Some(Cloud::usgov()),
            "china" | "azurechinacloud" => Some(Cloud::china()),
            _ => None,
        }
    }

    /// The blob suffixes of every known cloud, for parsing storage URIs written for any of them.
    pub fn known_blob_suffixes() -> [&'static str; 4] {
        [
            "blob.core.windows.net",
            "blob.core.usgovcloudapi.net",
            "blob.core.chinacloudapi.cn",
            "blob.core.cloudapi.de",
        ]
    }
}
