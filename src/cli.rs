//! Command-line interface: every flag also reads an environment variable.

use std::{net::SocketAddr, path::PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum};
use ipnet::IpNet;
use makonis_operator_kit::webhook::WebhookSettings;

/// The version line: crate version and the git commit it was built from.
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("MAKONIS_GIT_COMMIT"), ")");

/// Mākonis: the private cloud of Latvia's welfare sector, as code.
///
/// Operators reconcile agencies, services and infrastructure declared as Kubernetes
/// resources. Every flag can also be set with the environment variable shown.
#[derive(Debug, Parser)]
#[command(name = "makonis", version = VERSION, propagate_version = true)]
pub struct Cli {
    /// Log format: `human` for a terminal, `json` for log collectors.
    #[arg(long, global = true, env = "MAKONIS_LOG_FORMAT", value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,

    /// Log filter, e.g. `info` or `info,makonis_tenancy=debug`.
    #[arg(long, global = true, env = "MAKONIS_LOG", default_value = "info")]
    pub log_level: String,

    #[command(subcommand)]
    pub command: Command,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Readable lines with colours when writing to a terminal.
    Human,
    /// One JSON object per line, with span fields.
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the CustomResourceDefinitions of every Mākonis kind, or write them to files.
    ///
    /// Without `--write`, prints all CRDs as one YAML stream, ready for
    /// `makonis crds | kubectl apply --server-side -f -`.
    Crds(CrdsArgs),
    /// Run the controllers against the cluster of the current kubeconfig.
    ///
    /// Waits until the CRDs are installed, then reconciles until SIGTERM or Ctrl-C.
    /// Serves `/metrics`, `/healthz` and `/readyz` on `--metrics-address`.
    Operator(Box<OperatorArgs>),
    /// Serve the self-service portal and its JSON API; or maintain its database.
    ///
    /// Reads agencies, catalog items and instances from the cluster of the current
    /// kubeconfig, keeps requests, sessions and the audit trail in SQL, and applies
    /// granted orders as ServiceInstances. Serves `/healthz`, `/readyz` and `/metrics`
    /// on the same address. Every action is written with its audit record in one
    /// transaction: when the trail cannot be written, nothing is done. With a
    /// subcommand, checks the audit trail (`verify-audit`) or brings the schema up to
    /// date (`migrate`) instead of serving.
    Portal(Box<PortalArgs>),
    /// Measure the SLAs: run every Probe, keep the outage ledger, evaluate every
    /// ServiceLevelObjective, open incidents on burn-rate alerts; or export the
    /// objectives as OpenSLO.
    Slo(SloArgs),
    /// Security monitoring: receive and store security logs, check the store's hash
    /// chains, or make the key that signs its checkpoints.
    Siem(SiemArgs),
    /// Active Directory as code: bring an agency's people in from a file.
    Identity(IdentityArgs),
}

/// Arguments of `makonis identity`.
#[derive(Debug, Args)]
pub struct IdentityArgs {
    #[command(subcommand)]
    pub command: IdentityCommand,
}

/// What `makonis identity` does.
#[derive(Debug, Subcommand)]
pub enum IdentityCommand {
    /// Create (or update) an agency's DirectoryUsers from a CSV file, for onboarding many
    /// people at once. The whole file is checked first — every row against the API's
    /// rules, managers against the file and the agency, groups against the agency's
    /// DirectoryGroups, usernames for duplicates — and every bad row is reported with its
    /// line and column; a file with any bad row applies nothing. Columns (a header names
    /// them): username, givenName, surname (required); displayName, email, title,
    /// department, manager (a username), groups and roles (separated by `;`), expires
    /// (YYYY-MM-DD), enabled (true/false).
    Import(IdentityImportArgs),
}

/// Arguments of `makonis identity import`.
#[derive(Debug, Args)]
pub struct IdentityImportArgs {
    /// The agency's code (its namespace is `agency-<code>`).
    #[arg(long)]
    pub agency: String,

    /// Only check the file; apply nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// How many objects are applied at once.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallel: u16,

    /// The CSV file (UTF-8).
    pub file: PathBuf,
}

/// Arguments of `makonis crds`.
#[derive(Debug, Args)]
pub struct CrdsArgs {
    /// Write one file per CRD (`<plural>.<group>.yaml`) into this directory instead of
    /// printing, removing generated files of kinds that no longer exist.
    #[arg(long, value_name = "DIR")]
    pub write: Option<PathBuf>,

    /// Also write the Markdown API reference, one page per kind, into this directory.
    #[arg(long, value_name = "DIR")]
    pub reference: Option<PathBuf>,
}

/// Arguments of `makonis operator`.
#[derive(Debug, Args)]
pub struct OperatorArgs {
    /// Controllers to run (comma-separated).
    #[arg(long, env = "MAKONIS_CONTROLLERS", value_enum, value_delimiter = ',', default_value = "tenancy,catalog")]
    pub controllers: Vec<ControllerName>,

    /// Address of the operations endpoint (`/metrics`, `/healthz`, `/readyz`).
    #[arg(long, env = "MAKONIS_METRICS_ADDRESS", default_value = "127.0.0.1:9464")]
    pub metrics_address: SocketAddr,

    /// Reconcile only Agencies whose labels match this selector (e.g. `shard=a`), to
    /// split the work between operator instances.
    #[arg(long, env = "MAKONIS_AGENCY_SELECTOR")]
    pub agency_selector: Option<String>,

    /// Reconcile only ServiceInstances whose labels match this selector, to split the
    /// work between operator instances (the webhook still judges every order).
    #[arg(long, env = "MAKONIS_INSTANCE_SELECTOR")]
    pub instance_selector: Option<String>,

    /// Reconcile only compute objects (host pools, machines, volumes, backups, policies,
    /// restores) whose labels match this selector, to split the work between operator
    /// instances. Quota and placement still count every object.
    #[arg(long, env = "MAKONIS_COMPUTE_SELECTOR")]
    pub compute_selector: Option<String>,

    /// Seconds between drift checks of a healthy object when nothing announced a change.
    #[arg(long, env = "MAKONIS_RESYNC_SECONDS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
    pub resync_seconds: u64,

    /// Namespace the platform runs in; agencies admit network traffic from it.
    #[arg(long, env = "MAKONIS_PLATFORM_NAMESPACE", default_value = "makonis-system")]
    pub platform_namespace: String,

    /// Prefix the cluster's authentication adds to directory group names (for example
    /// the API server's `--oidc-groups-prefix`); RoleBindings name groups with it.
    #[arg(long, env = "MAKONIS_GROUP_PREFIX", default_value = "")]
    pub group_prefix: String,

    /// Tenancy: the catalog operator's ServiceAccount in the platform namespace, bound in
    /// every agency namespace to the Secrets rights of instance credentials.
    #[arg(long, env = "MAKONIS_CATALOG_SERVICE_ACCOUNT", default_value = "makonis-catalog-operator")]
    pub catalog_service_account: String,

    /// Identity: the longest one LDAP request to a domain controller may take.
    #[arg(long, env = "MAKONIS_LDAP_TIMEOUT_SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub ldap_timeout_seconds: u64,

