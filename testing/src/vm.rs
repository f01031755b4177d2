//! What the VM tests share: the runtime (built once per run, from the
//! Debian kernel package, busybox-static and a static guest agent built
//! here with cargo), a small HTTP program in busybox shell, and a lock so
//! that one guest boots at a time.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use aether_vm_host::runtime::{self, Runtime, RuntimeInputs};

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

/// The static guest agent, built with cargo for the explicit target so
/// that `+crt-static` reaches it and not the build scripts.
pub fn build_agent() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--locked",
            "-p",
            "aether-guest",
            "--target",
            "x86_64-unknown-linux-gnu",
        ])
        .env("RUSTFLAGS", "-C target-feature=+crt-static")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("cargo runs");
    assert!(status.success(), "the guest agent builds");
    target_dir().join("x86_64-unknown-linux-gnu/release/aether-guest")
}

/// Logs to the test's output when `AETHER_LOG` asks for them.
pub fn logs() {
    if let Ok(filter) = std::env::var("AETHER_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_test_writer()
            .try_init();
    }
}

/// The runtime, built once (kept under the target dir between runs).
pub fn runtime() -> Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            let inputs = RuntimeInputs {
                kernel_deb: std::env::var_os("AETHER_KERNEL_DEB").map(PathBuf::from),
                busybox: PathBuf::from("/bin/busybox"),
                agent: build_agent(),
            };
            runtime::build(&inputs, &target_dir().join("aether-runtime"), &mut |step| {
                eprintln!("runtime: {step}")
            })
            .expect("the runtime builds")
        })
        .clone()
}

/// A program tree: busybox httpd serving `www`, with CGI scripts to echo
/// a body, write and read the volumes, fetch a URL and crash.
pub fn program_dir(root: &Path) -> PathBuf {
    let dir = root.join("program");
    let cgi = dir.join("www/cgi-bin");
    std::fs::create_dir_all(&cgi).unwrap();
    std::fs::write(dir.join("www/index.html"), "hello from the guest\n").unwrap();
    let scripts = [
        ("echo", "printf 'Content-Type: application/octet-stream\\r\\n\\r\\n'\ncat\n"),
        (
            "write",
            "printf 'Content-Type: text/plain\\r\\n\\r\\n'\necho \"$QUERY_STRING\" > /data/note 2>/dev/null; echo \"$QUERY_STRING\" > /scratch/note 2>/dev/null; echo written\n",
        ),
        (
            "read",
            "printf 'Content-Type: text/plain\\r\\n\\r\\n'\necho \"data=$(cat /data/note 2>/dev/null) scratch=$(cat /scratch/note 2>/dev/null)\"\n",
        ),
        (
            "fetch",
            // busybox's wget crashes in Debian's static build; nc does not.
            // Its input stays open (a `sleep` in the background holds it)
            // until the answer has come: busybox's nc in the guest may end
            // the connection when its input ends.
            "printf 'Content-Type: text/plain\\r\\n\\r\\n'\nhost=${QUERY_STRING%:*}; port=${QUERY_STRING#*:}\nbody=$( (printf 'GET / HTTP/1.0\\r\\nHost: %s\\r\\n\\r\\n' \"$host\"; sleep 30 </dev/null 2>/dev/null &) | nc -w 3 \"$host\" \"$port\" 2>/dev/null | sed '1,/^\\r*$/d')\nif [ -n \"$body\" ]; then echo \"$body\"; else echo blocked; fi\n",
        ),
        (
            "proxied",
            "printf 'Content-Type: text/plain\\r\\n\\r\\n'\nproxy=${HTTP_PROXY#http://}\nbody=$( (printf 'GET http://%s/ HTTP/1.0\\r\\n\\r\\n' \"$QUERY_STRING\"; sleep 30 </dev/null 2>/dev/null &) | nc -w 3 \"${proxy%:*}\" \"${proxy#*:}\" 2>/dev/null)\ncase \"$body\" in 'HTTP/1.1 200'*|'HTTP/1.0 200'*) echo \"$body\" | sed '1,/^\\r*$/d';; *) echo \"refused: $(echo \"$body\" | head -n 1)\";; esac\n",
        ),
        ("stop", "printf 'Content-Type: text/plain\\r\\n\\r\\n'\necho stopping\nkillall httpd\n"),
        // Answers after a few seconds: a request in flight during an update.
        ("slow", "sleep 4\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\necho slow done\n"),
        // The kernel panics before the program answers anything.
        ("crash", "echo c > /proc/sysrq-trigger\n"),
        // Claims to be its node's router (which must not pass that on).
        (
            "forged",
            "printf 'Content-Type: text/plain\\r\\nX-Aether-Host-Error: stopping\\r\\n\\r\\n'\necho mine\n",
        ),
    ];
    for (name, body) in scripts {
        let path = cgi.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir
}

/// One VM test at a time: two cores under software emulation boot one
/// guest well and four badly.
pub async fn one_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    LOCK.lock().await
}

