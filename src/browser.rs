//! Headless Chromium, when it is installed: a screenshot of a report (`scready demo`) and the DOM
//! of a page after its script ran. Chromium is started with a throwaway profile and with its
//! background networking off, so that it fetches nothing by itself.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Environment variable naming the Chromium binary to use.
pub const CHROMIUM_ENV: &str = "SCREADY_CHROMIUM";

const NAMES: &[&str] = &[
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
];

/// A page as Chromium left it.
#[derive(Clone, Debug, Default)]
pub struct LoadedPage {
    /// The serialised DOM.
    pub dom: String,
    /// Console messages (one per line of Chromium's log).
    pub console: Vec<String>,
}

/// A Chromium binary.
#[derive(Clone, Debug)]
pub struct Chromium {
    path: PathBuf,
    timeout: Duration,
}

/// `file://` URL of a path (made absolute).
pub fn file_url(path: &Path) -> Result<String, String> {
    let abs = std::path::absolute(path).map_err(|e| format!("{}: {e}", path.display()))?;
    url::Url::from_file_path(&abs)
        .map(|u| u.to_string())
        .map_err(|_| format!("{}: not a file path", abs.display()))
}

impl Chromium {
    /// The binary named by `SCREADY_CHROMIUM`, else the first Chromium or Chrome on `PATH`.
    pub fn find() -> Option<Chromium> {
        let path = match std::env::var_os(CHROMIUM_ENV) {
            Some(p) if !p.is_empty() => Some(PathBuf::from(p)).filter(|p| p.is_file()),
            _ => {
                let dirs: Vec<PathBuf> = std::env::var_os("PATH")
                    .map(|p| std::env::split_paths(&p).collect())
                    .unwrap_or_default();
                NAMES
                    .iter()
                    .flat_map(|n| dirs.iter().map(move |d| d.join(n)))
                    .chain(std::iter::once(PathBuf::from("/usr/bin/chromium")))
                    .find(|p| p.is_file())
            }
        }?;
        Some(Chromium {
            path,
            timeout: Duration::from_secs(90),
        })
    }

    /// The binary.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs Chromium headless on `url` with `args`; returns its stdout and stderr.
    fn run(&self, url: &str, args: &[String]) -> Result<(String, String), String> {
        let profile = tempfile::Builder::new()
            .prefix("scready-chromium-")
            .tempdir()
            .map_err(|e| format!("cannot create a browser profile: {e}"))?;
        let stdout_path = profile.path().join("stdout");
        let stdout = std::fs::File::create(&stdout_path).map_err(|e| e.to_string())?;
        let stderr_path = profile.path().join("stderr");
        let stderr = std::fs::File::create(&stderr_path).map_err(|e| e.to_string())?;
        let mut child = Command::new(&self.path)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--disable-default-apps",
                "--disable-domain-reliability",
                "--disable-breakpad",
                "--no-first-run",
                "--no-default-browser-check",
                "--no-pings",
                "--hide-scrollbars",
                "--mute-audio",
                // The page is a local file: no host name resolves and every connection goes to
                // a dead loopback proxy, so the browser itself cannot reach any network either.
                "--host-resolver-rules=MAP * ~NOTFOUND",
                "--proxy-server=127.0.0.1:9",
                "--proxy-bypass-list=<-loopback>",
                "--disable-features=OptimizationHints,MediaRouter,Translate,AutofillServerCommunication,CertificateTransparencyComponentUpdater",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(args)
            .arg(url)
            .env("HOME", profile.path())
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("{}: {e}", self.path.display()))?;
        let started = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if started.elapsed() > self.timeout => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!(
                        "{} did not finish within {} s",
                        self.path.display(),
                        self.timeout.as_secs()
                    ));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(50)),
                Err(e) => return Err(e.to_string()),
            }
        };
        if !status.success() {
            return Err(format!("{} exited with {status}", self.path.display()));
        }
        let read = |p: &Path| std::fs::read(p).map(|b| String::from_utf8_lossy(&b).into_owned());
        Ok((
            read(&stdout_path).map_err(|e| e.to_string())?,
            read(&stderr_path).unwrap_or_default(),
        ))
    }

    /// Loads a page: its DOM after its script ran, as Chromium serialises it, and what the page
    /// logged to the console (script errors and blocked loads included).
    pub fn load(&self, url: &str) -> Result<LoadedPage, String> {
        self.load_sized(url, None)
    }

    /// [`Chromium::load`] in a window of `width` × `height` pixels (Chromium's default size when
    /// `None`): what a page draws can depend on how much of it is on screen.
    pub fn load_sized(&self, url: &str, size: Option<(u32, u32)>) -> Result<LoadedPage, String> {
        let mut args = vec![
            "--dump-dom".to_string(),
            "--enable-logging=stderr".to_string(),
            "--v=0".to_string(),
        ];
        if let Some((width, height)) = size {
            args.push(format!("--window-size={width},{height}"));
        }
        let (dom, log) = self.run(url, &args)?;
        let console = log
            .lines()
            .filter(|l| l.contains(":CONSOLE"))
            .map(str::to_string)
            .collect();
        Ok(LoadedPage { dom, console })
    }

    /// A PNG screenshot of a page of `width` × `height` pixels, written atomically to `png`.
    pub fn screenshot(
        &self,
        page: &Path,
        png: &Path,
        width: u32,
        height: u32,
    ) -> Result<(), String> {
        let dir = png
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let tmp = tempfile::Builder::new()
            .prefix(".scready-")
            .suffix(".png")
            .tempfile_in(dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?;
        let tmp_path = std::path::absolute(tmp.path()).map_err(|e| e.to_string())?;
        self.run(
            &file_url(page)?,
            &[
                format!("--screenshot={}", tmp_path.display()),
                format!("--window-size={width},{height}"),
            ],
        )?;
        let size = std::fs::metadata(&tmp_path).map(|m| m.len()).unwrap_or(0);
        if size == 0 {
            return Err(format!("{} wrote no screenshot", self.path.display()));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&tmp_path, std::fs::Permissions::from_mode(0o644))
                .map_err(|e| e.to_string())?;
        }
        tmp.persist(png)
            .map_err(|e| format!("{}: {}", png.display(), e.error))?;
        Ok(())
    }
}

/// Width and height of a PNG file (from its IHDR chunk).
pub fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    if bytes.len() < 24 || &bytes[..8] != b"\x89PNG\r\n\x1a\n" || &bytes[12..16] != b"IHDR" {
        return None;
    }
    let w = u32::from_be_bytes(bytes[16..20].try_into().ok()?);
    let h = u32::from_be_bytes(bytes[20..24].try_into().ok()?);
    Some((w, h))
}
