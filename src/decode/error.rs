//! Errors of the decode layer. Every variant names the file, because the user reads these lines
//! directly (CLI stderr, UI notifications) and must know which entry of a playlist failed and why.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("{path}: cannot open: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: empty file")]
    Empty { path: PathBuf },
    #[error("{path}: not a recognised audio file ({reason})")]
    UnknownFormat { path: PathBuf, reason: String },
    #[error("{path}: no audio track")]
    NoAudioTrack { path: PathBuf },
    #[error("{path}: no audio in the file (its sound data is empty)")]
    NoAudio { path: PathBuf },
    #[error("{path}: unsupported codec: {codec}")]
    UnsupportedCodec { path: PathBuf, codec: String },
    #[error("{path}: {reason}")]
    BadHeader { path: PathBuf, reason: String },
    #[error("{path}: decode failed: {reason}")]
    Decode { path: PathBuf, reason: String },
    #[error("{path}: seek failed: {reason}")]
    Seek { path: PathBuf, reason: String },
}

impl DecodeError {
    /// The file this error is about.
    #[must_use]
    pub fn path(&self) -> &std::path::Path {
        match self {
            Self::Open { path, .. }
            | Self::Empty { path }
            | Self::UnknownFormat { path, .. }
            | Self::NoAudioTrack { path }
            | Self::NoAudio { path }
            | Self::UnsupportedCodec { path, .. }
            | Self::BadHeader { path, .. }
            | Self::Decode { path, .. }
            | Self::Seek { path, .. } => path,
        }
    }
}
