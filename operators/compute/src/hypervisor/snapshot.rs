//! A consistent point of a running domain's disk: [`freeze_disk`] moves the guest's writes onto
//! a qcow2 overlay next to the disk (an external, disk-only snapshot without libvirt metadata),
//! so the original volume stays still and can be copied; [`thaw_disk`] commits the overlay back
//! into the original while the guest runs, pivots the guest onto it and deletes the overlay.
//!
//! virt 0.5 has no bindings for block jobs, so the commit, its progress and the pivot call
//! libvirt's C API through `virt::sys`.

use std::ffi::CString;
use std::ptr;
use std::thread;
use std::time::{Duration, Instant};

use virt::domain::Domain;
use virt::error::{Error as VirtError, ErrorNumber};
use virt::sys;

use super::HypervisorError;
use super::connection::{Hypervisor, has_code};
use super::xml::{disk_source, disk_targets, snapshot_xml};

/// How often [`thaw_disk`] polls the block job.
const JOB_POLL: Duration = Duration::from_millis(100);
/// How long [`thaw_disk`] waits for the commit to become ready and to pivot.
const COMMIT_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// The overlay's file name: the disk's file name plus this suffix.
const OVERLAY_SUFFIX: &str = ".makonis-frozen.qcow2";

/// A disk whose guest writes go to an overlay; pass it to [`thaw_disk`] when the copy is done.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use = "a frozen disk grows an overlay until it is thawed"]
pub struct FrozenDisk {
    domain: String,
    target_dev: String,
    base_path: String,
    overlay_path: String,
}

impl FrozenDisk {
    /// The domain whose disk is frozen.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The frozen disk's target device, e.g. "vda".
    pub fn target_dev(&self) -> &str {
        &self.target_dev
    }

    /// The original, now stable, image: the one to copy.
    pub fn base_path(&self) -> &str {
        &self.base_path
    }

    /// The overlay that takes the guest's writes until the thaw.
    pub fn overlay_path(&self) -> &str {
        &self.overlay_path
    }
}

/// Turns a libvirt return code into a result.
fn check(code: i32) -> Result<i32, VirtError> {
    if code < 0 { Err(VirtError::last_error()) } else { Ok(code) }
}

fn c_string(host: &Hypervisor, text: &str) -> Result<CString, HypervisorError> {
    CString::new(text).map_err(|_| host.refused(format!("{text:?} contains a NUL byte")))
}

/// The progress of the block job on `disk`, or `None` when the disk has no job.
fn block_job(domain: &Domain, disk: &CString) -> Result<Option<sys::virDomainBlockJobInfo>, VirtError> {
    let mut info = sys::virDomainBlockJobInfo { type_: 0, bandwidth: 0, cur: 0, end: 0 };
    // SAFETY: the domain pointer is alive while `domain` is, `disk` is NUL-terminated, and
    // `info` is a writable struct of the type libvirt fills.
    let found = check(unsafe { sys::virDomainGetBlockJobInfo(domain.as_ptr(), disk.as_ptr(), &mut info, 0) })?;
    Ok((found == 1).then_some(info))
}

/// Freezes disk `target_dev` of the running domain `domain`: from now on the guest writes to
/// a new qcow2 overlay next to the disk's image and the image itself stays unchanged.
pub fn freeze_disk(host: &Hypervisor, domain: &str, target_dev: &str) -> Result<FrozenDisk, HypervisorError> {
    let handle = host.require_domain(domain)?;
    if !handle.is_active().map_err(|e| host.fail(format!("read the state of domain {domain}"), e))? {
        return Err(host.refused(format!(
            "domain {domain} is not running, so its disk {target_dev} does not change: copy the volume directly \
             instead of freezing it"
        )));
    }
    let xml = host.domain_xml_of(&handle, domain)?;
    let source = disk_source(&xml, target_dev).ok_or_else(|| {
        host.not_found(format!("disk {target_dev} of domain {domain}"), "check the disk's target device name")
    })?;
    if source.path.ends_with(OVERLAY_SUFFIX) {
        return Err(host.refused(format!(
            "disk {target_dev} of domain {domain} is already frozen (it writes to {}); thaw it first",
            source.path
        )));
    }
    let overlay_path = format!("{}{OVERLAY_SUFFIX}", source.path);
    let snapshot =
        snapshot_xml(&format!("makonis-freeze-{target_dev}"), target_dev, &overlay_path, &disk_targets(&xml));
    let flags = sys::VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY
        | sys::VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA
        | sys::VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC;
    handle.create_snapshot_xml(&snapshot, flags).map_err(|e| {
        host.fail(format!("freeze disk {target_dev} of domain {domain} onto the overlay {overlay_path}"), e)
    })?;
    Ok(FrozenDisk {
        domain: domain.to_string(),
        target_dev: target_dev.to_string(),
        base_path: source.path,
        overlay_path,
    })
}