/// How the program starts.
pub const ENTRYPOINT: &str = "exec httpd -f -p 127.0.0.1:8080 -h /code/www";

/// The test program's code volume, written under `root`.
pub fn code_volume(root: &Path) -> PathBuf {
    code_volume_saying(root, "hello from the guest\n")
}

/// The test program's code volume, its front page saying `text`.
pub fn code_volume_saying(root: &Path, text: &str) -> PathBuf {
    let dir = program_dir(root);
    std::fs::write(dir.join("www/index.html"), text).expect("write the page");
    let image = root.join("code.ext4");
    aether_vm_host::volumes::code_volume_from_dir(&dir, &image, 64 << 20)
        .expect("the code volume builds");
    image
}

/// How the test program runs: 1 vCPU, 192 MiB (TCG guests stay small).
pub fn program_spec(code: PathBuf) -> aether_vm_host::supervisor::ProgramSpec {
    aether_vm_host::supervisor::ProgramSpec {
        code,
        entrypoint: ENTRYPOINT.into(),
        port: 8080,
        memory_mib: 192,
        vcpus: 1,
        env: Vec::new(),
        scratch_mib: Some(16),
        persistent_mib: None,
        network: None,
        rootfs_mib: None,
    }
}

/// A vm-host's settings for tests: a free port under `dir`, QEMU with
/// software emulation, one instance per program.
pub async fn host_config(dir: &Path) -> aether_vm_host::Config {
    logs();
    let runtime = tokio::task::spawn_blocking(runtime)
        .await
        .expect("the runtime task");
    let mut config = aether_vm_host::Config::new(dir.join("crn"), runtime.dir.clone());
    config.port = 0;
    config.backend = aether_vm_host::BackendChoice::Qemu;
    config.limits.max_instances = 1;
    config.limits.request_timeout = std::time::Duration::from_secs(30);
    config.egress_deny = None;
    config
}

/// A vm-host started with [`host_config`].
pub async fn host(dir: &Path) -> aether_vm_host::Host {
    aether_vm_host::Host::start(host_config(dir).await)
        .await
        .expect("the host starts")
}

/// Uploads the volume at `path` to the core node at `node` and posts a
/// STORE of it signed by `owner`. Returns the STORE.
pub async fn store_volume(
    node: &aether_sdk::node_client::NodeClient,
    owner: &aether_sdk::message::sign::SolanaAccount,
    path: &Path,
) -> aether_sdk::message::SignedMessage {
    use aether_sdk::message::{MessageBuilder, StoreBuilder};
    let file = node
        .upload_file(
            path,
            aether_sdk::node_client::StorageEngine::Storage,
            |_, _| {},
        )
        .await
        .expect("the volume uploads");
    let store = MessageBuilder::new(owner)
        .build(StoreBuilder::new(file).expect("a STORE"))
        .expect("signed");
    node.post_message(&store, true).await.expect("STORE posted");
    store
}

/// Stores the test program's code volume on the core node at `node` and
/// posts a PROGRAM running it, both signed by `owner`. Returns the STORE
/// and PROGRAM item hashes.
pub async fn post_program(
    node: &aether_sdk::node_client::NodeClient,
    owner: &aether_sdk::message::sign::SolanaAccount,
    root: &Path,
    memory_mib: u64,
) -> (String, String) {
    use aether_sdk::message::{Interface, MessageBuilder, ProgramBuilder};
    let store = store_volume(node, owner, &code_volume(root)).await;
    let program = MessageBuilder::new(owner)
        .build(
            ProgramBuilder::new(
                store.message.item_hash.clone(),
                ENTRYPOINT,
                store.message.item_hash.clone(),
            )
            .memory_mib(memory_mib)
            .with(|c| c.code.interface = Some(Interface::Binary)),
        )
        .expect("signed");
    node.post_message(&program, true)
        .await
        .expect("PROGRAM posted");
    (store.message.item_hash, program.message.item_hash)
}
