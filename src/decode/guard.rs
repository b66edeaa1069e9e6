//! A panic inside a codec or demuxer becomes a decode error for that file.
//!
//! symphonia is written to return errors on bad data, but a hostile file can still trip an
//! arithmetic overflow or an index in one of its readers (found: a WAV claiming 65 535 channels
//! overflows its block-align check). Such a panic is about the file, not a bug of ours: every
//! call into symphonia from [`super::AudioSource`] runs through [`contained`], which turns it into
//! the usual one-line error naming the file. The process's panic hook asks [`is_contained`] and
//! stays quiet for these, so the user reads one line, not two. This runs on decoding threads only;
//! the audio callback never decodes.

use std::cell::Cell;
use std::path::Path;

use super::DecodeError;

thread_local! {
    static DEPTH: Cell<u32> = const { Cell::new(0) };
    /// Where the last contained panic happened (crate file and line), from the panic hook.
    static WHERE: Cell<Option<(String, u32)>> = const { Cell::new(None) };
}

/// For the panic hook: remember where a contained panic happened, so the error can say which
/// decoder failed (`symphonia-bundle-mp3-0.6.1/src/layer3/mod.rs:123`).
pub fn note_location(loc: &std::panic::Location<'_>) {
    WHERE.with(|w| w.set(Some((loc.file().to_string(), loc.line()))));
}

/// Whether the current thread is inside [`contained`] (for the panic hook).
#[must_use]
pub fn is_contained() -> bool {
    DEPTH.with(Cell::get) > 0
}

/// Run `f`; a panic in it becomes `DecodeError::Decode` for `path`.
pub fn contained<T>(
    path: &Path,
    f: impl FnOnce() -> Result<T, DecodeError>,
) -> Result<T, DecodeError> {
    contained_in(&mut (), |()| path.to_path_buf(), |()| f())
}

/// `contained` for a method of `owner`: the path is taken from `owner` only if a panic happened
/// (a source's every `read` would otherwise copy its path just in case).
pub fn contained_in<S, T>(
    owner: &mut S,
    path_of: impl FnOnce(&S) -> std::path::PathBuf,
    f: impl FnOnce(&mut S) -> Result<T, DecodeError>,
) -> Result<T, DecodeError> {
    DEPTH.with(|d| d.set(d.get() + 1));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut *owner)));
    DEPTH.with(|d| d.set(d.get() - 1));
    let path = || path_of(owner);
    r.unwrap_or_else(|p| {
        let mut what = p
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".into());
        if let Some((file, line)) = WHERE.with(Cell::take) {
            // The registry path up to the crate's folder says nothing; from the crate on it does.
            let short = file
                .rsplit_once("/registry/src/")
                .map_or(file.as_str(), |(_, f)| {
                    f.split_once('/').map_or(f, |(_, rest)| rest)
                });
            what = format!("{what} at {short}:{line}");
        }
        Err(DecodeError::Decode {
            path: path(),
            reason: format!("malformed data the decoder could not handle ({what})"),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_error_naming_the_file_and_the_flag_is_scoped() {
        assert!(!is_contained());
        let r: Result<(), _> = contained(Path::new("x.wav"), || {
            assert!(is_contained());
            panic!("attempt to multiply with overflow")
        });
        let e = r.unwrap_err().to_string();
        assert!(e.starts_with("x.wav: decode failed: malformed data"), "{e}");
        assert!(e.contains("multiply with overflow"), "{e}");
        assert!(!is_contained());
        assert_eq!(contained(Path::new("y"), || Ok(3)).unwrap(), 3);
    }
}