/// Thaws a disk frozen by [`freeze_disk`]: commits the overlay into the original image while
/// the guest runs, waits until the commit has caught up, pivots the guest back onto the
/// original and deletes the overlay.
pub fn thaw_disk(host: &Hypervisor, frozen: FrozenDisk) -> Result<(), HypervisorError> {
    let FrozenDisk { domain, target_dev, base_path, overlay_path } = &frozen;
    let what = format!("disk {target_dev} of domain {domain}");
    let handle = host.require_domain(domain)?;
    if !handle.is_active().map_err(|e| host.fail(format!("read the state of domain {domain}"), e))? {
        return Err(host.refused(format!(
            "domain {domain} stopped while {what} was frozen; its data is in the overlay {overlay_path} on top of \
             {base_path}. Commit it offline (qemu-img commit {overlay_path}), point the disk at {base_path} again \
             and delete the overlay"
        )));
    }
    let disk = c_string(host, target_dev)?;
    let base = c_string(host, base_path)?;
    let fail = |action: &str, e| host.fail(format!("{action} {what}"), e);
    if block_job(&handle, &disk).map_err(|e| fail("read the block job of", e))?.is_none() {
        let flags = sys::VIR_DOMAIN_BLOCK_COMMIT_ACTIVE | sys::VIR_DOMAIN_BLOCK_COMMIT_DELETE;
        // SAFETY: pointers are alive and NUL-terminated for the call; top NULL = the active layer.
        check(unsafe {
            sys::virDomainBlockCommit(handle.as_ptr(), disk.as_ptr(), base.as_ptr(), ptr::null(), 0, flags)
        })
        .map_err(|e| fail("start committing the overlay of", e))?;
    }
    let deadline = Instant::now() + COMMIT_TIMEOUT;
    loop {
        let job = block_job(&handle, &disk).map_err(|e| fail("read the commit progress of", e))?;
        let Some(job) = job else {
            return Err(host.refused(format!(
                "the commit of {what} ended without a pivot (aborted from outside?); the guest still writes to \
                 {overlay_path}. Freeze it again later or commit it by hand"
            )));
        };
        if job.end > 0 && job.cur == job.end {
            // SAFETY: as above; PIVOT waits until the guest runs on the base image.
            let pivot = unsafe {
                sys::virDomainBlockJobAbort(handle.as_ptr(), disk.as_ptr(), sys::VIR_DOMAIN_BLOCK_JOB_ABORT_PIVOT)
            };
            match check(pivot) {
                Ok(_) => break,
                // Not ready after all (the guest wrote meanwhile): poll on.
                Err(e) if has_code(&e, ErrorNumber::BlockCopyActive) || has_code(&e, ErrorNumber::OperationInvalid) => {
                }
                Err(e) => return Err(fail("pivot back to the original image of", e)),
            }
        }
        if Instant::now() >= deadline {
            return Err(HypervisorError::Timeout {
                uri: host.shown_uri().to_string(),
                what: format!("the commit of {what}"),
                seconds: COMMIT_TIMEOUT.as_secs(),
                hint: format!(
                    "the guest may write faster than the commit copies; the job keeps running, thaw again later or \
                     abort it (virsh blockjob {domain} {target_dev} --abort) while the guest writes to {overlay_path}"
                ),
            });
        }
        thread::sleep(JOB_POLL);
    }
    while block_job(&handle, &disk).map_err(|e| fail("read the block job of", e))?.is_some() {
        thread::sleep(JOB_POLL);
    }
    let now = disk_source(&host.domain_xml_of(&handle, domain)?, target_dev).map(|source| source.path);
    if now.as_deref() != Some(base_path.as_str()) {
        return Err(host.refused(format!(
            "after the commit {what} uses {} instead of {base_path}; check the domain's disk chain",
            now.unwrap_or_else(|| "no image".to_string())
        )));
    }
    remove_overlay(host, base_path, overlay_path)
}

/// Deletes the overlay volume if the commit's delete flag left it behind, and refreshes the
/// pool of the base image so it no longer lists the overlay.
fn remove_overlay(host: &Hypervisor, base_path: &str, overlay_path: &str) -> Result<(), HypervisorError> {
    let base = match host.conn().lookup_storage_vol_by_path(base_path) {
        Ok(base) => base,
        // The disk is not in a libvirt pool: nothing to refresh, and libvirt deleted the file.
        Err(e) if has_code(&e, ErrorNumber::NoStorageVolume) => return Ok(()),
        Err(e) => return Err(host.fail(format!("look up the volume of {base_path}"), e)),
    };
    let pool = base.lookup_storage_pool().map_err(|e| host.fail(format!("find the pool of {base_path}"), e))?;
    pool.refresh(0).map_err(|e| host.fail(format!("refresh the pool of {base_path}"), e))?;
    match host.conn().lookup_storage_vol_by_path(overlay_path) {
        Ok(overlay) => overlay.delete(0).map_err(|e| host.fail(format!("delete the overlay {overlay_path}"), e)),
        Err(e) if has_code(&e, ErrorNumber::NoStorageVolume) => Ok(()),
        Err(e) => Err(host.fail(format!("look up the overlay {overlay_path}"), e)),
    }
}
