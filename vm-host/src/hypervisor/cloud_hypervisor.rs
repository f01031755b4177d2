//! cloud-hypervisor, started per VM with only its API socket
//! (`--api-socket path=…`), then driven through its REST API:
//! `PUT /api/v1/vm.create` with the config, `vm.boot`, `vm.shutdown`,
//! `vm.delete`, `vmm.shutdown`, `GET vm.info` and `vmm.ping`. The agent
//! talks over hybrid vsock: the guest connects to the host (CID 2) on
//! [`AGENT_VSOCK_PORT`], which cloud-hypervisor turns into a connection to
//! the Unix socket `<vsock socket>_<port>` that we listen on.
//!
//! cloud-hypervisor has no user-mode network, only TAP devices, which need
//! privileges this backend does not take: a VM with a network spec is
//! refused here. It is packaged neither in Debian nor in the Rust
//! registry; this backend runs where the binary is installed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::{UnixListener, UnixStream};

use super::{
    console_tail, spawn_logged, wait_for_path, Control, Hypervisor, RunningVm, VmError, VmSpec,
};

/// The vsock port the agent connects to on the host.
pub const AGENT_VSOCK_PORT: u32 = 1024;
/// The guest's vsock context id.
const GUEST_CID: u32 = 3;

/// The cloud-hypervisor backend.
#[derive(Clone, Debug)]
pub struct CloudHypervisor {
    /// The `cloud-hypervisor` binary.
    pub binary: PathBuf,
}

impl CloudHypervisor {
    /// cloud-hypervisor from `PATH`, if it is there and `/dev/kvm` is usable.
    pub fn detect() -> Result<CloudHypervisor, String> {
        let binary = super::which("cloud-hypervisor")
            .ok_or("cloud-hypervisor is not installed (it is not packaged in Debian)")?;
        if let crate::kvm::Kvm::Unusable(why) = crate::kvm::detect() {
            return Err(format!("cloud-hypervisor needs KVM: {why}"));
        }
        Ok(CloudHypervisor { binary })
    }

    /// The `vm.create` body for `spec`.
    pub fn vm_config(spec: &VmSpec) -> Value {
        json!({
            "cpus": { "boot_vcpus": spec.vcpus, "max_vcpus": spec.vcpus },
            "memory": { "size": u64::from(spec.memory_mib) * 1024 * 1024 },
            "payload": {
                "kernel": spec.kernel,
                "initramfs": spec.initrd,
                "cmdline": format!("console=ttyS0 panic=-1 quiet aether.vsock={AGENT_VSOCK_PORT}"),
            },
            "disks": spec.disks.iter().map(|d| json!({
                "path": d.path,
                "readonly": d.read_only,
                "serial": d.serial,
            })).collect::<Vec<_>>(),
            "serial": { "mode": "File", "file": spec.console_log() },
            "console": { "mode": "Off" },
            "vsock": { "cid": GUEST_CID, "socket": spec.dir.join("vsock.sock") },
        })
    }
}

impl Hypervisor for CloudHypervisor {
    fn name(&self) -> &'static str {
        "cloud-hypervisor"
    }

    fn acceleration(&self) -> String {
        "kvm".into()
    }

    async fn boot(&self, spec: &VmSpec) -> Result<RunningVm, VmError> {
        if spec.network.is_some() {
            return Err(VmError::Start {
                what: "cloud-hypervisor".into(),
                message: "user-mode networking is not available in cloud-hypervisor; use the qemu backend"
                    .into(),
            });
        }
        std::fs::create_dir_all(&spec.dir).map_err(|e| VmError::Io(spec.dir.clone(), e))?;
        let api = spec.dir.join("api.sock");
        let agent_path = spec.dir.join(format!("vsock.sock_{AGENT_VSOCK_PORT}"));
        for stale in [&api, &agent_path] {
            let _ = std::fs::remove_file(stale);
        }
        let agent_listener =
            UnixListener::bind(&agent_path).map_err(|e| VmError::Io(agent_path.clone(), e))?;
        let log_path = spec.dir.join("cloud-hypervisor.log");
        let mut process = spawn_logged(
            &self.binary,
            &["--api-socket".into(), format!("path={}", api.display())],
            &log_path,
        )?;
        wait_for_path(&api, Duration::from_secs(10), &mut process, &log_path).await?;
        request(&api, "GET", "vmm.ping", None).await?;
        request(&api, "PUT", "vm.create", Some(Self::vm_config(spec))).await?;
        request(&api, "PUT", "vm.boot", None).await?;
        let agent =
            match tokio::time::timeout(Duration::from_secs(60), agent_listener.accept()).await {
                Ok(Ok((stream, _))) => stream,
                Ok(Err(e)) => return Err(VmError::Io(agent_path, e)),
                Err(_) => {
                    let _ = process.kill().await;
                    return Err(VmError::Timeout(format!(
                        "waiting for the agent over vsock: {}",
                        console_tail(&spec.console_log(), 20)
                    )));
                }
            };
        Ok(RunningVm {
            agent: Some(agent),
            process,
            control: Control::Api(api),
            console_log: spec.console_log(),
        })
    }
}

