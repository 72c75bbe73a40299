//! The ducat under test: `ducat serve` as a child process on a free loopback port, in its own
//! directory, and the one-shot `ducat` commands (business create, ledger check) run against
//! the same database with the same master key.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

/// How long `serve` may take to migrate and bind before the run gives up on it.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long `serve` may take to drain after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// Where and how every ducat process of one engine run is started.
#[derive(Clone)]
pub struct Ducat {
    pub binary: PathBuf,
    pub dir: PathBuf,
    pub database_url: String,
    master_key_hex: String,
}

impl Ducat {
    pub fn new(binary: &Path, dir: &Path, database_url: &str) -> Result<Ducat, String> {
        Ok(Ducat {
            binary: binary.to_path_buf(),
            dir: dir.to_path_buf(),
            database_url: database_url.to_owned(),
            master_key_hex: random_master_key()?,
        })
    }

    fn command(&self) -> Command {
        let mut command = Command::new(&self.binary);
        command
            .current_dir(&self.dir)
            .env("DATABASE_URL", &self.database_url)
            .env("DUCAT_MASTER_KEY", &self.master_key_hex)
            .env("DUCAT_LISTEN", "127.0.0.1:0")
            .env("DUCAT_RUN_WORKERS", "true")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        command
    }

    /// Runs `ducat ARGS…` to completion: (exit code, stdout, stderr).
    pub async fn cli(&self, args: &[&str]) -> Result<(i32, String, String), String> {
        let output = self
            .command()
            .args(args)
            .output()
            .await
            .map_err(|e| format!("cannot run {}: {e}", self.binary.display()))?;
        Ok((
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        ))
    }

    /// The last `count` warning and error lines `serve` logged (its log stays in the run's
    /// directory only until the run ends).
    pub fn log_tail(&self, count: usize) -> Vec<String> {
        let mut lines: Vec<String> = ["serve.stdout.log", "serve.stderr.log"]
            .iter()
            .filter_map(|name| std::fs::read_to_string(self.dir.join(name)).ok())
            .flat_map(|text| {
                text.lines()
                    .filter(|l| l.contains("WARN") || l.contains("ERROR"))
                    .map(|l| l.chars().take(600).collect::<String>())
                    .collect::<Vec<_>>()
            })
            .collect();
        lines.drain(..lines.len().saturating_sub(count));
        lines
    }

    /// Starts `ducat serve` and waits until it prints the address it listens on.
    pub async fn serve(&self) -> Result<Server, String> {
        let stdout_path = self.dir.join("serve.stdout.log");
        let stderr_path = self.dir.join("serve.stderr.log");
        let open = |path: &Path| {
            std::fs::File::create(path)
                .map_err(|e| format!("cannot create {}: {e}", path.display()))
        };
        // Files, not pipes: a pipe nobody reads fills up and stalls the server mid-run.
        let mut child = self
            .command()
            .arg("serve")
            .stdout(open(&stdout_path)?)
            .stderr(open(&stderr_path)?)
            .spawn()
            .map_err(|e| format!("cannot start {} serve: {e}", self.binary.display()))?;
        let pid = child.id().ok_or("ducat serve exited at once")?;
        let started = Instant::now();
        loop {
            let printed = std::fs::read_to_string(&stdout_path).unwrap_or_default();
            if let Some(base_url) = printed
                .lines()
                .find_map(|line| line.strip_prefix("ducat is serving on "))
            {
                return Ok(Server {
                    child,
                    pid,
                    base_url: base_url.trim().to_owned(),
                });
            }
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!(
                    "ducat serve exited ({status}) before serving: {}",
                    tail(&std::fs::read_to_string(&stderr_path).unwrap_or_default())
                ));
            }
            if started.elapsed() > START_TIMEOUT {
                return Err(format!(
                    "ducat serve did not start within {START_TIMEOUT:?}"
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

pub struct Server {
    child: Child,
    pub pid: u32,
    pub base_url: String,
}

impl Server {
    /// Asks the server to stop as an operator would (SIGTERM: in-flight requests finish, the
    /// workers stop at a safe point), and kills it if it does not within the timeout.
    pub async fn stop(mut self) {
        let asked = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .await
            .is_ok_and(|s| s.success());
        if asked
            && tokio::time::timeout(STOP_TIMEOUT, self.child.wait())
                .await
                .is_ok()
        {
            return;
        }
        let _ = self.child.kill().await;
    }
}

/// A fresh 256-bit master key from the kernel's CSPRNG, as 64 hex digits.
fn random_master_key() -> Result<String, String> {
    use std::io::Read;
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| format!("cannot read /dev/urandom: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The last lines of a log, for an error message.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(10)..].join("\n")
}
