//! Storage pools and volumes: lookups, idempotent create (empty or cloned), grow-only resize
//! (online through the domain when attached to a running one), delete and stream upload.

use std::io::{ErrorKind, Read};

use virt::error::ErrorNumber;
use virt::storage_pool::StoragePool;
use virt::storage_vol::StorageVol;
use virt::stream::Stream;
use virt::sys;

use super::HypervisorError;
use super::connection::{Hypervisor, has_code};
use super::spec::{PoolInfo, VolumeFormat, VolumeInfo, VolumeSource, VolumeSpec};
use super::stream::{CHUNK, send_all};
use super::xml::{pool_dir_xml, pool_path, volume_format, volume_xml};

/// `bytes` for people: "10 GiB", "1.5 GiB", "64 MiB", "4096 bytes".
fn human_size(bytes: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 40, "TiB"), (1 << 30, "GiB"), (1 << 20, "MiB")];
    for (unit, name) in UNITS {
        if bytes >= unit {
            return if bytes.is_multiple_of(unit) {
                format!("{} {name}", bytes / unit)
            } else {
                format!("{:.2} {name}", bytes as f64 / unit as f64)
            };
        }
    }
    format!("{bytes} bytes")
}

impl Hypervisor {
    /// The storage pool `name`, or [`HypervisorError::NotFound`].
    pub(crate) fn require_pool(&self, name: &str) -> Result<StoragePool, HypervisorError> {
        match self.conn().lookup_storage_pool_by_name(name) {
            Ok(pool) => Ok(pool),
            Err(e) if has_code(&e, ErrorNumber::NoStoragePool) => Err(self.not_found(
                format!("storage pool {name}"),
                "define it on that host (virsh pool-define-as, or ensure_pool_dir) or fix the pool in the host's configuration",
            )),
            Err(e) => Err(self.fail(format!("look up storage pool {name}"), e)),
        }
    }

    fn lookup_volume(
        &self,
        pool: &StoragePool,
        pool_name: &str,
        name: &str,
    ) -> Result<Option<StorageVol>, HypervisorError> {
        match pool.lookup_storage_vol_by_name(name) {
            Ok(volume) => Ok(Some(volume)),
            Err(e) if has_code(&e, ErrorNumber::NoStorageVolume) => Ok(None),
            Err(e) => Err(self.fail(format!("look up volume {name} in pool {pool_name}"), e)),
        }
    }

    /// Volume `name` of pool `pool` with its description, or [`HypervisorError::NotFound`].
    pub(crate) fn require_volume(&self, pool: &str, name: &str) -> Result<(StorageVol, VolumeInfo), HypervisorError> {
        let pool_handle = self.require_pool(pool)?;
        let volume = self.lookup_volume(&pool_handle, pool, name)?.ok_or_else(|| {
            self.not_found(
                format!("volume {name} in storage pool {pool}"),
                "create it first or check the volume's name",
            )
        })?;
        let info = self.describe_volume(&volume, pool, name)?;
        Ok((volume, info))
    }

    fn describe_volume(&self, volume: &StorageVol, pool: &str, name: &str) -> Result<VolumeInfo, HypervisorError> {
        let fail = |what: &str, e| self.fail(format!("read the {what} of volume {name} in pool {pool}"), e);
        let info = volume.info().map_err(|e| fail("size", e))?;
        let xml = volume.xml_desc(0).map_err(|e| fail("XML", e))?;
        Ok(VolumeInfo {
            name: name.to_string(),
            key: volume.key().map_err(|e| fail("key", e))?,
            path: volume.path().map_err(|e| fail("path", e))?,
            capacity_bytes: info.capacity,
            allocation_bytes: info.allocation,
            format: volume_format(&xml),
        })
    }

    /// State and space of storage pool `name` (refreshed first when it is active).
    pub fn pool(&self, name: &str) -> Result<PoolInfo, HypervisorError> {
        let pool = self.require_pool(name)?;
        let active = pool.is_active().map_err(|e| self.fail(format!("read the state of storage pool {name}"), e))?;
        if active {
            // Best effort: a refresh is refused while an upload or download runs in the pool;
            // the figures are then the ones of the last refresh.
            let _ = pool.refresh(0);
        }
        let info = pool.info().map_err(|e| self.fail(format!("read the space of storage pool {name}"), e))?;
        let xml = pool.xml_desc(0).map_err(|e| self.fail(format!("read the XML of storage pool {name}"), e))?;
        Ok(PoolInfo {
            name: name.to_string(),
            capacity_bytes: info.capacity,
            allocation_bytes: info.allocation,
            available_bytes: info.available,
            path: pool_path(&xml),
            active,
        })
    }