    /// Tenancy: the identity operator's ServiceAccount in the platform namespace, bound in
    /// every agency namespace to the Secrets rights of initial passwords and service
    /// account credentials.
    #[arg(long, env = "MAKONIS_IDENTITY_SERVICE_ACCOUNT", default_value = "makonis-identity-operator")]
    pub identity_service_account: String,

    /// Catalog webhook and tenancy: the portal's ServiceAccount in the platform namespace.
    /// The webhook lets it (besides platform administrators) order or change instances of
    /// items that need approval, once their approval chain is complete; the tenancy
    /// operator grants it, in each agency namespace only, the creation of the first
    /// passwords of people added in the portal.
    #[arg(long, env = "MAKONIS_PORTAL_SERVICE_ACCOUNT", default_value = "makonis-portal")]
    pub portal_service_account: String,

    /// Catalog webhook: groups (as the cluster's authentication names them, comma-separated)
    /// whose members are platform administrators and may order items that need approval
    /// without the portal's chain.
    #[arg(
        long = "platform-admin-group",
        env = "MAKONIS_PLATFORM_ADMIN_GROUPS",
        value_delimiter = ',',
        default_value = "system:masters,Makonis-Platform-Admins"
    )]
    pub platform_admin_groups: Vec<String>,

    /// Name of this instance in Events and in the leader lease (defaults to the host
    /// name, which is the pod's name in a cluster).
    #[arg(long, env = "MAKONIS_INSTANCE")]
    pub instance: Option<String>,

    /// Run several replicas, of which one reconciles: take a Lease in the platform
    /// namespace before starting the controllers.
    #[arg(long, env = "MAKONIS_LEADER_ELECTION")]
    pub leader_election: bool,

    /// Name of the Lease used for leader election.
    #[arg(long, env = "MAKONIS_LEASE_NAME", default_value = "makonis-operator")]
    pub lease_name: String,

    /// Seconds a leader holds the lease without renewing it; a replica that dies is
    /// replaced after at most this long (a clean shutdown hands over at once).
    #[arg(long, env = "MAKONIS_LEASE_SECONDS", default_value_t = 15, value_parser = clap::value_parser!(u64).range(2..=300))]
    pub lease_seconds: u64,

    /// Seconds after its last successful renewal by which a leader that cannot renew
    /// stops (the process exits); shorter than --lease-seconds. Default: two thirds of it.
    #[arg(long, env = "MAKONIS_LEASE_RENEW_DEADLINE_SECONDS", value_parser = clap::value_parser!(u64).range(1..=299))]
    pub lease_renew_deadline_seconds: Option<u64>,

    /// Catalog: the settings templates see as `platform.*`.
    #[command(flatten)]
    pub platform: PlatformArgs,

    /// Catalog or compute: the admission webhook.
    #[command(flatten)]
    pub webhook: WebhookArgs,

    /// Compute: where the TLS files of host pools' credential Secrets are written for
    /// libvirt (`pkipath`), one directory per pool, readable by the operator only.
    #[arg(long, env = "MAKONIS_LIBVIRT_PKI_DIR", default_value = "/var/lib/makonis/libvirt-pki")]
    pub libvirt_pki_dir: PathBuf,

    /// Mail: the mail system the controller renders the configuration of.
    #[command(flatten)]
    pub mail: MailArgs,
}

/// The mail system next to which the mail controller runs (it renders Postfix's and
/// Dovecot's configuration into a directory they share and reloads them).
#[derive(Debug, Args)]
#[command(next_help_heading = "Mail")]
pub struct MailArgs {
    /// The Directory whose domain the mail system reads; agencies under it can have
    /// mailboxes.
    #[arg(long, env = "MAKONIS_MAIL_DIRECTORY", default_value = "lm")]
    pub mail_directory: String,

    /// The mail system's namespace: its directory Secret and the DKIM keys are there; the
    /// controller reads no other namespace's Secrets.
    #[arg(long, env = "MAKONIS_MAIL_NAMESPACE", default_value = "makonis-mail")]
    pub mail_namespace: String,

    /// Secret (in --mail-namespace) with what Postfix and Dovecot read the directory with:
    /// keys `username` (a read-only account's DN or UPN), `password` and `ca.crt`.
    #[arg(long, env = "MAKONIS_MAIL_BIND_SECRET", default_value = "makonis-mail-directory")]
    pub mail_bind_secret: String,

    /// The host name the mail system answers as; the domains' MX records point to it.
    #[arg(long, env = "MAKONIS_MAIL_HOSTNAME", default_value = "mail.lm.gov.lv")]
    pub mail_hostname: String,

    /// The address SMTP and IMAP listen on.
    #[arg(long, env = "MAKONIS_MAIL_LISTEN", default_value = "0.0.0.0")]
    pub mail_listen: String,

    /// Inbound SMTP port (the domains' MX).
    #[arg(long, env = "MAKONIS_MAIL_SMTP_PORT", default_value_t = 25)]
    pub mail_smtp_port: u16,

    /// Submission port: people's mail programs send here, signed in over STARTTLS.
    #[arg(long, env = "MAKONIS_MAIL_SUBMISSION_PORT", default_value_t = 587)]
    pub mail_submission_port: u16,

    /// IMAP over TLS port.
    #[arg(long, env = "MAKONIS_MAIL_IMAPS_PORT", default_value_t = 993)]
    pub mail_imaps_port: u16,

    /// LMTP port from Postfix to Dovecot (127.0.0.1 only).
    #[arg(long, env = "MAKONIS_MAIL_LMTP_PORT", default_value_t = 24)]
    pub mail_lmtp_port: u16,

    /// Port of Dovecot's quota policy service for Postfix (127.0.0.1 only).
    #[arg(long, env = "MAKONIS_MAIL_QUOTA_STATUS_PORT", default_value_t = 12340)]
    pub mail_quota_status_port: u16,

    /// Port of Dovecot's authentication service, which checks submission's sign-ins for
    /// Postfix (127.0.0.1 only).
    #[arg(long, env = "MAKONIS_MAIL_AUTH_PORT", default_value_t = 12345)]
    pub mail_auth_port: u16,

    /// Port of OpenDKIM's milter, which signs submission's mail for Postfix (127.0.0.1 only).
    #[arg(long, env = "MAKONIS_MAIL_DKIM_PORT", default_value_t = 8891)]
    pub mail_dkim_port: u16,

    /// A smart host all outgoing mail goes through (`[host]:port`, e.g. the ministry's mail
    /// gateway); unset, Postfix delivers to the recipients' MX.
    #[arg(long, env = "MAKONIS_MAIL_RELAYHOST")]
    pub mail_relayhost: Option<String>,

    /// Where the rendered configuration is written (`postfix/`, `dovecot/`).
    #[arg(long, env = "MAKONIS_MAIL_CONFIG_DIR", default_value = "/etc/makonis-mail")]
    pub mail_config_dir: PathBuf,

    /// Postfix's queue, Dovecot's run and state directories, the logs.
    #[arg(long, env = "MAKONIS_MAIL_STATE_DIR", default_value = "/var/lib/makonis-mail")]
    pub mail_state_dir: PathBuf,

