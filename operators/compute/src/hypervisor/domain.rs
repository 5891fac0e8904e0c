//! Mākonis domains: define (idempotently, guarded by the owner uid in our metadata), start,
//! stop, undefine, list and find addresses.

use std::thread;
use std::time::{Duration, Instant};

use virt::domain::{Domain, DomainState};
use virt::enumutil::Enum;
use virt::error::ErrorNumber;
use virt::sys;

use super::HypervisorError;
use super::connection::{Hypervisor, has_code};
use super::spec::{DomainInfo, DomainSpec, PowerState};
use super::xml::{domain_xml, has_nvram, owner_uid};

/// How often [`Hypervisor::stop_domain`] checks whether the guest has powered off.
const STOP_POLL: Duration = Duration::from_millis(200);

fn power_state(state: virt::domain::DomainStateEnum) -> PowerState {
    match state {
        Enum::Known(DomainState::Running | DomainState::Blocked) => PowerState::Running,
        Enum::Known(DomainState::Paused | DomainState::PMSuspended) => PowerState::Paused,
        Enum::Known(DomainState::Shutoff) => PowerState::ShutOff,
        Enum::Known(DomainState::Crashed) => PowerState::Crashed,
        _ => PowerState::Other,
    }
}

impl Hypervisor {
    /// The domain `name`, or `None` when the host has none of that name.
    pub(crate) fn lookup_domain(&self, name: &str) -> Result<Option<Domain>, HypervisorError> {
        match self.conn().lookup_domain_by_name(name) {
            Ok(domain) => Ok(Some(domain)),
            Err(e) if has_code(&e, ErrorNumber::NoDomain) => Ok(None),
            Err(e) => Err(self.fail(format!("look up domain {name}"), e)),
        }
    }

    /// The domain `name`, or [`HypervisorError::NotFound`].
    pub(crate) fn require_domain(&self, name: &str) -> Result<Domain, HypervisorError> {
        self.lookup_domain(name)?.ok_or_else(|| {
            self.not_found(
                format!("domain {name}"),
                "define it first (define_domain) or check the host it was placed on",
            )
        })
    }

    /// The current (live when running) XML of `domain`.
    pub(crate) fn domain_xml_of(&self, domain: &Domain, name: &str) -> Result<String, HypervisorError> {
        domain.xml_desc(0).map_err(|e| self.fail(format!("read the XML of domain {name}"), e))
    }

    fn describe(&self, domain: &Domain) -> Result<DomainInfo, HypervisorError> {
        let name = domain.name().map_err(|e| self.fail("read a domain's name", e))?;
        let uuid = domain.uuid_string().map_err(|e| self.fail(format!("read the UUID of domain {name}"), e))?;
        let info = domain.info().map_err(|e| self.fail(format!("read the state of domain {name}"), e))?;
        let xml = self.domain_xml_of(domain, &name)?;
        Ok(DomainInfo {
            state: power_state(info.state),
            owner_uid: owner_uid(&xml),
            vcpus: info.nr_virt_cpu,
            memory_bytes: info.max_mem.saturating_mul(1024),
            name,
            uuid,
        })
    }

    /// The domain `name`, or `None` when there is none.
    pub fn find_domain(&self, name: &str) -> Result<Option<DomainInfo>, HypervisorError> {
        self.lookup_domain(name)?.map(|domain| self.describe(&domain)).transpose()
    }

    /// All domains carrying Mākonis metadata, running or not.
    pub fn list_managed_domains(&self) -> Result<Vec<DomainInfo>, HypervisorError> {
        let domains = self.conn().list_all_domains(0).map_err(|e| self.fail("list domains", e))?;
        let mut managed = Vec::new();
        for domain in &domains {
            let info = self.describe(domain)?;
            if info.owner_uid.is_some() {
                managed.push(info);
            }
        }
        Ok(managed)
    }