/// One REST call on the API socket; returns the JSON answer (or Null).
pub async fn request(
    socket: &Path,
    method: &str,
    endpoint: &str,
    body: Option<Value>,
) -> Result<Value, VmError> {
    let control = |e: String| VmError::Control(format!("cloud-hypervisor {endpoint}: {e}"));
    let stream = UnixStream::connect(socket)
        .await
        .map_err(|e| control(e.to_string()))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| control(e.to_string()))?;
    tokio::spawn(connection);
    let bytes = body.map(|b| b.to_string()).unwrap_or_default();
    let mut builder = hyper::Request::builder()
        .method(method)
        // Origin form: the request line carries the path alone.
        .uri(format!("/api/v1/{endpoint}"))
        .header("host", "localhost");
    if !bytes.is_empty() {
        builder = builder.header("content-type", "application/json");
    }
    let request = builder
        .body(Full::new(Bytes::from(bytes)))
        .map_err(|e| control(e.to_string()))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| control(e.to_string()))?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| control(e.to_string()))?
        .to_bytes();
    if !status.is_success() {
        return Err(control(format!(
            "{status}: {}",
            String::from_utf8_lossy(&body)
        )));
    }
    Ok(serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// `vm.info`'s state: "Created", "Running", "Shutdown"…
pub async fn status(socket: &Path) -> Result<String, VmError> {
    let info = request(socket, "GET", "vm.info", None).await?;
    Ok(info["state"].as_str().unwrap_or("unknown").to_string())
}

/// `vm.shutdown`, `vm.delete`, then `vmm.shutdown`: the process exits.
pub async fn shutdown_vmm(socket: &Path) -> Result<(), VmError> {
    let _ = request(socket, "PUT", "vm.shutdown", None).await;
    let _ = request(socket, "PUT", "vm.delete", None).await;
    request(socket, "PUT", "vmm.shutdown", None)
        .await
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    //! cloud-hypervisor is not installed here, so its API is checked against
    //! its published OpenAPI description
    //! (`vmm/src/api/openapi/cloud-hypervisor.yaml`): the schema rules below
    //! are transcribed from it, and a stand-in server on a Unix socket
    //! records what this backend sends.

    use super::*;
    use crate::hypervisor::Disk;
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

    fn spec(dir: &Path) -> VmSpec {
        VmSpec {
            name: "t".into(),
            dir: dir.to_path_buf(),
            kernel: "/k/vmlinuz".into(),
            initrd: "/k/initrd.gz".into(),
            memory_mib: 256,
            vcpus: 2,
            disks: vec![Disk {
                path: "/v/code.ext4".into(),
                serial: "code".into(),
                read_only: true,
            }],
            network: None,
        }
    }

    /// VmConfig's properties, and the rules of the parts we send.
    #[test]
    fn vm_create_matches_the_openapi_vm_config() {
        let dir = tempfile::tempdir().unwrap();
        let config = CloudHypervisor::vm_config(&spec(dir.path()));
        const VM_CONFIG: &[&str] = &[
            "cpus",
            "memory",
            "payload",
            "rate_limit_groups",
            "disks",
            "net",
            "rng",
            "balloon",
            "fs",
            "pmem",
            "serial",
            "console",
            "debug_console",
            "devices",
            "vdpa",
            "vsock",
            "numa",
            "iommu",
            "sgx_epc",
            "watchdog",
            "pvpanic",
            "pci_segments",
            "platform",
            "tpm",
            "landlock_enable",
            "landlock_rules",
        ];
        for key in config.as_object().unwrap().keys() {
            assert!(
                VM_CONFIG.contains(&key.as_str()),
                "{key} is not a VmConfig property"
            );
        }
        // payload: PayloadConfig, kernel/initramfs/cmdline strings.
        for field in ["kernel", "initramfs", "cmdline"] {
            assert!(config["payload"][field].is_string(), "payload.{field}");
        }
        // cpus: CpusConfig requires boot_vcpus and max_vcpus (integers, boot <= max).
        let cpus = &config["cpus"];
        assert!(cpus["boot_vcpus"].as_u64().unwrap() >= 1);
        assert!(cpus["max_vcpus"].as_u64() >= cpus["boot_vcpus"].as_u64());
        // memory: MemoryConfig requires size (int64, bytes).
        assert_eq!(config["memory"]["size"].as_u64(), Some(256 << 20));
        // disks: DiskConfig, path string, readonly boolean, serial string.
        let disk = &config["disks"][0];
        assert!(
            disk["path"].is_string() && disk["readonly"].is_boolean() && disk["serial"].is_string()
        );
        // serial/console: ConsoleConfig requires mode in its enum; File needs file.
        let modes = ["Off", "Pty", "Tty", "File", "Socket", "Null"];
        for device in ["serial", "console"] {
            let mode = config[device]["mode"].as_str().unwrap();
            assert!(modes.contains(&mode), "{device}.mode {mode}");
        }
        assert!(config["serial"]["file"].is_string());
        // vsock: VsockConfig requires cid (>= 3) and socket.
        assert!(config["vsock"]["cid"].as_u64().unwrap() >= 3);
        assert!(config["vsock"]["socket"].is_string());
        // The agent's channel: the guest is told the vsock port.
        assert!(config["payload"]["cmdline"]
            .as_str()
            .unwrap()
            .contains(&format!("aether.vsock={AGENT_VSOCK_PORT}")));
    }

    /// Answers each request with `answer` and records (method, path, body).
    async fn stand_in(
        socket: PathBuf,
        answers: Vec<(&'static str, &'static str)>,
    ) -> tokio::task::JoinHandle<Vec<(String, String, String)>> {
        let listener = UnixListener::bind(&socket).unwrap();
        tokio::spawn(async move {
            let mut seen = Vec::new();
            for (status, body) in answers {
                let (stream, _) = listener.accept().await.unwrap();
                let mut reader = BufReader::new(stream);
                let mut line = String::new();
                reader.read_line(&mut line).await.unwrap();
                let mut parts = line.split_whitespace();
                let (method, path) = (
                    parts.next().unwrap().to_string(),
                    parts.next().unwrap().to_string(),
                );
                let mut length = 0usize;
                loop {
                    let mut header = String::new();
                    reader.read_line(&mut header).await.unwrap();
                    if header.trim().is_empty() {
                        break;
                    }
                    if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap();
                    }
                }
                let mut sent = vec![0u8; length];
                reader.read_exact(&mut sent).await.unwrap();
                seen.push((method, path, String::from_utf8(sent).unwrap()));
                let answer = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                reader.get_mut().write_all(answer.as_bytes()).await.unwrap();
            }
            seen
        })
    }

    #[tokio::test]
    async fn the_rest_calls_follow_the_published_endpoints() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("api.sock");
        let server = stand_in(
            socket.clone(),
            vec![
                (
                    "200 OK",
                    r#"{"build_version":"v50","version":"50.0","pid":1,"features":[]}"#,
                ),
                ("204 No Content", ""),
                ("204 No Content", ""),
                ("200 OK", r#"{"config":{},"state":"Running"}"#),
                ("204 No Content", ""),
                ("204 No Content", ""),
                ("200 OK", ""),
                ("500 Internal Server Error", r#"["VM is not created"]"#),
            ],
        )
        .await;
        let config = CloudHypervisor::vm_config(&spec(dir.path()));
        request(&socket, "GET", "vmm.ping", None).await.unwrap();
        request(&socket, "PUT", "vm.create", Some(config.clone()))
            .await
            .unwrap();
        request(&socket, "PUT", "vm.boot", None).await.unwrap();
        assert_eq!(status(&socket).await.unwrap(), "Running");
        shutdown_vmm(&socket).await.unwrap();
        // An error answer is an error naming the endpoint and what it said.
        let err = request(&socket, "PUT", "vm.boot", None).await.unwrap_err();
        assert!(
            err.to_string().contains("vm.boot") && err.to_string().contains("not created"),
            "{err}"
        );

        let seen = server.await.unwrap();
        let calls: Vec<(&str, &str)> = seen
            .iter()
            .map(|(m, p, _)| (m.as_str(), p.as_str()))
            .collect();
        assert_eq!(
            calls,
            [
                ("GET", "/api/v1/vmm.ping"),
                ("PUT", "/api/v1/vm.create"),
                ("PUT", "/api/v1/vm.boot"),
                ("GET", "/api/v1/vm.info"),
                ("PUT", "/api/v1/vm.shutdown"),
                ("PUT", "/api/v1/vm.delete"),
                ("PUT", "/api/v1/vmm.shutdown"),
                ("PUT", "/api/v1/vm.boot"),
            ]
        );
        // Only vm.create has a body (a body on the others is refused with 400).
        for (method, path, body) in &seen {
            if path.ends_with("vm.create") {
                assert_eq!(serde_json::from_str::<Value>(body).unwrap(), config);
            } else {
                assert!(body.is_empty(), "{method} {path} sent a body");
            }
        }
    }

    #[tokio::test]
    async fn a_network_is_refused_before_anything_starts() {
        let dir = tempfile::tempdir().unwrap();
        let mut with_network = spec(dir.path());
        with_network.network = Some(Default::default());
        let ch = CloudHypervisor {
            binary: "/nonexistent/cloud-hypervisor".into(),
        };
        let err = ch.boot(&with_network).await.err().unwrap();
        assert!(err.to_string().contains("user-mode networking"), "{err}");
    }
}