    /// Where mailboxes are stored (writable by --mail-user), one directory per Mailbox.
    #[arg(long, env = "MAKONIS_MAIL_ROOT", default_value = "/srv/mail")]
    pub mail_root: PathBuf,

    /// The system user that owns the stored mail.
    #[arg(long, env = "MAKONIS_MAIL_USER", default_value = "mail")]
    pub mail_user: String,

    /// TLS certificate chain (PEM) for SMTP and IMAP.
    #[arg(long, env = "MAKONIS_MAIL_TLS_CERT", default_value = "/etc/makonis-mail-tls/tls.crt")]
    pub mail_tls_cert: PathBuf,

    /// Its private key (PEM).
    #[arg(long, env = "MAKONIS_MAIL_TLS_KEY", default_value = "/etc/makonis-mail-tls/tls.key")]
    pub mail_tls_key: PathBuf,

    /// The `postfix` command, to reload it.
    #[arg(long, env = "MAKONIS_MAIL_POSTFIX", default_value = "/usr/sbin/postfix")]
    pub mail_postfix: PathBuf,

    /// The `doveadm` command, to reload Dovecot.
    #[arg(long, env = "MAKONIS_MAIL_DOVEADM", default_value = "/usr/bin/doveadm")]
    pub mail_doveadm: PathBuf,

    /// Dovecot's delivery agent, which delivers the quota warnings.
    #[arg(long, env = "MAKONIS_MAIL_DOVECOT_LDA", default_value = "/usr/lib/dovecot/dovecot-lda")]
    pub mail_dovecot_lda: PathBuf,
}

/// Settings of this installation that catalog templates use (`platform.*`).
#[derive(Debug, Args)]
pub struct PlatformArgs {
    /// DNS domain under which instances get host names (`<instance>.<agency>.<domain>`).
    #[arg(long, env = "MAKONIS_APPS_DOMAIN", default_value = "apps.makonis.lv")]
    pub apps_domain: String,

    /// IngressClass of the platform's ingress controller.
    #[arg(long, env = "MAKONIS_INGRESS_CLASS", default_value = "nginx")]
    pub ingress_class: String,

    /// cert-manager ClusterIssuer that signs the instances' TLS certificates.
    #[arg(long, env = "MAKONIS_TLS_ISSUER", default_value = "makonis-ca")]
    pub tls_issuer: String,

    /// StorageClass for instance volumes; empty uses the cluster's default class.
    #[arg(long, env = "MAKONIS_STORAGE_CLASS", default_value = "")]
    pub storage_class: String,

    /// HostPool that catalog virtual machines are placed in.
    #[arg(long, env = "MAKONIS_HOST_POOL", default_value = "local")]
    pub host_pool: String,

    /// Host (of that pool) whose storage pool receives catalog machines' backups.
    #[arg(long, env = "MAKONIS_BACKUP_HOST", default_value = "local")]
    pub backup_host: String,

    /// libvirt storage pool on the backup host that receives the backups.
    #[arg(long, env = "MAKONIS_BACKUP_STORAGE_POOL", default_value = "backup")]
    pub backup_storage_pool: String,
}

/// Where the validating admission webhook of the selected controller (catalog or
/// compute), of the SLO engine or of the SIEM is served. One process serves one webhook.
#[derive(Debug, Args)]
pub struct WebhookArgs {
    /// Serve the webhook over HTTPS on this address (e.g. `0.0.0.0:9443` in a pod,
    /// `127.0.0.1:9443` locally). Without it, no webhook is served. It serves on every
    /// replica, leader or not.
    #[arg(long, env = "MAKONIS_WEBHOOK_ADDRESS")]
    pub webhook_address: Option<SocketAddr>,

    /// Host names and IP addresses the webhook's certificate is made for
    /// (comma-separated). Default: `makonis-<controller>-webhook.makonis-system.svc`,
    /// `127.0.0.1` and `localhost`.
    #[arg(long, env = "MAKONIS_WEBHOOK_HOSTS", value_delimiter = ',')]
    pub webhook_hosts: Vec<String>,

    /// Secret (in the platform namespace) holding the webhook's certificate, shared by
    /// every replica; created when missing. Default: `makonis-<controller>-webhook-tls`.
    #[arg(long, env = "MAKONIS_WEBHOOK_SECRET")]
    pub webhook_secret: Option<String>,

    /// ValidatingWebhookConfiguration whose CA bundle the operator keeps current.
    /// Default: `makonis-<controller>`.
    #[arg(long, env = "MAKONIS_WEBHOOK_CONFIGURATION")]
    pub webhook_configuration: Option<String>,
}

impl WebhookArgs {
    /// Where `component`'s webhook (`catalog`, `compute`, `slo`, `siem`) is served, with
    /// its default host names, Secret and registration; none without `--webhook-address`.
    pub fn settings(&self, component: &str, platform_namespace: &str) -> Option<WebhookSettings> {
        let address = self.webhook_address?;
        let hosts = if self.webhook_hosts.is_empty() {
            vec![
                format!("makonis-{component}-webhook.{platform_namespace}.svc"),
                "127.0.0.1".into(),
                "localhost".into(),
            ]
        } else {
            self.webhook_hosts.clone()
        };
        Some(WebhookSettings {
            address,
            namespace: platform_namespace.to_owned(),
            secret: self.webhook_secret.clone().unwrap_or_else(|| format!("makonis-{component}-webhook-tls")),
            hosts,
            configuration: self.webhook_configuration.clone().unwrap_or_else(|| format!("makonis-{component}")),
        })
    }
}

/// A controller `makonis operator` can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ControllerName {
    /// Agencies → namespaces, quotas, limits, network policies, role bindings.
    Tenancy,
    /// ServiceInstances → the resources their CatalogItem templates.
    Catalog,
    /// HostPools, VirtualMachines, Volumes, BackupPolicies, Backups and Restores →
    /// libvirt domains, volumes and backups.
    Compute,
    /// Directories, DirectoryUsers, DirectoryGroups and DirectoryServiceAccounts →
    /// agencies' OUs, role groups, accounts and groups in Active Directory.
    Identity,
    /// MailDomains, Mailboxes, MailAliases and MailingLists → Postfix's and Dovecot's
    /// configuration, DKIM keys and the DNS records to publish.
    Mail,
}