    /// Makes sure a started directory pool `name` exists: defines it at `path`, builds the
    /// directory and starts it (autostarted with the daemon) when missing or stopped.
    pub fn ensure_pool_dir(&self, name: &str, path: &str) -> Result<PoolInfo, HypervisorError> {
        let pool = match self.conn().lookup_storage_pool_by_name(name) {
            Ok(pool) => pool,
            Err(e) if has_code(&e, ErrorNumber::NoStoragePool) => {
                let pool = self
                    .conn()
                    .define_storage_pool_xml(&pool_dir_xml(name, path), 0)
                    .map_err(|e| self.fail(format!("define storage pool {name} at {path}"), e))?;
                pool.build(sys::VIR_STORAGE_POOL_BUILD_NEW)
                    .map_err(|e| self.fail(format!("create the directory {path} of storage pool {name}"), e))?;
                pool.set_autostart(true).map_err(|e| self.fail(format!("autostart storage pool {name}"), e))?;
                pool
            }
            Err(e) => return Err(self.fail(format!("look up storage pool {name}"), e)),
        };
        if !pool.is_active().map_err(|e| self.fail(format!("read the state of storage pool {name}"), e))? {
            pool.create(0).map_err(|e| self.fail(format!("start storage pool {name}"), e))?;
        }
        self.pool(name)
    }

    /// Volume `name` of pool `pool`, or `None` when the pool has none of that name.
    pub fn find_volume(&self, pool: &str, name: &str) -> Result<Option<VolumeInfo>, HypervisorError> {
        let pool_handle = self.require_pool(pool)?;
        self.lookup_volume(&pool_handle, pool, name)?
            .map(|volume| self.describe_volume(&volume, pool, name))
            .transpose()
    }

    /// Names of the volumes in pool `pool`.
    pub fn list_volumes(&self, pool: &str) -> Result<Vec<String>, HypervisorError> {
        let pool_handle = self.require_pool(pool)?;
        pool_handle.list_volumes().map_err(|e| self.fail(format!("list the volumes of storage pool {pool}"), e))
    }

    /// Creates volume `spec.name` in pool `pool`, empty or cloned from another volume of this
    /// host (grown to `spec.capacity_bytes` when the source is smaller). Idempotent: an
    /// existing volume of that name is returned as it is.
    pub fn create_volume(&self, pool: &str, spec: &VolumeSpec) -> Result<VolumeInfo, HypervisorError> {
        let name = &spec.name;
        let pool_handle = self.require_pool(pool)?;
        if let Some(existing) = self.lookup_volume(&pool_handle, pool, name)? {
            return self.describe_volume(&existing, pool, name);
        }
        let xml = volume_xml(name, spec.capacity_bytes, spec.format);
        let created = match &spec.source {
            VolumeSource::Empty => StorageVol::create_xml(&pool_handle, &xml, 0)
                .map_err(|e| (e, format!("create volume {name} in pool {pool}"))),
            VolumeSource::Clone { pool: source_pool, name: source_name } => {
                let (source, _) = self.require_volume(source_pool, source_name)?;
                StorageVol::create_xml_from(&pool_handle, &xml, &source, 0).map_err(|e| {
                    (e, format!("clone volume {source_name} of pool {source_pool} to {name} in pool {pool}"))
                })
            }
        };
        let volume = match created {
            Ok(volume) => volume,
            // Someone else created it meanwhile: that one is the answer.
            Err((e, _)) if has_code(&e, ErrorNumber::StorageVolExist) => {
                return self.require_volume(pool, name).map(|(_, info)| info);
            }
            Err((e, action)) => return Err(self.fail(action, e)),
        };
        let info = self.describe_volume(&volume, pool, name)?;
        if info.capacity_bytes >= spec.capacity_bytes {
            return Ok(info);
        }
        volume.resize(spec.capacity_bytes, 0).map_err(|e| {
            self.fail(format!("grow the new volume {name} in pool {pool} to {}", human_size(spec.capacity_bytes)), e)
        })?;
        self.describe_volume(&volume, pool, name)
    }