    /// Defines the domain of `spec`, idempotently. An existing domain of that name must carry
    /// the same owner uid (else [`HypervisorError::Refused`]); when it is shut off it is
    /// redefined to `spec` (keeping its UUID), when it runs it is left as it is and the caller
    /// restarts it to apply changes.
    pub fn define_domain(&self, spec: &DomainSpec) -> Result<DomainInfo, HypervisorError> {
        let name = &spec.name;
        let uuid = match self.lookup_domain(name)? {
            Some(domain) => {
                let existing = self.describe(&domain)?;
                if existing.owner_uid.as_deref() != Some(spec.owner_uid.as_str()) {
                    let owner = match &existing.owner_uid {
                        Some(uid) => format!("belongs to the Mākonis VM with uid {uid}"),
                        None => "is not managed by Mākonis (it has no Mākonis metadata)".to_string(),
                    };
                    return Err(self.refused(format!(
                        "domain {name} already exists and {owner}; it is not redefined for VM {}/{} (uid {}). \
                         Rename the VM or remove the other domain",
                        spec.owner_namespace, spec.owner_name, spec.owner_uid
                    )));
                }
                if existing.state != PowerState::ShutOff {
                    return Ok(existing);
                }
                Some(existing.uuid)
            }
            None => None,
        };
        let xml = domain_xml(spec, uuid.as_deref(), self.offers_kvm());
        let domain = self.conn().define_domain_xml(&xml).map_err(|e| self.fail(format!("define domain {name}"), e))?;
        self.describe(&domain)
    }

    /// Starts domain `name`; does nothing when it already runs.
    pub fn start_domain(&self, name: &str) -> Result<(), HypervisorError> {
        let domain = self.require_domain(name)?;
        if domain.is_active().map_err(|e| self.fail(format!("read the state of domain {name}"), e))? {
            return Ok(());
        }
        domain.create().map_err(|e| self.fail(format!("start domain {name}"), e))?;
        Ok(())
    }

    /// Shuts domain `name` down: ACPI power button, then waits up to `grace` for the guest to
    /// power off, then pulls the plug. Does nothing when it is off or absent.
    pub fn stop_domain(&self, name: &str, grace: Duration) -> Result<(), HypervisorError> {
        let Some(domain) = self.lookup_domain(name)? else { return Ok(()) };
        let active = || domain.is_active().map_err(|e| self.fail(format!("read the state of domain {name}"), e));
        if !active()? {
            return Ok(());
        }
        // A guest without ACPI support ignores the button (or libvirt refuses it, e.g. while
        // paused); either way the grace period runs out and the domain is destroyed.
        if domain.shutdown_flags(sys::VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN).is_ok() {
            let deadline = Instant::now() + grace;
            while Instant::now() < deadline {
                if !active()? {
                    return Ok(());
                }
                thread::sleep(STOP_POLL.min(deadline.saturating_duration_since(Instant::now())));
            }
        }
        match domain.destroy() {
            Ok(()) => Ok(()),
            // It powered off between the last check and the destroy.
            Err(_) if !active()? => Ok(()),
            Err(e) => Err(self.fail(format!("force off domain {name}"), e)),
        }
    }

    /// Removes domain `name`: forces it off, then undefines it with its managed-save image,
    /// snapshot metadata and UEFI variables. Volumes stay. Does nothing when it is absent.
    pub fn undefine_domain(&self, name: &str) -> Result<(), HypervisorError> {
        let Some(domain) = self.lookup_domain(name)? else { return Ok(()) };
        self.stop_domain(name, Duration::ZERO)?;
        let mut flags = sys::VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | sys::VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA;
        if has_nvram(&self.domain_xml_of(&domain, name)?) {
            flags |= sys::VIR_DOMAIN_UNDEFINE_NVRAM;
        }
        match domain.undefine_flags(flags) {
            Ok(()) => Ok(()),
            Err(e) if has_code(&e, ErrorNumber::NoDomain) => Ok(()),
            Err(e) => Err(self.fail(format!("undefine domain {name}"), e)),
        }
    }

    /// The IP addresses of domain `name` from the DHCP leases of its libvirt networks; empty
    /// when they are unknown (not running, user-mode networking, driver without leases).
    pub fn domain_addresses(&self, name: &str) -> Result<Vec<String>, HypervisorError> {
        let domain = self.require_domain(name)?;
        let unknown = [
            ErrorNumber::NoSupport,
            ErrorNumber::OperationUnsupported,
            ErrorNumber::ArgumentUnsupported,
            ErrorNumber::OperationInvalid,
        ];
        match domain.interface_addresses(sys::VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE, 0) {
            Ok(interfaces) => Ok(interfaces.into_iter().flat_map(|i| i.addrs).map(|a| a.addr).collect()),
            Err(e) if unknown.into_iter().any(|code| has_code(&e, code)) => Ok(Vec::new()),
            Err(e) => Err(self.fail(format!("read the addresses of domain {name}"), e)),
        }
    }
}