impl ControllerName {
    /// The controller's name in flags and default resource names.
    pub fn name(self) -> &'static str {
        match self {
            ControllerName::Tenancy => "tenancy",
            ControllerName::Catalog => "catalog",
            ControllerName::Compute => "compute",
            ControllerName::Identity => "identity",
            ControllerName::Mail => "mail",
        }
    }

    /// The CRDs the controller cannot start without.
    pub fn crds(self) -> &'static [&'static str] {
        match self {
            ControllerName::Tenancy => &["agencies.tenancy.makonis.lv"],
            ControllerName::Catalog => &[
                "agencies.tenancy.makonis.lv",
                "catalogitems.catalog.makonis.lv",
                "serviceinstances.catalog.makonis.lv",
                "virtualmachines.compute.makonis.lv",
                "volumes.compute.makonis.lv",
                "backuppolicies.compute.makonis.lv",
                "probes.slo.makonis.lv",
                "servicelevelobjectives.slo.makonis.lv",
                "directoryserviceaccounts.identity.makonis.lv",
            ],
            ControllerName::Compute => &[
                "agencies.tenancy.makonis.lv",
                "hostpools.compute.makonis.lv",
                "virtualmachines.compute.makonis.lv",
                "volumes.compute.makonis.lv",
                "backuppolicies.compute.makonis.lv",
                "backups.compute.makonis.lv",
                "restores.compute.makonis.lv",
            ],
            ControllerName::Identity => &[
                "agencies.tenancy.makonis.lv",
                "directories.identity.makonis.lv",
                "directoryusers.identity.makonis.lv",
                "directorygroups.identity.makonis.lv",
                "directoryserviceaccounts.identity.makonis.lv",
                "mailboxes.mail.makonis.lv",
            ],
            ControllerName::Mail => &[
                "agencies.tenancy.makonis.lv",
                "directories.identity.makonis.lv",
                "directoryusers.identity.makonis.lv",
                "directorygroups.identity.makonis.lv",
                "maildomains.mail.makonis.lv",
                "mailboxes.mail.makonis.lv",
                "mailaliases.mail.makonis.lv",
                "mailinglists.mail.makonis.lv",
                "mailboxmigrations.mail.makonis.lv",
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn operator_defaults() {
        let cli = Cli::try_parse_from(["makonis", "operator"]).unwrap();
        let Command::Operator(args) = cli.command else { panic!("not operator") };
        assert_eq!(args.controllers, [ControllerName::Tenancy, ControllerName::Catalog]);
        assert_eq!(args.webhook.webhook_address, None);
        assert_eq!(args.platform.apps_domain, "apps.makonis.lv");
        assert_eq!(args.resync_seconds, 300);
        assert_eq!(args.metrics_address.to_string(), "127.0.0.1:9464");
    }

    #[test]
    fn every_controller_waits_for_a_crd_we_ship() {
        let shipped: Vec<String> = makonis_api::all_crds().into_iter().filter_map(|c| c.metadata.name).collect();
        for controller in ControllerName::value_variants() {
            for crd in controller.crds() {
                assert!(shipped.iter().any(|name| name == crd), "{controller:?} {crd}");
            }
        }
    }

    #[test]
    fn portal_trusted_proxies_are_ranges_or_addresses() {
        let cli =
            Cli::try_parse_from(["makonis", "portal", "--trusted-proxies", "10.0.0.0/8, 192.0.2.7,fd00::/8"]).unwrap();
        let Command::Portal(args) = cli.command else { panic!("not portal") };
        let shown: Vec<String> = args.trusted_proxies.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["10.0.0.0/8", "192.0.2.7/32", "fd00::/8"]);
        assert_eq!(args.metrics_address.to_string(), "127.0.0.1:9468");
        assert!(Cli::try_parse_from(["makonis", "portal", "--trusted-proxies", "ingress"]).is_err());
    }

    #[test]
    fn the_portal_serves_without_a_task_and_checks_its_trail_with_one() {
        let cli = Cli::try_parse_from(["makonis", "portal", "--address", "127.0.0.1:9000"]).unwrap();
        let Command::Portal(args) = cli.command else { panic!("not portal") };
        assert!(args.task.is_none());
        let hash = "ab".repeat(32);
        let anchor = format!("12:{hash}");
        let cli = Cli::try_parse_from(["makonis", "portal", "verify-audit", "--anchor", &anchor]).unwrap();
        let Command::Portal(args) = cli.command else { panic!("not portal") };
        let Some(PortalTask::VerifyAudit(verify)) = args.task else { panic!("not verify-audit") };
        assert_eq!(verify.anchor.map(|a| (a.seq, a.hash)), Some((12, hash)));
        assert!(Cli::try_parse_from(["makonis", "portal", "verify-audit", "--anchor", "12"]).is_err());
        assert!(Cli::try_parse_from(["makonis", "portal", "--address", "127.0.0.1:9000", "migrate"]).is_err());
    }

    #[test]
    fn zero_resync_is_refused() {
        assert!(Cli::try_parse_from(["makonis", "operator", "--resync-seconds", "0"]).is_err());
    }
}

/// Arguments of `makonis portal`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct PortalArgs {
    /// Instead of serving: a maintenance task on the portal's database.
    #[command(subcommand)]
    pub task: Option<PortalTask>,

    /// Address to serve on. Put a TLS-terminating ingress in front of it whenever a
    /// network is crossed.
    #[arg(long, env = "MAKONIS_PORTAL_ADDRESS", default_value = "127.0.0.1:8080")]
    pub address: SocketAddr,

    /// Address of the metrics listener: `/metrics` (Prometheus), `/healthz` and `/readyz`.
    /// Keep it off the ingress: only the monitoring needs it.
    #[arg(long, env = "MAKONIS_PORTAL_METRICS_ADDRESS", default_value = "127.0.0.1:9468")]
    pub metrics_address: SocketAddr,

    /// Address ranges (CIDR, or single addresses; comma-separated or repeated) of the
    /// proxies in front of the portal, e.g. the ingress controller's pods. Only from these
    /// is the `--forwarded-header` believed, read from the right: the first address that
    /// is not a trusted proxy is the client's, for the audit trail and the sign-in throttle.
    /// Without it every request's address is its connection's peer.
    #[arg(long = "trusted-proxies", env = "MAKONIS_PORTAL_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_network)]
    pub trusted_proxies: Vec<IpNet>,

    /// The header the trusted proxies write the client's address in (only this one is
    /// read: a proxy passes the other through from the client untouched).
    #[arg(long, env = "MAKONIS_PORTAL_FORWARDED_HEADER", value_enum, default_value_t = ForwardedHeaderArg::XForwardedFor)]
    pub forwarded_header: ForwardedHeaderArg,

    /// Seconds an API token's or a session's owner, once looked up in the directory (or the
    /// local accounts), is believed; after that the next use looks them up again, so that
    /// a removed or disabled user, or one who lost a group, loses those powers. 0 looks up
    /// on every use.
    #[arg(long, env = "MAKONIS_PORTAL_IDENTITY_RECHECK_SECONDS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub identity_recheck_seconds: u64,

    /// Seconds between two resolutions of the role groups' names to their DNs (agencies'
    /// groups under their organisational unit, platform groups given by name under the
    /// group base).
    #[arg(long, env = "MAKONIS_PORTAL_GROUP_REFRESH_SECONDS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(10..=86400))]
    pub group_refresh_seconds: u64,

    /// Sign-in attempts allowed on one account from one address per window; the account
    /// from anywhere and the address for any account get four times as many.
    #[arg(long, env = "MAKONIS_PORTAL_LOGIN_MAX_ATTEMPTS", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub login_max_attempts: u32,

    /// The sign-in throttle's window in seconds.
    #[arg(long, env = "MAKONIS_PORTAL_LOGIN_WINDOW_SECONDS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub login_window_seconds: u64,

    /// Live status streams one user may hold open at once (per replica).
    #[arg(long, env = "MAKONIS_PORTAL_LIVE_STREAMS_PER_USER", default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub live_streams_per_user: u64,

    /// Database: `sqlite://FILE` (the embedded default) or `postgres://USER@HOST/DB`
    /// for production; the schema is migrated at start-up.
    #[arg(long, env = "MAKONIS_DATABASE_URL", default_value = "sqlite://makonis-data/portal.db")]
    pub database_url: String,

    /// Secret (`NAMESPACE/NAME`) whose key `accounts.yaml` lists local accounts
    /// (`username`, `displayName`, `email`, `groups`, `password`); they are created or
    /// updated at start-up, passwords stored only as argon2 hashes.
    #[arg(long, env = "MAKONIS_PORTAL_ACCOUNTS_SECRET")]
    pub accounts_secret: Option<String>,

    /// Directory group whose members are platform administrators: its DN
    /// (`CN=Makonis-Platform-Admins,OU=Makonis,DC=lm,DC=gov,DC=lv`, preferred), or a name
    /// that must belong to exactly one group under the group base. Local accounts list its
    /// name (the DN's CN).
    #[arg(long, env = "MAKONIS_PLATFORM_ADMIN_GROUP", default_value = "Makonis-Platform-Admins")]
    pub platform_admin_group: String,

    /// Directory group whose members are platform operators: a DN or a name, as for
    /// `--platform-admin-group`.
    #[arg(long, env = "MAKONIS_PLATFORM_OPERATOR_GROUP", default_value = "Makonis-Platform-Operators")]
    pub platform_operator_group: String,

    /// Directory group whose members are the platform's security officers: they search
    /// every agency's security logs in the SIEM (`/security`); a DN or a name, as for
    /// `--platform-admin-group`. Platform administrators are not security officers by
    /// being administrators.
    #[arg(long, env = "MAKONIS_PLATFORM_SECURITY_GROUP", default_value = "Makonis-Platform-Security")]
    pub platform_security_group: String,

    /// Hours a session lasts.
    #[arg(long, env = "MAKONIS_SESSION_HOURS", default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=168))]
    pub session_hours: u64,

    /// A label (`KEY=VALUE`, repeatable) put on every instance the portal applies, e.g.
    /// to hand them to a catalog operator started with `--instance-selector`.
    #[arg(long = "instance-label", env = "MAKONIS_PORTAL_INSTANCE_LABELS", value_delimiter = ',', value_parser = parse_label)]
    pub instance_labels: Vec<(String, String)>,

    /// Send cookies without `Secure` and without the `__Host-` prefix, for plain-HTTP
    /// development on a host other than localhost only (browsers treat
    /// `http://127.0.0.1` and `http://localhost` as secure, so the default works there).
    #[arg(long, env = "MAKONIS_INSECURE_COOKIES")]
    pub insecure_cookies: bool,

    /// DNS domain instances are named under, as the catalog operator's `--apps-domain`:
    /// host names in orders must lie under `<agency>.<domain>` or the agency's own domains.
    #[arg(long, env = "MAKONIS_APPS_DOMAIN", default_value = "apps.makonis.lv")]
    pub apps_domain: String,

    /// Ship the audit trail to the SIEM's HTTPS intake at this URL
    /// (`https://HOST:8514/v1/events`), with `--siem-client-certificate`; not shipped
    /// when unset. The SIEM's LogSource in the platform namespace claims the sender
    /// `platform: portal`. The Security pages search the same SIEM (`/v1/search` on the
    /// same host); without it they say the security log store is not connected.
    #[arg(long, env = "MAKONIS_PORTAL_SIEM_URL", requires_all = ["siem_client_certificate", "siem_client_key", "siem_ca"])]
    pub siem_url: Option<url::Url>,

    /// The portal's client certificate for the SIEM (PEM): DNS name `portal`, issued by
    /// the platform CA with O= the platform namespace.
    #[arg(long, env = "MAKONIS_PORTAL_SIEM_CLIENT_CERTIFICATE", value_name = "FILE", requires = "siem_url")]
    pub siem_client_certificate: Option<PathBuf>,

    /// Its private key (PEM).
    #[arg(long, env = "MAKONIS_PORTAL_SIEM_CLIENT_KEY", value_name = "FILE", requires = "siem_url")]
    pub siem_client_key: Option<PathBuf>,

    /// The CA certificate(s) that issued the SIEM's server certificate (PEM).
    #[arg(long, env = "MAKONIS_PORTAL_SIEM_CA", value_name = "FILE", requires = "siem_url")]
    pub siem_ca: Option<PathBuf>,

    /// How often new audit rows are shipped to the SIEM, in seconds.
    #[arg(long, env = "MAKONIS_PORTAL_SIEM_SECONDS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub siem_seconds: u64,

    /// The directory users sign in against.
    #[command(flatten)]
    pub directory: DirectoryArgs,
}