    /// Grows volume `name` of pool `pool` to `capacity_bytes`: online through the domain when
    /// `attached_to_running` names a running domain and the disk's target device, offline
    /// otherwise. Shrinking is refused; the same size is a no-op.
    pub fn resize_volume(
        &self,
        pool: &str,
        name: &str,
        capacity_bytes: u64,
        attached_to_running: Option<(&str, &str)>,
    ) -> Result<(), HypervisorError> {
        let (volume, info) = self.require_volume(pool, name)?;
        if capacity_bytes < info.capacity_bytes {
            return Err(self.refused(format!(
                "volume {name} on pool {pool} is {}; shrinking to {} would destroy data and is refused. Keep the \
                 size, or create a smaller volume and copy the data inside the guest",
                human_size(info.capacity_bytes),
                human_size(capacity_bytes)
            )));
        }
        if capacity_bytes == info.capacity_bytes {
            return Ok(());
        }
        if let Some((domain_name, target_dev)) = attached_to_running
            && let Some(domain) = self.lookup_domain(domain_name)?
            && domain.is_active().map_err(|e| self.fail(format!("read the state of domain {domain_name}"), e))?
        {
            return domain.block_resize(target_dev, capacity_bytes, sys::VIR_DOMAIN_BLOCK_RESIZE_BYTES).map_err(|e| {
                self.fail(
                    format!(
                        "grow disk {target_dev} (volume {name} of pool {pool}) of running domain {domain_name} to {}",
                        human_size(capacity_bytes)
                    ),
                    e,
                )
            });
        }
        volume
            .resize(capacity_bytes, 0)
            .map_err(|e| self.fail(format!("grow volume {name} in pool {pool} to {}", human_size(capacity_bytes)), e))
    }

    /// Deletes volume `name` of pool `pool`; does nothing when it is absent.
    pub fn delete_volume(&self, pool: &str, name: &str) -> Result<(), HypervisorError> {
        let pool_handle = self.require_pool(pool)?;
        let Some(volume) = self.lookup_volume(&pool_handle, pool, name)? else { return Ok(()) };
        match volume.delete(0) {
            Ok(()) => Ok(()),
            Err(e) if has_code(&e, ErrorNumber::NoStorageVolume) => Ok(()),
            Err(e) => Err(self.fail(format!("delete volume {name} in pool {pool}"), e)),
        }
    }

    /// Writes `data` into volume `name` of pool `pool` from its first byte, streamed through
    /// libvirt; returns the bytes written. Bytes beyond the data keep their content; data
    /// longer than a raw volume fails.
    pub fn upload(&self, pool: &str, name: &str, data: &mut dyn Read) -> Result<u64, HypervisorError> {
        let (volume, info) = self.require_volume(pool, name)?;
        let fail = |e| self.fail(format!("upload into volume {name} of pool {pool}"), e);
        let stream = Stream::new(self.conn(), 0).map_err(fail)?;
        // A raw volume is limited to its capacity, a qcow2 container is replaced as a file.
        let length = if info.format == VolumeFormat::Raw { info.capacity_bytes } else { 0 };
        volume.upload(&stream, 0, length, 0).map_err(fail)?;
        let mut buffer = vec![0u8; CHUNK];
        let mut total = 0u64;
        loop {
            let read = match data.read(&mut buffer) {
                Ok(0) => break,
                Ok(read) => read,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(source) => {
                    // The reader's error is the one to report; the abort only ends the stream.
                    let _ = stream.abort();
                    return Err(HypervisorError::Io {
                        uri: self.shown_uri().to_string(),
                        volume: format!("{pool}/{name}"),
                        source,
                    });
                }
            };
            if let Err(e) = send_all(&stream, &buffer[..read]) {
                let _ = stream.abort();
                return Err(fail(e));
            }
            total += read as u64;
        }
        stream.finish().map_err(fail)?;
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_people_write_them() {
        assert_eq!(human_size(10 << 30), "10 GiB");
        assert_eq!(human_size(5 << 30), "5 GiB");
        assert_eq!(human_size(3 << 29), "1.50 GiB");
        assert_eq!(human_size(64 << 20), "64 MiB");
        assert_eq!(human_size(4096), "4096 bytes");
    }
}
