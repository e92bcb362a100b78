//! Where `make install` puts mbctl's files, and where `mbctl boot` looks
//! for the guest image.

use std::path::{Path, PathBuf};

/// The guest image under an install prefix (`make install PREFIX=...`).
pub const IMAGE_IN_PREFIX: &str = "share/mb/mb.elf";

/// Where `mbctl boot` looks for the guest image when neither `--image`
/// nor `$MB_IMAGE` names one, first found wins: `images/mb.elf` in the
/// current directory; the checkout `exe` was built in
/// (`<checkout>/target/<profile>/mbctl`); the prefix `exe` is installed in
/// (`<prefix>/bin/mbctl` → `<prefix>/share/mb/mb.elf`); then
/// `/usr/local/share/mb/mb.elf` and `/usr/share/mb/mb.elf`.
pub fn image_candidates(exe: Option<&Path>) -> Vec<PathBuf> {
    let mut c = vec![PathBuf::from("images/mb.elf")];
    let up = |p: &Path, n: usize| {
        (0..n).try_fold(p.to_path_buf(), |p, _| p.parent().map(Path::to_path_buf))
    };
    if let Some(exe) = exe {
        if let Some(checkout) = up(exe, 3) {
            c.push(checkout.join("images/mb.elf"));
        }
        if let Some(prefix) = up(exe, 2) {
            c.push(prefix.join(IMAGE_IN_PREFIX));
        }
    }
    for prefix in ["/usr/local", "/usr"] {
        c.push(Path::new(prefix).join(IMAGE_IN_PREFIX));
    }
    c
}

/// The guest image `mbctl boot` uses by default: `$MB_IMAGE`, else the
/// first of [`image_candidates`] for this executable that exists.
pub fn default_image() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("MB_IMAGE") {
        return Some(PathBuf::from(p));
    }
    let exe = std::env::current_exe().ok();
    image_candidates(exe.as_deref())
        .into_iter()
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_installed_mbctl_finds_its_image() {
        let c = image_candidates(Some(Path::new("/opt/mb/bin/mbctl")));
        let at = |p: &str| c.iter().position(|x| x == Path::new(p));
        let installed = at("/opt/mb/share/mb/mb.elf").expect("prefix image searched");
        assert!(at("images/mb.elf").unwrap() < installed);
        assert!(installed < at("/usr/local/share/mb/mb.elf").unwrap());
        assert!(at("/usr/share/mb/mb.elf").is_some());
        let c = image_candidates(Some(Path::new("/src/mb/target/release/mbctl")));
        assert!(c.contains(&PathBuf::from("/src/mb/images/mb.elf")), "{c:?}");

        // And it is found there, on disk.
        let root = std::env::temp_dir().join(format!("mbctl-install-{}", std::process::id()));
        let img = root.join(IMAGE_IN_PREFIX);
        std::fs::create_dir_all(img.parent().unwrap()).unwrap();
        std::fs::write(&img, b"ELF").unwrap();
        let found = image_candidates(Some(&root.join("bin/mbctl")))
            .into_iter()
            .find(|p| p.is_file() && p.starts_with(&root));
        std::fs::remove_dir_all(&root).unwrap();
        assert_eq!(found, Some(img));
    }
}