/// The header trusted proxies write the client's address in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ForwardedHeaderArg {
    /// `X-Forwarded-For` (ingress-nginx, HAProxy, most load balancers).
    XForwardedFor,
    /// `Forwarded` (RFC 7239).
    Forwarded,
}

/// Parses a CIDR range or a single address (a range of one).
fn parse_network(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| format!("`{text}` is neither a CIDR range (10.0.0.0/8) nor an address"))
}

/// What `makonis portal` does instead of serving.
#[derive(Debug, Subcommand)]
pub enum PortalTask {
    /// Check the audit trail: recompute its hash chain and name the first row that was
    /// edited, deleted, reordered or added around it.
    ///
    /// Reads only: a role with SELECT on the trail is enough. Exits 0 and prints the
    /// number of rows and the last row's hash when the trail is intact (keep that
    /// `SEQ:HASH` and pass it as `--anchor` later: a chain rewritten from an earlier row
    /// on no longer matches it); exits 2 and names the first broken row when it is not;
    /// exits 1 when the database cannot be read.
    VerifyAudit(VerifyAuditArgs),
    /// Bring the database schema up to date and chain audit rows written before the
    /// trail was a chain, then exit.
    ///
    /// Run it as the role that owns the schema, before starting a new version of the
    /// portal whose own role may only read and write rows (see the operator guide).
    Migrate(MigrateArgs),
}

/// Arguments of `makonis portal verify-audit`.
#[derive(Debug, Args)]
pub struct VerifyAuditArgs {
    /// The portal's database: `sqlite://FILE` or `postgres://USER@HOST/DB`.
    #[arg(long, env = "MAKONIS_DATABASE_URL", default_value = "sqlite://makonis-data/portal.db")]
    pub database_url: String,

    /// A row's hash printed by an earlier check (`SEQ:HASH`), which the chain must still
    /// contain.
    #[arg(long, value_name = "SEQ:HASH")]
    pub anchor: Option<makonis_portal::store::audit_chain::Anchor>,
}

/// Arguments of `makonis portal migrate`.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The portal's database, as the schema's owner: `sqlite://FILE` or
    /// `postgres://OWNER@HOST/DB`.
    #[arg(long, env = "MAKONIS_DATABASE_URL", default_value = "sqlite://makonis-data/portal.db")]
    pub database_url: String,
}

/// Which directory software is on the other end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DirectoryKind {
    /// Microsoft Active Directory or Samba AD (sAMAccountName, nested groups).
    ActiveDirectory,
    /// OpenLDAP (uid, groupOfNames).
    Openldap,
}

