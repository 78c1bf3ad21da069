//! `host.write_blob` and `host.copy_to`: bytes onto a host, and a file from one host to
//! another through runbook with a checksum at both ends.

use super::host::ScriptHost;
use crate::transport::copy_between::{copy_between, Copied};
use crate::transport::files::FileError;
use rhai::plugin::*;
use rhai::{Dynamic, EvalAltResult};

fn copied_view(copied: &Copied) -> Result<Dynamic, Box<EvalAltResult>> {
    rhai::serde::to_dynamic(copied)
}

#[export_module]
pub mod host_transfer_api {
    use super::*;

    /// Writes bytes to a file on the host atomically (temp file + rename), keeping an
    /// existing file's mode.
    #[rhai_fn(pure, return_raw)]
    pub fn write_blob(
        host: &mut ScriptHost,
        path: &str,
        data: rhai::Blob,
    ) -> Result<(), Box<EvalAltResult>> {
        if host.ctx.planned_change("host.write_blob", || {
            format!("write {} bytes to {path} on {}", data.len(), host.name())
        })? {
            return Ok(());
        }
        let ctx = host.ctx.clone();
        ctx.block_on(async {
            let transport = ctx.transport(&host.host).await.map_err(FileError::from)?;
            transport.write_file(path, &data, &ctx.cancel.token()).await
        })
    }

    /// Copies the file `path` on this host to `dest` on `other`, through runbook.
    #[rhai_fn(pure, return_raw)]
    pub fn copy_to(
        host: &mut ScriptHost,
        path: &str,
        other: ScriptHost,
        dest: &str,
    ) -> Result<Dynamic, Box<EvalAltResult>> {
        let ctx = host.ctx.clone();
        if ctx.planned_change("host.copy_to", || {
            format!(
                "copy {path} on {} to {dest} on {} (sha256 checked at both ends)",
                host.name(),
                other.name()
            )
        })? {
            return copied_view(&Copied {
                from_host: host.name().to_string(),
                path: path.to_string(),
                host: other.name().to_string(),
                dest: dest.to_string(),
                bytes: 0,
                sha256: String::new(),
                already: false,
            });
        }
        let label = format!("copying {path} from {} to {}", host.name(), other.name());
        let copied = ctx.block_on(async {
            let source = ctx.transport(&host.host).await?;
            let target = ctx.transport(&other.host).await?;
            copy_between(
                &source,
                path,
                &target,
                dest,
                |done, total| ctx.reporter.progress(&label, done, total),
                &ctx.cancel.token(),
            )
            .await
        })?;
        copied_view(&copied)
    }
}