/// The LDAP / Active Directory sign-in.
#[derive(Debug, Args)]
pub struct DirectoryArgs {
    /// URL of the directory, `ldaps://host:636` or `ldap://host:389` (with
    /// `--ldap-start-tls`). Without it only local accounts sign in.
    #[arg(long, env = "MAKONIS_LDAP_URL")]
    pub ldap_url: Option<String>,

    /// Directory software.
    #[arg(long, env = "MAKONIS_LDAP_KIND", value_enum, default_value_t = DirectoryKind::ActiveDirectory)]
    pub ldap_kind: DirectoryKind,

    /// Upgrade an `ldap://` connection with StartTLS.
    #[arg(long, env = "MAKONIS_LDAP_START_TLS")]
    pub ldap_start_tls: bool,

    /// PEM file of the CA that signed the directory's certificate (default: system roots).
    #[arg(long, env = "MAKONIS_LDAP_CA_FILE")]
    pub ldap_ca_file: Option<PathBuf>,

    /// Distinguished name of the service account that looks users up.
    #[arg(long, env = "MAKONIS_LDAP_BIND_DN")]
    pub ldap_bind_dn: Option<String>,

    /// File holding the service account's password (mount it from a Kubernetes Secret).
    #[arg(long, env = "MAKONIS_LDAP_BIND_PASSWORD_FILE")]
    pub ldap_bind_password_file: Option<PathBuf>,

    /// Where users are searched, e.g. `DC=lm,DC=gov,DC=lv`.
    #[arg(long, env = "MAKONIS_LDAP_USER_BASE", default_value = "")]
    pub ldap_user_base: String,

    /// Where groups are searched (default: the user base).
    #[arg(long, env = "MAKONIS_LDAP_GROUP_BASE")]
    pub ldap_group_base: Option<String>,
}

/// Parses `KEY=VALUE`.
fn parse_label(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
        _ => Err(format!("`{text}` is not KEY=VALUE")),
    }
}

/// Arguments of `makonis slo`.
#[derive(Debug, Args)]
pub struct SloArgs {
    #[command(subcommand)]
    pub command: SloCommand,
}

/// What `makonis slo` does.
#[derive(Debug, Subcommand)]
pub enum SloCommand {
    /// Run the SLO engine against the cluster of the current kubeconfig until SIGTERM or
    /// Ctrl-C. Serves `/metrics`, `/healthz` and `/readyz` on `--metrics-address`.
    Run(Box<SloRunArgs>),
    /// Print the cluster's ServiceLevelObjectives as OpenSLO v1 YAML documents.
    ExportOpenslo(SloExportArgs),
}

/// Arguments of `makonis slo run`.
#[derive(Debug, Args)]
pub struct SloRunArgs {
    /// Address of the operations endpoint (`/metrics`, `/healthz`, `/readyz`).
    #[arg(long, env = "MAKONIS_SLO_METRICS_ADDRESS", default_value = "127.0.0.1:9467")]
    pub metrics_address: SocketAddr,

    /// The portal's database, where the SLA ledger lives: `sqlite://path/portal.db` or
    /// `postgres://…`. The schema is brought up to date at start.
    #[arg(long, env = "MAKONIS_DATABASE_URL", default_value = "sqlite://makonis-data/portal.db")]
    pub database_url: String,

    /// Probe runs in flight at most at once.
    #[arg(long, env = "MAKONIS_SLO_MAX_CONCURRENT_PROBES", default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub max_concurrent_probes: u64,

    /// Seconds between evaluations of every objective (outages also trigger one).
    #[arg(long, env = "MAKONIS_SLO_EVALUATION_SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub evaluation_seconds: u64,

    #[command(flatten)]
    pub calendar: CalendarArgs,

    /// PEM file of CAs trusted for HTTPS probes besides the web PKI (repeatable).
    #[arg(long = "probe-ca-file", env = "MAKONIS_SLO_PROBE_CA_FILES", value_delimiter = ',', value_name = "FILE")]
    pub probe_ca_files: Vec<PathBuf>,

    /// Probe hosts matching PATTERN at ADDRESS instead of their DNS answer, e.g.
    /// `*.apps.makonis.lv=10.0.0.5:443` (the ingress); repeatable.
    #[arg(long = "resolve", env = "MAKONIS_SLO_RESOLVE", value_delimiter = ',', value_name = "PATTERN=ADDRESS")]
    pub resolve: Vec<makonis_slo::probe::ResolveOverride>,

    /// The Prometheus that objectives with a `prometheus` indicator query, e.g.
    /// `http://prometheus.monitoring:9090`.
    #[arg(long, env = "MAKONIS_SLO_PROMETHEUS_URL")]
    pub prometheus_url: Option<String>,

    /// DNS domain under which instances get host names (`<instance>.<agency>.<domain>`):
    /// an agency's probes may target hosts under `<agency>.<domain>` (and the domains
    /// its Agency lists) and the Services of its namespace, nothing else.
    #[arg(long, env = "MAKONIS_APPS_DOMAIN", default_value = "apps.makonis.lv")]
    pub apps_domain: String,

    /// Address ranges agencies' probes may never reach, besides loopback, link-local and
    /// the API server (always refused): the cluster's pod and Service networks, the
    /// nodes' and the control plane's, e.g. `10.244.0.0/16,10.96.0.0/12` (repeatable).
    #[arg(long = "probe-deny-cidr", env = "MAKONIS_SLO_PROBE_DENY_CIDRS", value_delimiter = ',', value_name = "CIDR")]
    pub probe_deny_cidrs: Vec<ipnet::IpNet>,

    /// The admission webhook that refuses agencies' Probes pointing outside their own
    /// host names and Services (served by every replica, leader or not).
    #[command(flatten)]
    pub webhook: WebhookArgs,

    /// Namespace of Mākonis itself: the platform's own objectives and the engine's
    /// PrometheusRule live here, and its leader Lease.
    #[arg(long, env = "MAKONIS_PLATFORM_NAMESPACE", default_value = "makonis-system")]
    pub platform_namespace: String,

    /// Take a Lease before running, so that only one of several replicas probes.
    #[arg(long, env = "MAKONIS_LEADER_ELECTION")]
    pub leader_election: bool,

    /// Name of the Lease.
    #[arg(long, env = "MAKONIS_SLO_LEASE_NAME", default_value = "makonis-slo")]
    pub lease_name: String,

    /// Seconds a Lease is held without renewal.
    #[arg(long, env = "MAKONIS_LEASE_SECONDS", default_value_t = 15, value_parser = clap::value_parser!(u64).range(2..=300))]
    pub lease_seconds: u64,

    /// Seconds after its last successful renewal by which a leader that cannot renew
    /// stops (the process exits); shorter than --lease-seconds. Default: two thirds of it.
    #[arg(long, env = "MAKONIS_LEASE_RENEW_DEADLINE_SECONDS", value_parser = clap::value_parser!(u64).range(1..=299))]
    pub lease_renew_deadline_seconds: Option<u64>,
}

/// Arguments of `makonis slo export-openslo`.
#[derive(Debug, Args)]
pub struct SloExportArgs {
    /// Only this namespace's objectives (default: every namespace).
    #[arg(long, short = 'n')]
    pub namespace: Option<String>,
}

/// Arguments of `makonis siem`.
#[derive(Debug, Args)]
pub struct SiemArgs {
    #[command(subcommand)]
    pub command: SiemCommand,
}

/// What `makonis siem` does.
#[derive(Debug, Subcommand)]
pub enum SiemCommand {
    /// Receive syslog over TCP, UDP and RELP from the senders the cluster's LogSources claim,
    /// store every event in the tamper-evident store (unclaimed and unreadable ones in its
    /// quarantine), write each LogSource's status, close past days with signed
    /// checkpoints and apply the RetentionPolicies, until SIGTERM or Ctrl-C. Serves
    /// `/metrics`, `/healthz` and `/readyz` on `--metrics-address`. Run one replica: the
    /// store is one process's.
    Run(Box<SiemRunArgs>),
    /// Recompute the hash chains of the event store for event days `--from` to `--to`
    /// (UTC) against every signed checkpoint, in the store and in the checkpoint log, and
    /// name the first altered, removed or inserted event of each partition. Exits with 1
    /// when anything is wrong.
    Verify(SiemVerifyArgs),
    /// Make a new Ed25519 key that signs checkpoints: writes the private key (PKCS#8
    /// DER) to `--out`, for a Kubernetes Secret, and prints the public key (hex), which
    /// `makonis siem verify` takes.
    Keygen(SiemKeygenArgs),
    /// Evaluate every Sigma rule under `--rules` over log files, offline and exactly as
    /// the engine would, and print one JSON object per alert: `{"rule_id", "title",
    /// "level", "file", "events": [{"line", "time"}…], "group", "first", "last"}`. A
    /// detection rule gives one alert per matching event, a correlation one per firing.
    /// Rules that cannot be taken, and records that cannot be read, are reported on
    /// standard error with their file and line; it fails when no rule could be taken.
    Replay(SiemReplayArgs),
    /// Turn a folder of Sigma files into `DetectionRule`s (with `--namespace`) or
    /// `ClusterDetectionRule`s, printed as YAML for `kubectl apply -f -`: each correlation
    /// with the rules it refers to, and each other rule on its own. Every rule it could
    /// not take is reported on standard error with its file, line and reason.
    ImportSigma(SiemImportSigmaArgs),
}

/// Where the SIEM keeps its events: SQLite files in a directory (`--store`, the default)
/// or a PostgreSQL database (`--store-url`).
#[derive(Debug, Args)]
pub struct SiemStoreArgs {
    /// The store's directory (its catalog and one SQLite file per event day and category).
    #[arg(long, env = "MAKONIS_SIEM_STORE", default_value = "makonis-data/siem")]
    pub store: PathBuf,

    /// A PostgreSQL database to keep the events in instead of `--store`:
    /// `postgres://ROLE:PASSWORD@HOST:PORT/DATABASE` (give it in the environment to keep
    /// the password out of the process list). The store is the database's schema `siem`,
    /// one table partition per event day and category.
    #[arg(long, env = "MAKONIS_SIEM_STORE_URL", value_name = "URL", conflicts_with = "store")]
    pub store_url: Option<String>,

    /// The file every checkpoint is appended to as well; keep it on other storage than
    /// the store.
    #[arg(
        long,
        env = "MAKONIS_SIEM_CHECKPOINT_LOG",
        default_value = "makonis-data/siem-checkpoints/checkpoints.jsonl"
    )]
    pub checkpoint_log: PathBuf,
}

/// Arguments of `makonis siem run`.
#[derive(Debug, Args)]
pub struct SiemRunArgs {
    #[command(flatten)]
    pub store: SiemStoreArgs,

    /// The private key that signs checkpoints (PKCS#8 DER, as `makonis siem keygen`
    /// wrote it), mounted from a Kubernetes Secret.
    #[arg(long, env = "MAKONIS_SIEM_SIGNING_KEY", value_name = "FILE")]
    pub signing_key: PathBuf,

    /// Where to receive syslog over TCP (RFC 6587 octet counting or newline framing).
    #[arg(long, env = "MAKONIS_SIEM_SYSLOG_TCP", default_value = "0.0.0.0:1601")]
    pub syslog_tcp: SocketAddr,

    /// Where to receive syslog over UDP.
    #[arg(long, env = "MAKONIS_SIEM_SYSLOG_UDP", default_value = "0.0.0.0:1514")]
    pub syslog_udp: SocketAddr,

    /// Where to receive syslog over RELP (rsyslog's `omrelp`): each message acknowledged
    /// once stored, so that nothing is lost.
    #[arg(long, env = "MAKONIS_SIEM_RELP", default_value = "0.0.0.0:2514")]
    pub relp: SocketAddr,

    /// Where to receive syslog over TLS (RFC 5425); listened on only with
    /// `--tls-certificate`.
    #[arg(long, env = "MAKONIS_SIEM_SYSLOG_TLS", default_value = "0.0.0.0:6514")]
    pub syslog_tls: SocketAddr,

    /// Where to receive JSON records over HTTPS (`POST /v1/events`: the API server's
    /// audit webhook, the portal's trail, JSON log shippers); listened on only with
    /// `--tls-certificate`.
    #[arg(long, env = "MAKONIS_SIEM_HTTPS", default_value = "0.0.0.0:8514")]
    pub https: SocketAddr,

    /// The TLS intakes' server certificate chain (PEM), e.g. `tls.crt` of a mounted
    /// cert-manager Secret; reloaded when it changes. Enables `--syslog-tls` and
    /// `--https`.
    #[arg(long, env = "MAKONIS_SIEM_TLS_CERTIFICATE", value_name = "FILE", requires_all = ["tls_key", "client_ca"])]
    pub tls_certificate: Option<PathBuf>,

    /// The server certificate's private key (PEM).
    #[arg(long, env = "MAKONIS_SIEM_TLS_KEY", value_name = "FILE", requires = "tls_certificate")]
    pub tls_key: Option<PathBuf>,

    /// The CA bundle (PEM) that issues senders' client certificates: the platform CA.
    /// Every TLS sender must present one; its DNS names are what LogSources claim and its
    /// subject's organisation (O=) the namespace it was issued for.
    #[arg(long, env = "MAKONIS_SIEM_CLIENT_CA", value_name = "FILE", requires = "tls_certificate")]
    pub client_ca: Option<PathBuf>,

    /// Address of the operations endpoint (`/metrics`, `/healthz`, `/readyz`).
    #[arg(long, env = "MAKONIS_SIEM_METRICS_ADDRESS", default_value = "127.0.0.1:9468")]
    pub metrics_address: SocketAddr,

    /// Batches waiting for the store at most; beyond, TCP senders are slowed down and UDP
    /// datagrams dropped (and counted).
    #[arg(long, env = "MAKONIS_SIEM_QUEUE", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub queue: u64,

    /// Mebibytes of received records waiting for the store at most (their parsed events
    /// take a few times more memory); beyond, senders are slowed down and UDP datagrams
    /// dropped, as with `--queue`.
    #[arg(long, env = "MAKONIS_SIEM_QUEUE_MIB", default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub queue_mib: u64,

    /// How often LogSources' claims and status are refreshed, in seconds.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub status_seconds: u64,

    /// How often past days are closed, open days signed so far and retention applied, in
    /// seconds: also the longest that events stored behind the SIEM's back stay unsigned.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub maintenance_seconds: u64,

    /// How long after its day (UTC) ends a day's partition is closed and signed, in
    /// minutes; a later event reopens it and it is signed again.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(0..=10_080))]
    pub lateness_minutes: u64,

    /// The platform's namespace: its LogSources may claim the platform's own senders.
    #[arg(long, env = "MAKONIS_PLATFORM_NAMESPACE", default_value = "makonis-system")]
    pub platform_namespace: String,

    /// The admission webhook that refuses detection rules the SIEM cannot evaluate.
    #[command(flatten)]
    pub webhook: WebhookArgs,

    /// How far behind the latest event an event may arrive and still count in a
    /// correlation's window; a later one is counted and reported, not correlated.
    #[arg(long, env = "MAKONIS_SIEM_ALLOWED_LATENESS", value_name = "DURATION", default_value = "5m")]
    pub allowed_lateness: jiff::SignedDuration,

    /// The calendar detection's working time (`makonis.working_time`) is computed by.
    #[command(flatten)]
    pub calendar: CalendarArgs,

    /// An Alertmanager every alert is sent to as well (its v2 API), `http://host:port`,
    /// so that routing to e-mail and on-call follows its configuration.
    #[arg(long, env = "MAKONIS_SIEM_ALERTMANAGER_URL", value_name = "URL")]
    pub alertmanager_url: Option<String>,

    /// How long after its last firing an alert takes the repeats of its rule and group
    /// (the same correlation over the same address, say) instead of a new alert being
    /// raised; `0s` raises every firing.
    #[arg(long, env = "MAKONIS_SIEM_ALERT_SUPPRESSION", value_name = "DURATION", default_value = "10m")]
    pub alert_suppression: jiff::SignedDuration,
}

/// Arguments of `makonis siem verify`.
#[derive(Debug, Args)]
pub struct SiemVerifyArgs {
    #[command(flatten)]
    pub store: SiemStoreArgs,

    /// The public key of the platform's checkpoint key, 64 hex digits (as `makonis siem
    /// keygen` printed it).
    #[arg(long, env = "MAKONIS_SIEM_PUBLIC_KEY")]
    pub public_key: String,

    /// First event day to check, `YYYY-MM-DD` (UTC).
    #[arg(long)]
    pub from: jiff::civil::Date,

    /// Last event day to check, `YYYY-MM-DD` (UTC); default: the same as `--from`.
    #[arg(long)]
    pub to: Option<jiff::civil::Date>,
}

/// The Latvian calendar's days declared by the government, which business hours, working
/// time and the monthly reports count.
#[derive(Debug, Args)]
pub struct CalendarArgs {
    /// Extra days off declared by the government (`YYYY-MM-DD`, repeat or comma-separate),
    /// besides the public holidays in law, e.g. `2025-05-02`.
    #[arg(long = "extra-day-off", env = "MAKONIS_SLO_EXTRA_DAYS_OFF", value_delimiter = ',', value_name = "DATE")]
    pub extra_days_off: Vec<jiff::civil::Date>,

    /// Saturdays or Sundays the government declared working days (`YYYY-MM-DD`, repeat
    /// or comma-separate), e.g. `2025-05-10` in place of Friday 2025-05-02. Business-hours
    /// objectives, the monthly report and working time count them as working days.
    #[arg(
        long = "extra-working-day",
        env = "MAKONIS_SLO_EXTRA_WORKING_DAYS",
        value_delimiter = ',',
        value_name = "DATE"
    )]
    pub extra_working_days: Vec<jiff::civil::Date>,
}

impl CalendarArgs {
    /// The calendar with the declared days; contradictory ones are refused.
    pub fn holidays(&self) -> Result<makonis_slo_core::HolidayCalendar, makonis_slo_core::CalendarError> {
        makonis_slo_core::HolidayCalendar::declared(
            self.extra_days_off.iter().copied(),
            self.extra_working_days.iter().copied(),
        )
    }
}

/// Arguments of `makonis siem replay`.
#[derive(Debug, Args)]
pub struct SiemReplayArgs {
    /// A folder of Sigma rules (`*.yml`, `*.yaml`, searched recursively; a file may hold
    /// several YAML documents, and correlations refer to rules by id or name across
    /// files), or one rule file.
    #[arg(long, value_name = "DIR")]
    pub rules: PathBuf,

    /// What the files hold: `auto` tells each record by its look (JSON objects as Windows
    /// or Kubernetes audit events, other lines as syslog).
    #[arg(long, value_enum, default_value = "auto")]
    pub format: ReplayFormat,

    /// The year of RFC 3164 timestamps, which have none; default: the year nearest the
    /// time of the replay.
    #[arg(long, value_name = "YYYY", value_parser = clap::value_parser!(i16).range(1970..=9999))]
    pub year: Option<i16>,

    /// A logsource attribute every event carries besides its own, as a LogSource's
    /// category would give it: `product=…`, `service=…` or `category=…`; repeatable.
    #[arg(long, value_name = "KEY=VALUE")]
    pub logsource: Vec<String>,

    /// How far behind the latest event an event may be and still count in a
    /// correlation's window, like the engine's `--allowed-lateness`.
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    pub allowed_lateness: jiff::SignedDuration,

    /// The calendar `makonis.working_time` is computed by.
    #[command(flatten)]
    pub calendar: CalendarArgs,

    /// The log files, read in this order.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// Arguments of `makonis siem import-sigma`.
#[derive(Debug, Args)]
pub struct SiemImportSigmaArgs {
    /// The folder of Sigma files (`*.yml`, `*.yaml`, searched recursively), or one file.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,

    /// Make `DetectionRule`s of this agency namespace (they see only its agency's events)
    /// instead of platform `ClusterDetectionRule`s.
    #[arg(long, value_name = "NAMESPACE")]
    pub namespace: Option<String>,

    /// The agencies (codes) whose events the `ClusterDetectionRule`s see; default: every
    /// agency's and the platform's.
    #[arg(long, value_delimiter = ',', value_name = "CODE", conflicts_with = "namespace")]
    pub agencies: Vec<String>,

    /// Import the rules disabled, to enable each after replaying it over your logs.
    #[arg(long)]
    pub disabled: bool,
}

/// What `makonis siem replay --format` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReplayFormat {
    /// Each record by its look.
    Auto,
    /// Syslog lines (RFC 5424 or 3164, with or without `<PRI>`).
    Syslog,
    /// Windows events as JSON (flat, Winlogbeat or an EVTX export).
    WindowsJson,
    /// Kubernetes audit events (`audit.k8s.io/v1`).
    K8sAudit,
}

/// Arguments of `makonis siem keygen`.
#[derive(Debug, Args)]
pub struct SiemKeygenArgs {
    /// Where to write the private key (created with mode 0600; never overwritten).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}
